#include "server/route_helpers.h"

#include <algorithm>
#include <cctype>

#include <boost/beast/http.hpp>

namespace backline::server {

namespace http = boost::beast::http;

std::string CookieValue(const HttpRequest& req, std::string_view name) {
  for (const auto& field : req) {
    if (field.name() != http::field::cookie) continue;
    const std::string raw(field.value());
    std::string_view v = raw;
    while (!v.empty()) {
      const size_t semi = v.find(';');
      std::string_view pair = v.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
      if (semi == std::string_view::npos) break;
      v.remove_prefix(semi + 1);
    }
  }
  return {};
}

std::map<std::string, std::string> QueryParams(std::string_view target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

int64_t QueryNumber(const std::map<std::string, std::string>& query, const std::string& key,
                    int64_t fallback, int64_t max) {
  auto it = query.find(key);
  if (it == query.end() || it->second.empty() || it->second.size() > 15 ||
      it->second.find_first_not_of("0123456789") != std::string::npos) {
    return fallback;
  }
  return std::min<int64_t>(std::stoll(it->second), max);
}

bool IsJsonRequest(const HttpRequest& req) {
  auto it = req.find(http::field::content_type);
  if (it == req.end()) return false;
  std::string v(it->value());
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  const size_t semi = v.find(';');
  std::string type = v.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == "application/json";
}

std::optional<std::string> CsrfProblem(const HttpRequest& req) {
  if (req.method() != http::verb::post && req.method() != http::verb::put) {
    return "changes must be sent with POST or PUT";
  }
  if (!IsJsonRequest(req)) return "changes must be sent as Content-Type: application/json";
  if (auto origin = req.find(http::field::origin); origin != req.end()) {
    auto host = req.find(http::field::host);
    const std::string o(origin->value());
    const std::string h = host == req.end() ? std::string() : std::string(host->value());
    if (h.empty() || (o != "http://" + h && o != "https://" + h)) {
      return "the request comes from another site (Origin does not match Host)";
    }
  }
  return std::nullopt;
}

HttpResponse NoStoreResponse(http::status status, const HttpRequest& req) {
  HttpResponse res{status, req.version()};
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.keep_alive(req.keep_alive());
  return res;
}

HttpResponse JsonResponse(http::status status, const nlohmann::json& body, const HttpRequest& req) {
  HttpResponse res = NoStoreResponse(status, req);
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return res;
}

}  // namespace backline::server
