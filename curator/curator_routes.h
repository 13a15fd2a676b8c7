// The curator page's HTTP side, as a route of the server (server/routes.h): /curator/ (the
// page's files, from web/curator/) and the JSON API under /curator/api/.
//
//   auto curator = curator::AddCuratorRoutes(*server);   // before server->Run()
//   if (!curator.ok()) ...;
//   curator.value()->AddParaphrase(...);                 // the same back end the page uses
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
// through the route's `respond`, called from that worker thread or the calling one.
#ifndef BACKLINE_CURATOR_CURATOR_ROUTES_H_
#define BACKLINE_CURATOR_CURATOR_ROUTES_H_

#include <string_view>

#include "curator/curator.h"
#include "engine/status.h"
#include "server/server.h"

namespace backline::curator {

// True for /curator and everything under /curator/.
bool IsCuratorPath(std::string_view path);

// Creates the Curator for `server` (its content folders and store; edits go live through the
// server's one reload path) and adds the curator page and API to the server as a route. The
// server owns both: the Curator returned lives as long as the server's state. Fails like
// Curator::Create. REQUIRES: before server.Run().
engine::StatusOr<Curator*> AddCuratorRoutes(server::Server& server);

}  // namespace backline::curator

#endif  // BACKLINE_CURATOR_CURATOR_ROUTES_H_
