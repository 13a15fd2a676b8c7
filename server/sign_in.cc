#include "server/sign_in.h"

#include <algorithm>
#include <vector>

#include "server/util.h"

namespace backline::server {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Walk b (the secret) completely; read a at the same index when it has one. The length
  // difference goes into the result without a branch that returns early.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

std::string RandomSessionId() { return RandomHex(32); }

std::string SessionCookie(std::string_view name, std::string_view path, const std::string& id,
                          int64_t max_age_seconds, bool secure) {
  std::string cookie = std::string(name) + "=" + id +
                       "; HttpOnly; SameSite=Strict; Path=" + std::string(path) +
                       "; Max-Age=" + std::to_string(max_age_seconds);
  if (secure) cookie += "; Secure";
  return cookie;
}

namespace {
// Lock-outs of an address double while it keeps failing; a day without a failure forgets them.
constexpr int64_t kLockoutMemoryMs = 24 * 3600 * 1000;
// Past this many addresses with failures, those not locked out are forgotten (memory bound).
constexpr size_t kMaxTrackedAddresses = 100'000;
}  // namespace

TokenSignIn::TokenSignIn(std::vector<Account> accounts, SignInPolicy policy)
    : accounts_(std::move(accounts)), policy_(policy) {}

void TokenSignIn::Prune(int64_t now_ms) {
  if (now_ms - last_prune_ms_ < 10000) return;
  last_prune_ms_ = now_ms;
  std::erase_if(sessions_, [now_ms](const auto& kv) { return kv.second.expires_ms <= now_ms; });
  std::erase_if(failures_, [now_ms](const auto& kv) {
    return kv.second.last_ms <= now_ms - kLockoutMemoryMs && kv.second.locked_until_ms <= now_ms;
  });
  // Many addresses failing at once (a spray from a large IPv6 block): keep only the locked.
  if (failures_.size() > kMaxTrackedAddresses) {
    std::erase_if(failures_,
                  [now_ms](const auto& kv) { return kv.second.locked_until_ms <= now_ms; });
  }
}

TokenSignIn::Login TokenSignIn::SignIn(const std::string& address, std::string_view token,
                                       int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Prune(now_ms);
  Login out;
  const int64_t window = int64_t{policy_.login_window_seconds} * 1000;
  Failures& f = failures_[address];
  if (f.last_ms <= now_ms - kLockoutMemoryMs) f.lockouts = 0;
  std::erase_if(f.times, [&](int64_t t) { return t <= now_ms - window; });
  if (f.locked_until_ms > now_ms) {
    out.result = LoginResult::kTooManyAttempts;
    out.retry_after_ms = std::max<int64_t>(1000, f.locked_until_ms - now_ms);
    return out;
  }
  const Account* match = nullptr;
  size_t index = 0;
  for (size_t i = 0; i < accounts_.size(); ++i) {
    if (ConstantTimeEquals(token, accounts_[i].token) && !match) {
      match = &accounts_[i];
      index = i;
    }
  }
  if (!match) {
    f.times.push_back(now_ms);
    f.last_ms = now_ms;
    if (f.times.size() >= static_cast<size_t>(policy_.login_attempts)) {
      // The first lock-out ends when the oldest failure leaves the window; each one after it
      // (within a day) lasts twice as long as the one before.
      f.locked_until_ms =
          f.lockouts == 0 ? f.times.front() + window
                          : now_ms + std::min(kLockoutMemoryMs, window << std::min(f.lockouts, 20));
      ++f.lockouts;
    }
    out.result = LoginResult::kWrongToken;
    return out;
  }
  failures_.erase(address);
  Session s{match->name, index, now_ms, now_ms + session_ms()};
  std::string id = RandomSessionId();
  while (sessions_.count(id)) id = RandomSessionId();
  sessions_.emplace(id, s);
  out.result = LoginResult::kOk;
  out.session_id = std::move(id);
  out.name = match->name;
  out.account = index;
  return out;
}

std::optional<TokenSignIn::Session> TokenSignIn::Find(std::string_view session_id, int64_t now_ms) {
  if (session_id.size() != 64) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  Prune(now_ms);
  auto it = sessions_.find(std::string(session_id));
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void TokenSignIn::SignOut(std::string_view session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(std::string(session_id));
}

}  // namespace backline::server
