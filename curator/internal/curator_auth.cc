#include "curator/internal/curator_auth.h"

#include <vector>

namespace backline::curator::internal {
namespace {

std::vector<server::TokenSignIn::Account> Accounts(const server::CuratorSettings& settings) {
  std::vector<server::TokenSignIn::Account> out;
  for (const auto& a : settings.accounts) out.push_back({a.name, a.token});
  return out;
}

}  // namespace

bool CookieSecure(const server::Config& config) { return config.tls(); }

std::string SessionCookie(const std::string& id, int64_t max_age_seconds, bool secure) {
  return server::SessionCookie("backline_curator", "/curator", id, max_age_seconds, secure);
}

CuratorAuth::CuratorAuth(const server::CuratorSettings& settings)
    : TokenSignIn(Accounts(settings),
                  server::SignInPolicy{settings.session_seconds, settings.login_attempts,
                                       settings.login_window_seconds}) {}

}  // namespace backline::curator::internal
