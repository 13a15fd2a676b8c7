// HTTP on the shared port: /healthz, /metrics, the web/ files, and the upgrade to /ws, over
// plain TCP or TLS. Server-private. One request at a time per connection; every request is
// size-limited and has a timeout around it.
//
// Two halves, as in Beast's advanced_server_flex:
//   - HandleRequest() and its helpers decide what to answer. They see a request and a
//     RequestContext, never a stream, so they are the same for HTTP and HTTPS.
//   - HttpSession<Stream> does the I/O (read, write, TLS handshake, close) for Stream =
//     beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>, and hands an upgrade's
//     stream to the WebSocket session.
// Every response passes through ApplySecurityHeaders() on its way out.
#include <atomic>
#include <ctime>
#include <deque>
#include <map>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "server/client_address.h"
#include "server/internal/state.h"
#include "server/protocol.h"
#include "server/static_files.h"
#include "server/util.h"

namespace backline::server::internal {
namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Request headers (request line included) larger than this get 431: browsers send 1-2 KiB,
// and a long query string or cookie past 8 KiB is an attack or a bug.
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
// A connection that has to be closed after an error response keeps being read (and what it
// sends discarded) for at most this long, so that the client reads the response instead of
// a reset (a close with unread data sends RST).
constexpr auto kLingerTime = std::chrono::seconds(2);
// A connection refused at accept (too many) has this long to send its request and read the
// refusal; refusals in progress are bounded too (kMaxRefusing in server.cc).
constexpr auto kRefusalTime = std::chrono::seconds(2);

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

// The decoded form of a URL path, or nullopt when the path is not acceptable: a malformed
// escape or an encoded NUL, bytes that are not UTF-8 once decoded (overlong forms such as
// %c0%ae included), control characters, backslashes, and "." or ".." segments in any
// encoding. The path is decoded exactly once: "%252e%252e" is the literal name "%2e%2e".
std::optional<std::string> DecodePath(std::string_view path) {
  std::string decoded;
  if (path.empty() || path[0] != '/' || !PercentDecode(path, &decoded)) return std::nullopt;
  if (!IsValidUtf8(decoded)) return std::nullopt;
  for (unsigned char c : decoded) {
    if (c < 0x20 || c == 0x7f || c == '\\') return std::nullopt;
  }
  size_t start = 1;
  while (start <= decoded.size()) {
    size_t end = decoded.find('/', start);
    if (end == std::string::npos) end = decoded.size();
    const std::string_view seg = std::string_view(decoded).substr(start, end - start);
    if (seg == "." || seg == "..") return std::nullopt;
    start = end + 1;
  }
  return decoded;
}

// A Host header value we are willing to echo into a CSP: a DNS name, IPv4 or bracketed IPv6
// address, with an optional port.
bool HostLooksValid(beast::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

Response MakeResponse(http::status status, const Request& req) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  return res;
}

Response Error(http::status status, std::string body, const Request& req) {
  Response res = MakeResponse(status, req);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
  return res;
}

// An error before there is a request to answer (it could not be parsed): HTTP/1.1, close.
Response ErrorWithoutRequest(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::move(body);
  return res;
}

// The policy of pages (the demo page, the web/ files). frame-ancestors is the clinic's
// setting for ?clinic=ID, 'self' otherwise; the rest allows the page's own scripts, its
// inline <style> (the demo page's, and the widget's fallback when constructable stylesheets
// are missing), and WebSocket connections back to this host.
std::string PageCsp(const std::vector<std::string>& frame_ancestors, const Request& req, bool tls) {
  std::string connect = "'self'";
  if (auto host = req.find(http::field::host); host != req.end() && HostLooksValid(host->value())) {
    // CSP Level 3 lets 'self' match ws:/wss: on the same host; older engines need them named.
    const std::string h(host->value());
    connect += tls ? " wss://" + h : " ws://" + h + " wss://" + h;
  }
  std::string ancestors;
  for (const auto& a : frame_ancestors) ancestors += (ancestors.empty() ? "" : " ") + a;
  return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
         "img-src 'self' data:; connect-src " +
         connect + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors " +
         ancestors;
}

// What every response carries (the defaults stand unless the route set its own): no Server
// banner, no MIME sniffing, no Referer to other sites (a URL here names a clinic and may
// carry a session id; no-referrer rather than strict-origin-when-cross-origin because even
// "this person came from the cancer centre's chat" is health information), a CSP that
// allows nothing for non-page responses, and HSTS over TLS.
void ApplySecurityHeaders(Response& res, bool tls) {
  res.erase(http::field::server);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  if (res.find("Content-Security-Policy") == res.end()) {
    res.set("Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  }
  if (res.find("Cross-Origin-Resource-Policy") == res.end()) {
    res.set("Cross-Origin-Resource-Policy", "same-origin");
  }
  if (tls) res.set(http::field::strict_transport_security, "max-age=31536000");
}

// What HandleRequest decided: a response, an upgrade to a WebSocket session, or a request
// for a route another folder added (server/routes.h; answered asynchronously).
struct Decision {
  Response response;
  bool close = false;
  bool upgrade = false;
  std::shared_ptr<Route> route;
  std::string address, clinic_id, resume_id;  // upgrade only
};

struct RequestContext {
  std::string address;  // the peer's IP address
  bool tls = false;
};

// The client: the TCP peer, or behind trusted proxies the address they forwarded
// (server/client_address.h). What the limits, the curator's sign-in limit and the logs use.
std::string ClientAddressOf(const Request& req, const tcp::endpoint& peer,
                            const ServerState& state) {
  const std::string peer_text =
      CanonicalAddress(peer.address().to_string()).value_or(peer.address().to_string());
  if (state.trusted_proxies.empty()) return peer_text;
  std::vector<std::string> forwarded_for, forwarded;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
    forwarded_for.emplace_back(it->value());
  }
  for (auto [it, end] = req.equal_range("Forwarded"); it != end; ++it) {
    forwarded.emplace_back(it->value());
  }
  return ClientAddress(peer_text, forwarded_for, forwarded, state.trusted_proxies);
}

Decision Respond(Response res, bool close = false) {
  Decision d;
  d.response = std::move(res);
  d.close = close;
  return d;
}

// An allowed origin without a port allows any port ("http://localhost"); the server's own
// origin (its Host header) is always allowed.
bool OriginAllowed(const std::string& origin, const engine::Clinic& clinic, const Request& req) {
  if (auto host = req.find(http::field::host); host != req.end()) {
    const std::string own = std::string(host->value());
    if (origin == "http://" + own || origin == "https://" + own) return true;
  }
  for (const auto& allowed : clinic.allowed_origins) {
    if (origin == allowed) return true;
    const size_t scheme = allowed.find("://");
    const bool has_port =
        scheme != std::string::npos && allowed.find(':', scheme + 3) != std::string::npos;
    if (!has_port && origin.size() > allowed.size() &&
        origin.compare(0, allowed.size(), allowed) == 0 && origin[allowed.size()] == ':') {
      const std::string port = origin.substr(allowed.size() + 1);
      if (!port.empty() && port.find_first_not_of("0123456789") == std::string::npos) return true;
    }
  }
  return false;
}

// `text` for a log line: printable ASCII only (anything else becomes '?'), at most 200 bytes,
// so that a header cannot forge or flood log lines.
std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// What the page's owner must do, in words: the log and the widget's console both say it.
std::string OriginAdvice(const std::string& origin, const std::string& clinic_id) {
  return "add \"" + origin + "\" to \"allowed_origins\" in dialogs/clinics/" + clinic_id +
         ".json on the Backline server, then reload it (SIGHUP)";
}

void LogOriginRefused(ServerState& state, const std::string& origin, const std::string& clinic) {
  int64_t suppressed = 0;
  if (!state.origin_refusals.Note(NowMs(), &suppressed)) return;
  std::string line = "WebSocket upgrade refused: origin " + Printable(origin) +
                     " is not allowed for clinic \"" + Printable(clinic) + "\"";
  if (suppressed == 0) {
    line += "; if this is the clinic's own site, " + OriginAdvice(Printable(origin), clinic) +
            " (further refusals are counted once a minute)";
  } else {
    line += " (and " + std::to_string(suppressed) + " more refused since the last such line)";
  }
  Log("warn", line);
}

Decision Upgrade(ServerState& state, const Request& req,
                 const std::map<std::string, std::string>& query, const RequestContext& ctx) {
  auto content = state.content();
  if (state.stopping || !content) {
    return Respond(Error(http::status::service_unavailable, "Shutting down.\n", req), true);
  }
  const std::string clinic_id = query.count("clinic") ? query.at("clinic") : "default";
  const engine::Clinic* clinic = nullptr;
  for (const auto& c : content->clinics) {
    if (c.id == clinic_id) clinic = &c;
  }
  if (!clinic) {
    state.metrics.connections_refused.fetch_add(1);
    return Respond(Error(http::status::bad_request, "Unknown clinic.\n", req), true);
  }
  // Browsers send Origin; other clients (curl, the load generator) do not and are let in.
  if (auto origin = req.find(http::field::origin); origin != req.end()) {
    if (!OriginAllowed(std::string(origin->value()), *clinic, req)) {
      state.metrics.connections_refused.fetch_add(1);
      LogOriginRefused(state, std::string(origin->value()), clinic_id);
      return Respond(Error(http::status::forbidden, "Origin not allowed.\n", req), true);
    }
  }
  Decision d;
  d.upgrade = true;
  d.address = ctx.address;
  d.clinic_id = clinic_id;
  d.resume_id = query.count("session") ? query.at("session") : "";
  return d;
}

// GET /ws/check?clinic=ID: would an upgrade from this request's Origin be let in? A browser
// cannot read the status of a refused WebSocket upgrade (it sees only a close, 1006, the same
// as an outage), so the widget asks here after a connection fails before its welcome, and a
// refused origin or an unknown clinic becomes a message for the page's owner instead of
// endless retries. Readable from any page (CORS "*"): it tells a page only what an upgrade
// attempt would, and carries no credentials.
Decision AccessCheck(ServerState& state, const Request& req,
                     const std::map<std::string, std::string>& query) {
  auto content = state.content();
  if (state.stopping || !content) {
    return Respond(Error(http::status::service_unavailable, "Not ready.\n", req));
  }
  const std::string clinic_id = query.count("clinic") ? query.at("clinic") : "default";
  const engine::Clinic* clinic = nullptr;
  for (const auto& c : content->clinics) {
    if (c.id == clinic_id) clinic = &c;
  }
  nlohmann::json j = {{"ok", true}, {"clinic", Printable(clinic_id)}};
  const auto origin = req.find(http::field::origin);
  if (origin != req.end()) j["origin"] = Printable(std::string(origin->value()));
  if (!clinic) {
    j["ok"] = false;
    j["code"] = "unknown_clinic";
    j["message"] = "There is no clinic \"" + Printable(clinic_id) +
                   "\" on this Backline server: check the widget's data-clinic attribute "
                   "against the ids in dialogs/clinics/.";
  } else if (origin != req.end() && !OriginAllowed(std::string(origin->value()), *clinic, req)) {
    const std::string o = Printable(std::string(origin->value()));
    j["ok"] = false;
    j["code"] = "origin_not_allowed";
    j["message"] = "This page's origin " + o + " is not allowed to use the chat of clinic \"" +
                   clinic_id + "\": " + OriginAdvice(o, clinic_id) + ".";
  }
  Response res = MakeResponse(http::status::ok, req);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("Cross-Origin-Resource-Policy", "cross-origin");
  res.set(http::field::access_control_allow_origin, "*");
  res.body() = j.dump() + "\n";
  return Respond(std::move(res));
}

Decision Health(ServerState& state, const Request& req) {
  const bool ready = state.ready && state.content() && !state.stopping;
  nlohmann::json j = {
      {"status", ready ? "ok" : "starting"}, {"ready", ready}, {"stopping", state.stopping.load()}};
  if (auto c = state.content()) {
    j["faq_entries"] = c->engine->content().entries.size();
    j["clinics"] = c->clinics.size();
    // What is live: the same status a curator edit reports (content/content.h).
    const content::ContentStatus& st = c->status;
    char loaded_at[32] = "";
    const std::time_t t = static_cast<std::time_t>(st.loaded_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(loaded_at, sizeof loaded_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    j["content"] = {{"version", st.version},
                    {"loaded_ms", st.loaded_ms},
                    {"loaded_at", loaded_at},
                    {"entries", st.entries},
                    {"topics", st.topics},
                    {"red_flag_kinds", st.red_flag_kinds},
                    {"red_flag_rules", st.red_flag_rules},
                    {"intents", st.intents},
                    {"states", st.states},
                    {"clinics", st.clinics}};
  }
  Response res = MakeResponse(ready ? http::status::ok : http::status::service_unavailable, req);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = j.dump() + "\n";
  return Respond(std::move(res));
}

Decision Metrics(ServerState& state, const Request& req) {
  Response res = MakeResponse(http::status::ok, req);
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  server::Metrics::Gauges gauges;
  gauges.store_queue_depth = state.store->QueueDepth();
  gauges.ready = state.ready.load();
  gauges.live_sessions = state.LiveSessions();
  gauges.addresses = state.address_limits->size();
  gauges.now_ms = NowMs();
  res.body() = state.metrics.Render(gauges);
  return Respond(std::move(res));
}

Decision Static(ServerState& state, const Request& req, const std::string& decoded_path,
                const std::map<std::string, std::string>& query, const RequestContext& ctx) {
  const auto files = state.static_files();
  const StaticFile* file = files ? files->Find(decoded_path) : nullptr;
  if (!file) return Respond(Error(http::status::not_found, "Not found.\n", req));
  Response res = MakeResponse(http::status::ok, req);
  // The clinic named by ?clinic=ID says which sites may frame its pages; otherwise only ours.
  std::vector<std::string> ancestors = {"'self'"};
  if (auto it = query.find("clinic"); it != query.end()) {
    if (auto content = state.content()) {
      for (const auto& c : content->clinics) {
        if (c.id == it->second) ancestors = c.frame_ancestors;
      }
    }
  }
  res.set("Content-Security-Policy", PageCsp(ancestors, req, ctx.tls));
  if (ancestors.size() == 1 && (ancestors[0] == "'self'" || ancestors[0] == "'none'")) {
    // For browsers without CSP frame-ancestors.
    res.set("X-Frame-Options", ancestors[0] == "'self'" ? "SAMEORIGIN" : "DENY");
  }
  if (file->content_type.rfind("text/javascript", 0) == 0) {
    // The widget is embedded by other sites' pages: as a classic <script> it needs nothing,
    // but a page that isolates itself (COEP require-corp) needs CORP cross-origin, and one
    // that pins it with Subresource Integrity loads it in CORS mode. It is public and sent
    // without credentials, so "*" exposes nothing.
    res.set("Cross-Origin-Resource-Policy", "cross-origin");
    res.set(http::field::access_control_allow_origin, "*");
  }
  // The copy compressed at build time that the client takes (br, then gzip), else the file.
  // Caches key the response on Accept-Encoding, and each representation has its own ETag.
  const auto accept = req.find(http::field::accept_encoding);
  const std::string accepted = accept == req.end() ? std::string() : std::string(accept->value());
  const Encoding encoding = ChooseEncoding(accepted, !file->gzip.empty(), !file->brotli.empty());
  if (!file->gzip.empty() || !file->brotli.empty()) res.set(http::field::vary, "Accept-Encoding");
  const std::string etag = file->Etag(encoding);
  res.set(http::field::etag, etag);
  if (auto inm = req.find(http::field::if_none_match);
      inm != req.end() && std::string(inm->value()) == etag) {
    res.result(http::status::not_modified);
    return Respond(std::move(res));
  }
  res.set(http::field::content_type, file->content_type);
  if (encoding != Encoding::kIdentity)
    res.set(http::field::content_encoding, EncodingName(encoding));
  // Five minutes fresh, then revalidated with the ETag (a 304 costs no body); a stale copy
  // may be used for a day while the new one is fetched in the background.
  res.set(http::field::cache_control, "public, max-age=300, stale-while-revalidate=86400");
  const std::string& body = file->Body(encoding);
  if (req.method() == http::verb::head) {
    res.content_length(body.size());
  } else {
    res.body() = body;
  }
  return Respond(std::move(res));
}

// Decides the answer to one request. Never touches a stream: the same for HTTP and HTTPS.
Decision HandleRequest(ServerState& state, const Request& req, const RequestContext& ctx) {
  // HTTP/1.1 requires exactly one Host (RFC 9112 3.2); its value is echoed into the CSP and
  // compared with Origin, so it must look like a host.
  const size_t hosts = req.count(http::field::host);
  if ((req.version() >= 11 && hosts != 1) || hosts > 1 ||
      (hosts == 1 && !HostLooksValid(req.at(http::field::host)))) {
    return Respond(Error(http::status::bad_request, "Bad or missing Host header.\n", req), true);
  }
  const std::string target(req.target());
  const size_t q = target.find('?');
  const auto decoded = DecodePath(std::string_view(target).substr(0, q));
  if (!decoded) {
    // The same answer as a missing file: a prober learns nothing about which rule matched.
    return Respond(Error(http::status::not_found, "Not found.\n", req));
  }
  const std::string& path = *decoded;
  const auto query = q == std::string::npos ? std::map<std::string, std::string>{}
                                            : ParseQuery(std::string_view(target).substr(q + 1));

  if (websocket::is_upgrade(req)) {
    if (path != "/ws") return Respond(Error(http::status::not_found, "Not found.\n", req), true);
    return Upgrade(state, req, query, ctx);
  }
  if (auto route = state.FindRoute(path)) {
    Decision d;
    d.route = std::move(route);
    return d;
  }
  // Routes that take other methods than GET and HEAD go above this line.
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = Error(http::status::method_not_allowed, "Only GET and HEAD are served here.\n", req);
    res.set(http::field::allow, "GET, HEAD");
    return Respond(std::move(res));
  }
  if (path == "/healthz") return Health(state, req);
  if (path == "/ws/check") return AccessCheck(state, req, query);
  if (path == "/metrics") return Metrics(state, req);
  if (path == "/ws") {
    auto res = Error(http::status::upgrade_required, "This is the WebSocket endpoint.\n", req);
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    return Respond(std::move(res));
  }
  return Static(state, req, path, query, ctx);
}

// ---- the I/O half ------------------------------------------------------------------------

// A streamed response's bytes waiting to be written past this end it: the client is not
// reading (an event stream sends a few hundred bytes a minute).
constexpr size_t kMaxStreamQueuedBytes = 256 * 1024;
// A streamed write not taken by the client within this ends the stream.
constexpr auto kStreamWriteTimeout = std::chrono::seconds(30);

// The route's end of a streamed response (server/routes.h): it hands the writes to the
// session, which writes them on its strand. Holds the session weakly: a session that is gone
// has ended its stream.
template <class Session>
class StreamHandle : public ResponseStream {
 public:
  explicit StreamHandle(std::weak_ptr<Session> session) : session_(std::move(session)) {}

  bool Write(std::string data) override {
    if (ended_) return false;
    auto s = session_.lock();
    if (!s) {
      ended_ = true;
      return false;
    }
    s->PostStreamWrite(std::move(data));
    return true;
  }
  void End() override {
    if (ended_.exchange(true)) return;
    if (auto s = session_.lock()) s->PostStreamEnd();
  }
  bool ended() const override { return ended_; }
  void MarkEnded() { ended_ = true; }

 private:
  std::weak_ptr<Session> session_;
  std::atomic<bool> ended_{false};
};

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `buffer` holds bytes already read from the connection (by the TLS detector).
  // `refuse_plain`: this plain connection reached the TLS port; each request gets a 400.
  // `refusal`: this connection was refused at accept (too many from its address, or in all);
  // its request gets this status and the connection is closed. `slot`: its place in the
  // connection counts, handed on to the WebSocket session on an upgrade.
  HttpSession(std::shared_ptr<ServerState> state, Stream&& stream, beast::flat_buffer&& buffer,
              ConnectionSlot slot, bool refuse_plain = false,
              std::optional<http::status> refusal = std::nullopt)
      : state_(std::move(state)),
        stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        refuse_plain_(refuse_plain),
        refusal_(refusal),
        slot_(std::move(slot)) {}

  ~HttpSession() {
    if (refusal_) state_->refusing.fetch_sub(1);
  }

  // For StreamHandle (any thread): the writes of a streamed response, and its end.
  void PostStreamWrite(std::string data) {
    net::post(stream_.get_executor(), [self = this->shared_from_this(), d = std::move(data)]() {
      self->QueueStreamBytes(std::move(d));
    });
  }
  void PostStreamEnd() {
    net::post(stream_.get_executor(), [self = this->shared_from_this()]() {
      if (!self->handle_) return;  // refused at the start (the server was stopping)
      self->stream_end_requested_ = true;
      if (!self->stream_writing_) self->FinishStream();
    });
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()]() {
      if constexpr (kTls) {
        self->Lowest().expires_after(
            std::chrono::seconds(self->state_->config.limits.handshake_timeout_seconds));
        self->stream_.async_handshake(
            net::ssl::stream_base::server, self->buffer_.data(),
            [self](beast::error_code ec, std::size_t used) {
              if (ec) return;  // not TLS after all, a bad certificate on the client's side, ...
              self->buffer_.consume(used);
              self->DoRead();
            });
      } else {
        self->DoRead();
      }
    });
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoRead() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(state_->config.limits.max_http_request_bytes);
    // The whole request must arrive within this: a slow loris is closed, however it dribbles.
    // A refused connection gets less: it is only told to go away.
    Lowest().expires_after(
        refusal_ ? std::min<std::chrono::seconds>(
                       kRefusalTime,
                       std::chrono::seconds(state_->config.limits.handshake_timeout_seconds))
                 : std::chrono::seconds(state_->config.limits.handshake_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::header_limit) {
      return Send(ErrorWithoutRequest(http::status::request_header_fields_too_large,
                                      "Request headers too large.\n"),
                  true);
    }
    if (ec == http::error::body_limit) {
      return Send(ErrorWithoutRequest(http::status::payload_too_large, "Request too large.\n"),
                  true);
    }
    if (ec && ec.category() == beast::http::make_error_code(http::error::bad_target).category()) {
      return Send(ErrorWithoutRequest(http::status::bad_request, "Malformed request.\n"), true);
    }
    if (ec) return Close();  // a timeout, a reset, a TLS error: nobody to answer
    Request req = parser_->release();
    if (refuse_plain_) {
      return Send(
          Error(http::status::bad_request,
                "This server speaks HTTPS only: use https:// (or wss:// for the chat).\n", req),
          true);
    }
    if (refusal_) {
      return Send(Error(*refusal_,
                        *refusal_ == http::status::too_many_requests
                            ? "Too many connections from your address.\n"
                            : "Too many connections.\n",
                        req),
                  true);
    }
    beast::error_code addr_ec;
    const auto endpoint = Lowest().socket().remote_endpoint(addr_ec);
    RequestContext ctx;
    ctx.address = addr_ec ? std::string("?") : ClientAddressOf(req, endpoint, *state_);
    ctx.tls = kTls;
    Decision d = HandleRequest(*state_, req, ctx);
    if (d.route) return Routed(std::move(d.route), std::move(req), std::move(ctx.address));
    if (d.upgrade) {
      Lowest().expires_never();
      StartWebSocketSession(state_, std::move(stream_), std::move(req), std::move(d.address),
                            std::move(d.clinic_id), std::move(d.resume_id), std::move(slot_));
      return;
    }
    Send(std::move(d.response), d.close);
  }

  // Routes (server/routes.h; the curator page and API) answer through a callback, maybe
  // from another thread; the response is written on this connection's strand. Or they open a
  // stream: its header and then its parts are written on the strand, in order.
  void Routed(std::shared_ptr<Route> route, Request req, std::string address) {
    auto self = this->shared_from_this();
    route->HandleStreaming(
        state_, std::move(req), std::move(address),
        [self](Response res) {
          net::post(self->stream_.get_executor(),
                    [self, res = std::move(res)]() mutable { self->Send(std::move(res), false); });
        },
        [self](Response header) -> std::shared_ptr<ResponseStream> {
          auto handle = std::make_shared<StreamHandle<HttpSession>>(self);
          net::post(self->stream_.get_executor(),
                    [self, handle, header = std::move(header)]() mutable {
                      self->StartStream(std::move(header), std::move(handle));
                    });
          return handle;
        });
  }

  // ---- a streamed response (on the strand) ----
  // The header goes out at once; the body is whatever the route writes, until it ends the
  // stream, the client goes away (a read watches for that), a write is not taken within
  // kStreamWriteTimeout, too much waits, or the server stops (Server::Stop ends every stream).
  void StartStream(Response header, std::shared_ptr<StreamHandle<HttpSession>> handle) {
    if (state_->stopping) {
      handle->MarkEnded();
      return Send(ErrorWithoutRequest(http::status::service_unavailable, "Shutting down.\n"), true);
    }
    handle_ = handle;
    state_->RegisterStream(handle);
    header.body().clear();
    header.erase(http::field::content_length);
    header.keep_alive(false);  // the body ends with the connection
    ApplySecurityHeaders(header, kTls);
    std::ostringstream out;
    out << header.base();
    Lowest().expires_never();
    QueueStreamBytes(out.str());
    DoStreamWatch();
  }

  void QueueStreamBytes(std::string data) {
    // After an end was asked for, nothing more is taken (writes posted before it were).
    if (!handle_ || stream_end_requested_ || stream_finishing_ || stream_aborted_) return;
    stream_queued_bytes_ += data.size();
    if (stream_queued_bytes_ > kMaxStreamQueuedBytes) return AbortStream();
    stream_out_.push_back(std::move(data));
    if (!stream_writing_) DoStreamWrite();
  }

  void DoStreamWrite() {
    stream_writing_ = true;
    Lowest().expires_after(kStreamWriteTimeout);
    net::async_write(
        stream_, net::buffer(stream_out_.front()),
        beast::bind_front_handler(&HttpSession::OnStreamWrite, this->shared_from_this()));
  }

  void OnStreamWrite(beast::error_code ec, std::size_t) {
    stream_writing_ = false;
    if (ec || stream_aborted_) return AbortStream();
    stream_queued_bytes_ -= stream_out_.front().size();
    stream_out_.pop_front();
    if (!stream_out_.empty()) return DoStreamWrite();
    Lowest().expires_never();  // nothing to write: the watching read waits without a limit
    if (stream_end_requested_) FinishStream();
  }

  // Reads (and discards) what the client sends while the stream is open, to see it go away.
  void DoStreamWatch() {
    stream_watching_ = true;
    linger_.resize(512);
    Lowest().async_read_some(
        net::buffer(linger_),
        beast::bind_front_handler(&HttpSession::OnStreamWatch, this->shared_from_this()));
  }

  void OnStreamWatch(beast::error_code ec, std::size_t) {
    stream_watching_ = false;
    if (stream_finishing_) return Close();  // FinishStream cancelled the read
    if (ec) return AbortStream();           // the client went away
    DoStreamWatch();
  }

  // The route ended the stream and everything queued is written: close as after any
  // response, once the watching read is out of the way.
  void FinishStream() {
    if (stream_finishing_ || stream_aborted_) return;
    stream_finishing_ = true;
    if (handle_) handle_->MarkEnded();
    if (!stream_watching_) return Close();
    beast::error_code ignored;
    Lowest().socket().cancel(ignored);
  }

  // Ends the stream at once: the client is gone or does not read, or too much waits.
  void AbortStream() {
    if (handle_) handle_->MarkEnded();
    stream_aborted_ = true;
    // Closed first: once close returns, no write in flight reads the queue's front any more.
    beast::error_code ignored;
    Lowest().socket().close(ignored);
    stream_out_.clear();
    stream_queued_bytes_ = 0;
  }

  void Send(Response&& res, bool close) {
    ApplySecurityHeaders(res, kTls);
    if (close) res.keep_alive(false);
    if (res.find(http::field::content_length) == res.end()) res.prepare_payload();
    auto sp = std::make_shared<Response>(std::move(res));
    http::async_write(stream_, *sp,
                      [self = this->shared_from_this(), sp](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (!sp->keep_alive()) return self->Close();
                        self->DoRead();
                      });
  }

  // Ends the connection: over TLS with a close_notify; over TCP by shutting down our side
  // and reading (and discarding) until the client closes, for at most kLingerTime, so that
  // a client still sending sees our response rather than a reset.
  void Close() {
    Lowest().expires_after(kLingerTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
      });
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return;
      Drain();
    }
  }

  void Drain() {
    linger_.resize(4096);
    Lowest().async_read_some(net::buffer(linger_),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               if (!ec) return self->Drain();
                               beast::error_code ignored;
                               self->Lowest().socket().close(ignored);
                             });
  }

  std::shared_ptr<ServerState> state_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string linger_;
  // A streamed response, when a route opened one (StartStream).
  std::shared_ptr<StreamHandle<HttpSession>> handle_;
  std::deque<std::string> stream_out_;
  size_t stream_queued_bytes_ = 0;
  bool stream_writing_ = false;
  bool stream_watching_ = false;
  bool stream_end_requested_ = false;
  bool stream_finishing_ = false;
  bool stream_aborted_ = false;
  const bool refuse_plain_;
  const std::optional<http::status> refusal_;
  ConnectionSlot slot_;
};

