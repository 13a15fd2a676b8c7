// Signing people in to a route's pages with a token (the curator page, the clinicians' page):
// the token checked in constant time, sessions, and a limit on failed sign-ins per address.
// No I/O and no clock of its own (every call takes `now_ms`), so tests drive time by hand.
//
//   server::TokenSignIn auth({{"Nurse Kim", token}}, policy);
//   auto login = auth.SignIn(address, token_sent, now_ms);   // kOk: login.session_id
//   auto session = auth.Find(cookie_value, now_ms);          // nullopt: sign in again
//
// Thread safety: TokenSignIn may be used from any thread (one mutex inside).
#ifndef BACKLINE_SERVER_SIGN_IN_H_
#define BACKLINE_SERVER_SIGN_IN_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace backline::server {

// True when a and b are equal. The time taken depends only on b's length (the secret's), not
// on where the first difference is or on a's length: every byte of b is compared.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// 64 lowercase hex digits from std::random_device (256 bits).
std::string RandomSessionId();

// The Set-Cookie value for a session id (an empty id with max_age 0 clears the cookie):
// "NAME=ID; HttpOnly; SameSite=Strict; Path=PATH; Max-Age=N[; Secure]".
std::string SessionCookie(std::string_view name, std::string_view path, const std::string& id,
                          int64_t max_age_seconds, bool secure);

struct SignInPolicy {
  int session_seconds = 8 * 3600;  // how long a session lasts
  int login_attempts = 5;          // failed sign-ins allowed per address per window...
  int login_window_seconds = 900;  // ...after which the address is refused (see SignIn)
};

class TokenSignIn {
 public:
  // One who may sign in: `name` is what a session reports (recorded with what they do).
  struct Account {
    std::string name;
    std::string token;
  };
  TokenSignIn(std::vector<Account> accounts, SignInPolicy policy);

  // True when at least one account is configured.
  bool enabled() const { return !accounts_.empty(); }

  enum class LoginResult { kOk, kWrongToken, kTooManyAttempts };
  struct Login {
    LoginResult result = LoginResult::kWrongToken;
    std::string session_id;      // kOk: the new session
    std::string name;            // kOk: the account's name
    size_t account = 0;          // kOk: its index in the accounts given to the constructor
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
    size_t account = 0;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
  };
  // The session, or nullopt when unknown or expired (an expired one is forgotten).
  std::optional<Session> Find(std::string_view session_id, int64_t now_ms);
  void SignOut(std::string_view session_id);

  int64_t session_ms() const { return int64_t{policy_.session_seconds} * 1000; }

 private:
  void Prune(int64_t now_ms);  // REQUIRES: mu_ held

  const std::vector<Account> accounts_;
  const SignInPolicy policy_;
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

}  // namespace backline::server

#endif  // BACKLINE_SERVER_SIGN_IN_H_
