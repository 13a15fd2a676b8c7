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
#include <vector>

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
  // not tell which one came close). A failure counts against `address` (the client's, behind
  // trusted proxies: server/client_address.h) and nothing else, so failures from one address
  // never stop a right token from another. Once an address has failed `login_attempts` times
  // in `login_window_seconds`, every login from it is refused (even a right token) until the
  // oldest failure leaves the window; each further lock-out of the same address within a day
  // lasts twice as long as the one before (a window, then 2, 4, ... windows, at most a day),
  // so a guesser that waits out the window is slowed down exponentially. A sign-in from the
  // address forgets its failures and lock-outs.
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
  struct Failures {
    std::vector<int64_t> times;  // of those still inside the window, oldest first
    int lockouts = 0;            // lock-outs in a row (forgotten a day after the last failure)
    int64_t locked_until_ms = 0;
    int64_t last_ms = 0;  // the last failure
  };
  // Failed attempts per address.
  std::unordered_map<std::string, Failures> failures_;
  int64_t last_prune_ms_ = 0;
};

}  // namespace backline::curator::internal

#endif  // BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_
