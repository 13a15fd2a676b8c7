// The curator page's HTTP side: /curator/ (the page's files, from web/curator/) and the JSON
// API under /curator/api/. Server-private.
//
// Authentication: a curator signs in with a token from the configuration ("curators"),
// compared in constant time; the answer sets a session cookie (backline_curator, HttpOnly,
// SameSite=Strict, Path=/curator, Secure when the server serves TLS). Failed logins are
// limited per address (429 with Retry-After). No curators configured: every /curator/api/
// request answers 404 {"error": "curators_off"} and the page says the tools are off.
//
// CSRF: requests that change anything must be POST or PUT with Content-Type
// application/json, and their Origin, when sent, must be the server's own (the Host header).
//
// Errors are JSON: {"error": code, "message": text, "diagnostics": [...]}, with 400 (bad
// request, or an edit refused by validation), 401 (not signed in, or the session expired),
// 403 (CSRF), 404, 405, 409 (undo refused: the file changed), 413 (from the HTTP layer), 429.
// Every response carries Cache-Control: no-store.
//
// Work that may block (the Curator: disk, database, compiling the content; trying a message)
// runs on one worker thread per server, never on a network thread; the response comes back
// through `respond`, called from that worker thread or the calling one.
#ifndef BACKLINE_SERVER_INTERNAL_CURATOR_HTTP_H_
#define BACKLINE_SERVER_INTERNAL_CURATOR_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/internal/state.h"

namespace backline::server::internal {

using CuratorResponder = std::function<void(http::response<http::string_body>)>;

// True for /curator and everything under /curator/.
bool IsCuratorPath(std::string_view path);

// Answers one request under /curator. `address` is the client's IP address (login limits).
// `respond` is called exactly once, possibly from another thread: post it to the
// connection's strand. Never throws.
void HandleCuratorRequest(const std::shared_ptr<ServerState>& state,
                          http::request<http::string_body> request, std::string address,
                          CuratorResponder respond);

}  // namespace backline::server::internal

#endif  // BACKLINE_SERVER_INTERNAL_CURATOR_HTTP_H_