// On the TLS port: looks at the first bytes. A TLS ClientHello goes on to an HTTPS session;
// anything else is read as plain HTTP and answered with a 400 that says to use https.
class DetectSession : public std::enable_shared_from_this<DetectSession> {
 public:
  DetectSession(std::shared_ptr<ServerState> state, tcp::socket&& socket, ConnectionSlot slot)
      : state_(std::move(state)), stream_(std::move(socket)), slot_(std::move(slot)) {}

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()]() {
      self->stream_.expires_after(
          std::chrono::seconds(self->state_->config.limits.handshake_timeout_seconds));
      beast::async_detect_ssl(self->stream_, self->buffer_,
                              beast::bind_front_handler(&DetectSession::OnDetect, self));
    });
  }

 private:
  void OnDetect(beast::error_code ec, bool tls) {
    if (ec) return;
    if (tls) {
      std::make_shared<HttpSession<TlsStream>>(state_, TlsStream(std::move(stream_), *state_->tls),
                                               std::move(buffer_), std::move(slot_))
          ->Run();
    } else {
      std::make_shared<HttpSession<beast::tcp_stream>>(state_, std::move(stream_),
                                                       std::move(buffer_), std::move(slot_), true)
          ->Run();
    }
  }

  std::shared_ptr<ServerState> state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ConnectionSlot slot_;
};

}  // namespace

void StartHttpSession(std::shared_ptr<ServerState> state, tcp::socket socket, ConnectionSlot slot) {
  if (state->tls) {
    std::make_shared<DetectSession>(std::move(state), std::move(socket), std::move(slot))->Run();
    return;
  }
  std::make_shared<HttpSession<beast::tcp_stream>>(state, beast::tcp_stream(std::move(socket)),
                                                   beast::flat_buffer(), std::move(slot))
      ->Run();
}

void StartRefusedSession(std::shared_ptr<ServerState> state, tcp::socket socket,
                         http::status status) {
  std::make_shared<HttpSession<beast::tcp_stream>>(state, beast::tcp_stream(std::move(socket)),
                                                   beast::flat_buffer(), ConnectionSlot(), false,
                                                   status)
      ->Run();
}

}  // namespace backline::server::internal
