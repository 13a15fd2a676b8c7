#include "server/internal/address_limits.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <functional>

namespace backline::server::internal {
namespace {

constexpr int64_t kDayMs = 86400000;
// How far from the old end of a full shard's recency list eviction looks for an address with
// no open connection. Addresses with connections are at most max_connections, so a full shard
// rarely has many of them at its old end; when it has, the shard grows a little instead.
constexpr int kEvictionScan = 64;

}  // namespace

AddressLimits::AddressLimits(Settings settings)
    : settings_(settings),
      shard_capacity_(
          std::max<size_t>(1, settings.capacity / std::tuple_size_v<decltype(shards_)>)) {}

std::string AddressLimits::Key(const std::string& address) {
  if (address.find(':') == std::string::npos) return address;
  unsigned char bytes[16];
  if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) return address;
  // An IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 address.
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes, kMapped, sizeof kMapped) == 0) {
    char v4[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, bytes + 12, v4, sizeof v4)) return v4;
    return address;
  }
  std::memset(bytes + 8, 0, 8);
  char v6[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, bytes, v6, sizeof v6)) return address;
  return std::string(v6) + "/64";
}

AddressLimits::Shard& AddressLimits::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>()(key) % shards_.size()];
}

AddressLimits::Entry& AddressLimits::Touch(Shard& shard, const std::string& key, int64_t now_ms) {
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
    NewDay(it->second, now_ms);
    return it->second;
  }
  if (shard.entries.size() >= shard_capacity_) {
    auto victim = shard.lru.end();
    for (int i = 0; i < kEvictionScan && victim != shard.lru.begin(); ++i) {
      --victim;
      if (shard.entries.at(*victim).connections == 0) {
        shard.entries.erase(*victim);
        shard.lru.erase(victim);
        break;
      }
    }
  }
  shard.lru.push_front(key);
  Entry& e = shard.entries[key];
  e.lru = shard.lru.begin();
  e.tokens = settings_.messages_per_minute;
  e.refill_ms = now_ms;
  NewDay(e, now_ms);
  return e;
}

void AddressLimits::NewDay(Entry& e, int64_t now_ms) const {
  const int64_t day = now_ms / kDayMs;
  if (e.day == day) return;
  e.day = day;
  e.turns = 0;
  e.bytes = 0;
  e.unanswered = 0;
  e.feedback = 0;
}

bool AddressLimits::Connect(const std::string& address, int64_t now_ms) {
  const std::string key = Key(address);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& e = Touch(shard, key, now_ms);
  if (e.connections >= settings_.connections) return false;
  ++e.connections;
  return true;
}

void AddressLimits::Disconnect(const std::string& address) {
  const std::string key = Key(address);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end() && it->second.connections > 0) --it->second.connections;
}

AddressLimits::Verdict AddressLimits::ChargeMessage(const std::string& address, size_t bytes,
                                                    int64_t now_ms) {
  const std::string key = Key(address);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& e = Touch(shard, key, now_ms);
  if (e.turns >= settings_.turns_per_day ||
      e.bytes + static_cast<int64_t>(bytes) > settings_.bytes_per_day) {
    return Verdict::kDailyLimit;
  }
  // A token bucket: messages_per_minute tokens, refilled evenly over the minute.
  const double per_ms = settings_.messages_per_minute / 60000.0;
  e.tokens = std::min<double>(settings_.messages_per_minute,
                              e.tokens + static_cast<double>(now_ms - e.refill_ms) * per_ms);
  e.refill_ms = now_ms;
  if (e.tokens < 1) return Verdict::kRateLimited;
  e.tokens -= 1;
  ++e.turns;
  e.bytes += static_cast<int64_t>(bytes);
  return Verdict::kOk;
}

bool AddressLimits::ChargeUnanswered(const std::string& address, int64_t now_ms) {
  const std::string key = Key(address);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& e = Touch(shard, key, now_ms);
  if (e.unanswered >= settings_.unanswered_per_day) return false;
  ++e.unanswered;
  return true;
}

bool AddressLimits::ChargeFeedback(const std::string& address, int64_t now_ms) {
  const std::string key = Key(address);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& e = Touch(shard, key, now_ms);
  if (e.feedback >= settings_.feedback_per_day) return false;
  ++e.feedback;
  return true;
}

size_t AddressLimits::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace backline::server::internal
