#include "curator/internal/curator_auth.h"

#include <algorithm>
#include <vector>

#include "server/util.h"

namespace backline::curator::internal {

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

std::string RandomSessionId() { return server::RandomHex(32); }

bool CookieSecure(const server::Config& config) { return !config.tls_cert.empty(); }

std::string SessionCookie(const std::string& id, int64_t max_age_seconds, bool secure) {
  std::string cookie =
      "backline_curator=" + id +
      "; HttpOnly; SameSite=Strict; Path=/curator; Max-Age=" + std::to_string(max_age_seconds);
  if (secure) cookie += "; Secure";
  return cookie;
}

CuratorAuth::CuratorAuth(server::CuratorSettings settings) : settings_(std::move(settings)) {}

void CuratorAuth::Prune(int64_t now_ms) {
  if (now_ms - last_prune_ms_ < 10000) return;
  last_prune_ms_ = now_ms;
  std::erase_if(sessions_, [now_ms](const auto& kv) { return kv.second.expires_ms <= now_ms; });
  const int64_t window = int64_t{settings_.login_window_seconds} * 1000;
  std::erase_if(failures_, [now_ms, window](const auto& kv) {
    return kv.second.empty() || kv.second.back() <= now_ms - window;
  });
}

CuratorAuth::Login CuratorAuth::SignIn(const std::string& address, std::string_view token,
                                       int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Prune(now_ms);
  Login out;
  const int64_t window = int64_t{settings_.login_window_seconds} * 1000;
  auto& failed = failures_[address];
  std::erase_if(failed, [&](int64_t t) { return t <= now_ms - window; });
  if (failed.size() >= static_cast<size_t>(settings_.login_attempts)) {
    out.result = LoginResult::kTooManyAttempts;
    out.retry_after_ms = std::max<int64_t>(1000, failed.front() + window - now_ms);
    return out;
  }
  const server::CuratorAccount* match = nullptr;
  for (const auto& acc : settings_.accounts) {
    if (ConstantTimeEquals(token, acc.token) && !match) match = &acc;
  }
  if (!match) {
    failed.push_back(now_ms);
    out.result = LoginResult::kWrongToken;
    return out;
  }
  if (failed.empty()) failures_.erase(address);
  Session s{match->name, now_ms, now_ms + session_ms()};
  std::string id = RandomSessionId();
  while (sessions_.count(id)) id = RandomSessionId();
  sessions_.emplace(id, s);
  out.result = LoginResult::kOk;
  out.session_id = std::move(id);
  out.name = match->name;
  return out;
}

std::optional<CuratorAuth::Session> CuratorAuth::Find(std::string_view session_id, int64_t now_ms) {
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

void CuratorAuth::SignOut(std::string_view session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(std::string(session_id));
}

}  // namespace backline::curator::internal
