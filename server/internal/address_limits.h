// Limits per client address that hold across connections: open connections (HTTP and
// WebSocket alike), messages a minute, turns and bytes stored a day, unanswered questions and
// feedback recorded a day. Server-private.
//
// A client that reconnects keeps its counts: they belong to its address, not to a connection.
// IPv6 addresses are counted per /64 (one host usually owns a whole /64 and can pick any
// address in it); IPv4 addresses one by one.
//
// The table is bounded: it holds at most `capacity` addresses. Past that, the address idle
// the longest (least recently seen) with no open connection is forgotten, so memory stays
// bounded whatever the number of addresses; a forgotten address starts again from zero, which
// a flood from that many addresses could use, but a single address cannot.
//
// Cost: one hash lookup under one of 16 shard mutexes per call; nothing is held across I/O.
// Thread safety: every method may be called from any thread.
#ifndef BACKLINE_SERVER_INTERNAL_ADDRESS_LIMITS_H_
#define BACKLINE_SERVER_INTERNAL_ADDRESS_LIMITS_H_

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backline::server::internal {

class AddressLimits {
 public:
  struct Settings {
    int connections = 20;             // open TCP connections per address
    int messages_per_minute = 120;    // messages per address, across its connections
    int64_t turns_per_day = 2000;     // turns stored per address per UTC day
    int64_t bytes_per_day = 1 << 20;  // bytes of typed text stored per address per UTC day
    int unanswered_per_day = 100;     // questions listed for the curators per address per day
    int feedback_per_day = 200;       // feedback records per address per day
    size_t capacity = 100000;         // addresses tracked at once
  };

  explicit AddressLimits(Settings settings);
  AddressLimits(const AddressLimits&) = delete;
  AddressLimits& operator=(const AddressLimits&) = delete;

  // The key an address is counted under: the address itself, or its /64 for IPv6.
  static std::string Key(const std::string& address);

  // A new connection from `address`: false (and nothing counted) when it already has
  // `connections` open.
  bool Connect(const std::string& address, int64_t now_ms);
  // REQUIRES: a matching Connect that returned true.
  void Disconnect(const std::string& address);

  enum class Verdict { kOk, kRateLimited, kDailyLimit };
  // A message of `bytes` typed bytes that would become a stored turn. kOk counts it.
  Verdict ChargeMessage(const std::string& address, size_t bytes, int64_t now_ms);
  // An unanswered question to list for the curators: false when the address listed its
  // quota today (the turn is stored, but not listed again).
  bool ChargeUnanswered(const std::string& address, int64_t now_ms);
  // A feedback record: false when the address gave its quota today.
  bool ChargeFeedback(const std::string& address, int64_t now_ms);

  // Addresses tracked now (for /metrics and tests).
  size_t size() const;

 private:
  struct Entry {
    int connections = 0;
    double tokens = 0;      // messages left in the minute's bucket
    int64_t refill_ms = 0;  // when `tokens` was last refilled
    int64_t day = -1;       // the UTC day the counts below are for
    int64_t turns = 0;
    int64_t bytes = 0;
    int unanswered = 0;
    int feedback = 0;
    std::list<std::string>::iterator lru;  // its key in the shard's recency list
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> lru;  // most recently seen first
  };

  Shard& ShardFor(const std::string& key);
  // The entry for `key`, created (evicting an idle one if the shard is full) and marked as
  // just seen. REQUIRES: shard.mu held.
  Entry& Touch(Shard& shard, const std::string& key, int64_t now_ms);
  void NewDay(Entry& e, int64_t now_ms) const;

  const Settings settings_;
  const size_t shard_capacity_;
  std::array<Shard, 16> shards_;
};

}  // namespace backline::server::internal

#endif  // BACKLINE_SERVER_INTERNAL_ADDRESS_LIMITS_H_
