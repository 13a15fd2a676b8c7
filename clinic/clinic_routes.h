// The clinicians' page (issue 22): a clinic's care team sees the red-flag escalations and
// callback requests of its own clinic, with the conversation when the person consented, and
// records what it did about each (acknowledged, called back, closed). A route of the server
// (server/routes.h): /clinic/ (the page's files, from web/clinic/) and the JSON API under
// /clinic/api/.
//
//   auto added = clinic::AddClinicRoutes(*server, status_events);   // before server->Run()
//
// Authentication: a clinician signs in with a token from the configuration ("clinicians":
// name, token, clinic, role), compared in constant time (server/sign_in.h, as the curators
// do); the answer sets a session cookie (backline_clinic, HttpOnly, SameSite=Strict,
// Path=/clinic, Secure when the server serves TLS) that lasts clinician_session_minutes.
// Failed logins are limited per address (429 with Retry-After). Every read and write is of
// the signed-in clinician's clinic only: another clinic's item answers 404, as a missing one
// does. Role "viewer" may read; only "clinician" may set a status (403 otherwise). No
// clinicians configured: every /clinic/api/ request answers 404 {"error": "clinicians_off"}.
//
// CSRF: requests that change anything must be POST with Content-Type application/json, and
// their Origin, when sent, must be the server's own (the Host header), as on the curator API.
//
// The API (JSON; errors are {"error": code, "message": text}; Cache-Control: no-store):
//   POST login {"token"}            -> {"name", "clinic", "clinic_name", "role", "expires_ms"}
//   POST logout, GET me
//   GET  items?status=S&since=MS&until=MS&limit=N
//        S: "open" (the default: new, acknowledged, called back), "all", or one status;
//        since/until bound the creation time (Unix ms; until excluded). Newest first:
//        {"items": [{"id", "reference", "type", "urgency", "red_flag_kind", "created_ms",
//        "consent", "first_name", "phone", "best_time", "status", "status_by", "status_ms"}]}
//        (the three personal fields only with consent; the session id never).
//   GET  items/ID/conversation      -> {"shared": false} without consent, else {"shared":
//        true, "turns": [{"seq", "user_text", "reply_text", "urgency", "kind", "at_ms"}]}
//   POST items/ID/status {"status": "acknowledged" | "called_back" | "closed"} -> the item
//        (recorded with the clinician's name and the time, and with the "handoff_status"
//        webhook events that `status_events` makes, in one transaction)
//   GET  failed                     -> {"deliveries": [...]}: webhook deliveries given up on
//   GET  events                     -> text/event-stream (Server-Sent Events): "ready" once
//        the stream watches (reload the list then), "change" with {"new": [items], "changed":
//        [ids]} when items appear or change, "signed_out" when the session ends; a comment
//        line every 15 s keeps proxies from closing it.
//
// New and changed items are found by reading the store (every 2 s per clinic that has a page
// open, one read shared by all its pages), not by a hook in this process: several servers
// may share one database (issue 23), and an item written by another is seen all the same.
#ifndef BACKLINE_CLINIC_CLINIC_ROUTES_H_
#define BACKLINE_CLINIC_CLINIC_ROUTES_H_

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/content.h"
#include "engine/status.h"
#include "server/server.h"
#include "store/store.h"

namespace backline::clinic {

// Makes the webhook events of a status change: the item's clinic (from the content being
// served), `item` as it was before, the status set and who set it. Called on the store's
// callback thread; must not block or throw. The events are written in the same transaction as
// the status (Store::SetHandoffStatus), and the webhook sender is woken once it commits.
using StatusEvents = std::function<std::vector<store::EventRecord>(
    const engine::Clinic& clinic, const store::HandoffRecord& item, const std::string& new_status,
    const std::string& who)>;

struct ClinicRouteOptions {
  // How often the store is read for new and changed items while a page listens.
  std::chrono::milliseconds poll_interval{2000};
  // A comment is sent on an event stream that has been quiet this long.
  std::chrono::milliseconds keep_alive{15000};
};

// True for /clinic and everything under /clinic/.
bool IsClinicPath(std::string_view path);

// Adds the clinicians' page and API to `server` as a route (the server owns it).
// `status_events` may be empty: status changes then raise no webhook event. Logs a warning
// for a clinician whose clinic is not in the content. REQUIRES: before server.Run().
engine::Status AddClinicRoutes(server::Server& server, StatusEvents status_events,
                               ClinicRouteOptions options = ClinicRouteOptions());

}  // namespace backline::clinic

#endif  // BACKLINE_CLINIC_CLINIC_ROUTES_H_
