// Signing curators in: token check in constant time, sessions, and a limit on failed logins
// per address. Server-private; no I/O and no clock of its own (every call takes `now_ms`), so
// tests drive time by hand.
//
// Thread safety: CuratorAuth may be used from any thread (one mutex inside).
#ifndef BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_
#define BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/config.h"

namespace backline::curator::internal {

// True when a and b are equal. The time taken depends only on b's length (the secret's), not
// on where the first difference is or on a's length: every byte of b is compared.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// 64 lowercase hex digits from std::random_device (256 bits).
std::string RandomSessionId();

// The curator cookie is Secure when the server serves TLS (a certificate is configured).
bool CookieSecure(const server::Config& config);

// The Set-Cookie value for a session id (an empty id with max_age 0 clears the cookie):
// "backline_curator=ID; HttpOnly; SameSite=Strict; Path=/curator; Max-Age=N[; Secure]".
std::string SessionCookie(const std::string& id, int64_t max_age_seconds, bool secure);

class CuratorAuth {
 public:
  explicit CuratorAuth(server::CuratorSettings settings);

  // True when at least one curator is configured (else the tools are off).
  bool enabled() const { return !settings_.accounts.empty(); }

  enum class LoginResult { kOk, kWrongToken, kTooManyAttempts };
  struct Login {
    LoginResult result = LoginResult::kWrongToken;
    std::string session_id;      // kOk: the new session
    std::string name;            // kOk: the curator
    int64_t retry_after_ms = 0;  // kTooManyAttempts: until the address may try again
  };
  // Checks `token` against every configured account (all of them, always, so the time does
  // not tell which one came close). A failure counts against `address`; once an address has
  // failed `login_attempts` times in `login_window_seconds`, every login from it is refused
  // (even a right token) until the oldest failure leaves the window.
  Login SignIn(const std::string& address, std::string_view token, int64_t now_ms);

  struct Session {
    std::string name;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
  };
  // The session, or nullopt when unknown or expired (an expired one is forgotten).
  std::optional<Session> Find(std::string_view session_id, int64_t now_ms);
  void SignOut(std::string_view session_id);

  int64_t session_ms() const { return int64_t{settings_.session_seconds} * 1000; }

 private:
  void Prune(int64_t now_ms);  // REQUIRES: mu_ held

  const server::CuratorSettings settings_;
  std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;
  // Failed attempts per address: the times of those still inside the window, oldest first.
  std::unordered_map<std::string, std::vector<int64_t>> failures_;
  int64_t last_prune_ms_ = 0;
};

}  // namespace backline::curator::internal

#endif  // BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_
