// What the routes' JSON APIs share (the curator's and the clinicians'): reading cookies and
// query strings, the CSRF rule for requests that change something, and the responses' form.
// Pure functions of the request; safe from any thread.
#ifndef BACKLINE_SERVER_ROUTE_HELPERS_H_
#define BACKLINE_SERVER_ROUTE_HELPERS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>

#include "server/routes.h"

namespace backline::server {

// The value of cookie `name` in the request's Cookie headers, or "".
std::string CookieValue(const HttpRequest& req, std::string_view name);

// The query string of `target` as key -> value (not percent-decoded; later keys win).
std::map<std::string, std::string> QueryParams(std::string_view target);

// A non-negative integer query parameter, at most `max`; `fallback` when absent or not a
// number.
int64_t QueryNumber(const std::map<std::string, std::string>& query, const std::string& key,
                    int64_t fallback, int64_t max);

// True when the request's Content-Type is application/json (any parameters).
bool IsJsonRequest(const HttpRequest& req);

// Null when the request may change state; else why not (answer 403): it must be POST or PUT,
// sent as application/json (which a cross-site form cannot send), and its Origin, when sent,
// must be the server's own (the Host header).
std::optional<std::string> CsrfProblem(const HttpRequest& req);

// An empty response with Cache-Control: no-store and the request's keep-alive.
HttpResponse NoStoreResponse(boost::beast::http::status status, const HttpRequest& req);
// The same with `body` as JSON (invalid UTF-8 replaced).
HttpResponse JsonResponse(boost::beast::http::status status, const nlohmann::json& body,
                          const HttpRequest& req);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_ROUTE_HELPERS_H_
