// HTTP on the shared port: /healthz, /metrics, the web/ files, and the upgrade to /ws.
// Server-private. One request at a time per connection; every response has a size-limited
// request before it and a timeout around it.
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "server/internal/curator_http.h"
#include "server/internal/state.h"
#include "server/internal/static_files.h"

namespace backline::server::internal {
namespace {

// Decodes %XX escapes; false on a malformed escape or a decoded NUL.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    std::string key, value;
    if (PercentDecode(pair.substr(0, eq), &key) &&
        (eq == std::string_view::npos || PercentDecode(pair.substr(eq + 1), &value))) {
      if (!key.empty()) out[key] = value;
    }
    start = end + 1;
  }
  return out;
}

// The file under `root` for a URL path, or empty when the path is not acceptable: encoded or
// plain "..", backslashes, NULs and hidden segments are refused.
std::string FileFor(const std::string& root, std::string_view target) {
  std::string path;
  if (!PercentDecode(target, &path) || path.empty() || path[0] != '/') return {};
  if (path.find('\\') != std::string::npos) return {};
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view seg = std::string_view(path).substr(start, end - start);
    if (seg == ".." || seg == "." || (!seg.empty() && seg[0] == '.')) return {};
    start = end + 1;
  }
  if (path.back() == '/') path += "index.html";
  return root + path;
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<ServerState> state, tcp::socket&& socket)
      : state_(std::move(state)), stream_(std::move(socket)) {}

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(state_->config.limits.max_http_request_bytes);
    stream_.expires_after(std::chrono::seconds(state_->config.limits.handshake_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return Shutdown();
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      return Respond(ErrorV(http::status::payload_too_large, "Request too large.\n", 11), true);
    }
    if (ec) return;  // timeouts, resets, malformed requests: drop the connection
    http::request<http::string_body> req = parser_->release();
    const std::string target(req.target());
    const size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    const auto query =
        q == std::string::npos ? std::map<std::string, std::string>{} : ParseQuery(target.substr(q + 1));

    if (websocket::is_upgrade(req)) {
      if (path != "/ws") return Respond(Error(http::status::not_found, "Not found.\n", req), true);
      return Upgrade(std::move(req), query);
    }
    if (IsCuratorPath(path)) return Curator(std::move(req));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = Error(http::status::method_not_allowed, "Only GET and HEAD are served here.\n", req);
      res.set(http::field::allow, "GET, HEAD");
      return Respond(std::move(res), false);
    }
    if (path == "/healthz") return Health(req);
    if (path == "/metrics") return Metrics(req);
    return Static(req, target.substr(0, q));
  }

  // The curator page and API (curator_http.h) answer through a callback, maybe from their
  // worker thread; the response is written on this connection's strand.
  void Curator(http::request<http::string_body> req) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    HandleCuratorRequest(state_, std::move(req), ec ? "?" : endpoint.address().to_string(),
                         [self = shared_from_this()](http::response<http::string_body> res) {
                           net::post(self->stream_.get_executor(),
                                     [self, res = std::move(res)]() mutable {
                                       self->Respond(std::move(res), false);
                                     });
                         });
  }

  void Upgrade(http::request<http::string_body> req,
               const std::map<std::string, std::string>& query) {
    auto content = state_->content();
    if (state_->stopping || !content) {
      return Respond(Error(http::status::service_unavailable, "Shutting down.\n", req), true);
    }
    const std::string clinic_id = query.count("clinic") ? query.at("clinic") : "default";
    const engine::Clinic* clinic = nullptr;
    for (const auto& c : content->clinics) {
      if (c.id == clinic_id) clinic = &c;
    }
    if (!clinic) {
      state_->metrics.connections_refused.fetch_add(1);
      return Respond(Error(http::status::bad_request, "Unknown clinic.\n", req), true);
    }
    // Browsers send Origin; other clients (curl, the load generator) do not and are let in.
    if (auto origin = req.find(http::field::origin); origin != req.end()) {
      if (!OriginAllowed(std::string(origin->value()), *clinic, req)) {
        state_->metrics.connections_refused.fetch_add(1);
        return Respond(Error(http::status::forbidden, "Origin not allowed.\n", req), true);
      }
    }
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    const std::string address = ec ? std::string("?") : endpoint.address().to_string();
    if (!state_->AdmitConnection(address)) {
      state_->metrics.connections_refused.fetch_add(1);
      return Respond(Error(http::status::too_many_requests, "Too many connections.\n", req), true);
    }
    const std::string resume = query.count("session") ? query.at("session") : "";
    StartWebSocketSession(state_, std::move(stream_), std::move(req), address, clinic_id, resume);
  }

  // An allowed origin without a port allows any port ("http://localhost"); the server's own
  // origin (its Host header) is always allowed.
  bool OriginAllowed(const std::string& origin, const engine::Clinic& clinic,
                     const http::request<http::string_body>& req) const {
    if (auto host = req.find(http::field::host); host != req.end()) {
      const std::string own = std::string(host->value());
      if (origin == "http://" + own || origin == "https://" + own) return true;
    }
    for (const auto& allowed : clinic.allowed_origins) {
      if (origin == allowed) return true;
      const size_t scheme = allowed.find("://");
      const bool has_port =
          scheme != std::string::npos && allowed.find(':', scheme + 3) != std::string::npos;
      if (!has_port && origin.size() > allowed.size() && origin.compare(0, allowed.size(), allowed) == 0 &&
          origin[allowed.size()] == ':') {
        const std::string port = origin.substr(allowed.size() + 1);
        if (!port.empty() && port.find_first_not_of("0123456789") == std::string::npos) return true;
      }
    }
    return false;
  }

  void Health(const http::request<http::string_body>& req) {
    const bool ready = state_->ready && state_->content() && !state_->stopping;
    nlohmann::json j = {{"status", ready ? "ok" : "starting"},
                        {"ready", ready},
                        {"stopping", state_->stopping.load()}};
    if (auto c = state_->content()) {
      j["faq_entries"] = c->engine->content().entries.size();
      j["clinics"] = c->clinics.size();
      // What is live: the same status a curator edit reports (server/content.h).
      const ContentStatus& st = c->status;
      char loaded_at[32] = "";
      const std::time_t t = static_cast<std::time_t>(st.loaded_ms / 1000);
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::strftime(loaded_at, sizeof loaded_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
      j["content"] = {{"version", st.version},       {"loaded_ms", st.loaded_ms},
                      {"loaded_at", loaded_at},      {"entries", st.entries},
                      {"topics", st.topics},         {"red_flag_kinds", st.red_flag_kinds},
                      {"red_flag_rules", st.red_flag_rules}, {"intents", st.intents},
                      {"states", st.states},         {"clinics", st.clinics}};
    }
    http::response<http::string_body> res{ready ? http::status::ok : http::status::service_unavailable,
                                          req.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.body() = j.dump() + "\n";
    res.keep_alive(req.keep_alive());
    Respond(std::move(res), false);
  }

  void Metrics(const http::request<http::string_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = state_->metrics.Render(state_->store->QueueDepth(), state_->ready.load());
    res.keep_alive(req.keep_alive());
    Respond(std::move(res), false);
  }

  void Static(const http::request<http::string_body>& req, const std::string& path) {
    std::string decoded;
    const auto files = state_->static_files();
    const StaticFile* file = nullptr;
    // The decoded path must still look like a plain path: no "..", "." or hidden segments,
    // no backslash. Only files loaded at start (StaticFiles) can be found at all.
    if (files && !FileFor("", path).empty() && PercentDecode(path, &decoded)) {
      file = files->Find(decoded);
    }
    if (!file) return Respond(Error(http::status::not_found, "Not found.\n", req), false);
    if (auto inm = req.find(http::field::if_none_match);
        inm != req.end() && std::string(inm->value()) == file->etag) {
      http::response<http::string_body> res{http::status::not_modified, req.version()};
      res.set(http::field::etag, file->etag);
      res.keep_alive(req.keep_alive());
      return Respond(std::move(res), false);
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, file->content_type);
    // Five minutes fresh, then revalidated with the ETag (a 304 costs no body); a stale copy
    // may be used for a day while the new one is fetched in the background.
    res.set(http::field::cache_control, "public, max-age=300, stale-while-revalidate=86400");
    res.set(http::field::etag, file->etag);
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
    if (req.method() == http::verb::head) {
      res.content_length(file->body.size());
    } else {
      res.body() = file->body;
    }
    Respond(std::move(res), false);
  }

  template <typename Request>
  http::response<http::string_body> Error(http::status status, std::string body,
                                          const Request& req) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    return res;
  }
  http::response<http::string_body> ErrorV(http::status status, std::string body,
                                           unsigned version) {
    http::response<http::string_body> res{status, version};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(false);
    res.body() = std::move(body);
    return res;
  }

  void Respond(http::response<http::string_body>&& res, bool close) {
    res.set(http::field::server, "backline");
    if (close) res.keep_alive(false);
    res.prepare_payload();
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    response_ = sp;
    http::async_write(stream_, *sp,
                      [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (!sp->keep_alive()) return self->Shutdown();
                        self->DoRead();
                      });
  }

  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  std::shared_ptr<ServerState> state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> response_;
};

}  // namespace

void StartHttpSession(std::shared_ptr<ServerState> state, tcp::socket socket) {
  std::make_shared<HttpSession>(std::move(state), std::move(socket))->Run();
}

}  // namespace backline::server::internal
