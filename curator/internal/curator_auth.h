// Signing curators in: the server's token sign-in (server/sign_in.h: constant-time token
// check, sessions, the login limit per address) with the curators' accounts and cookie.
// Server-private; no I/O and no clock of its own (every call takes `now_ms`).
//
// Thread safety: CuratorAuth may be used from any thread (one mutex inside).
#ifndef BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_
#define BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_

#include <cstdint>
#include <string>

#include "server/config.h"
#include "server/sign_in.h"

namespace backline::curator::internal {

using server::ConstantTimeEquals;
using server::RandomSessionId;

// The curator cookie is Secure when the server serves TLS (a certificate is configured).
bool CookieSecure(const server::Config& config);

// The Set-Cookie value for a session id (an empty id with max_age 0 clears the cookie):
// "backline_curator=ID; HttpOnly; SameSite=Strict; Path=/curator; Max-Age=N[; Secure]".
std::string SessionCookie(const std::string& id, int64_t max_age_seconds, bool secure);

// The sign-in of the configured curators ("curators" and the curator_* settings).
class CuratorAuth : public server::TokenSignIn {
 public:
  explicit CuratorAuth(const server::CuratorSettings& settings);
};

}  // namespace backline::curator::internal

#endif  // BACKLINE_CURATOR_INTERNAL_CURATOR_AUTH_H_
