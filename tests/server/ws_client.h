// Blocking WebSocket and HTTP clients for the server's end-to-end tests, on Boost.Beast.
//
// Every call has a deadline: the operation is started asynchronously on the client's own
// io_context, which is run until the operation completes or the deadline passes. A timed-out
// operation closes the socket (a cancelled Beast WebSocket operation leaves the stream
// unusable), so after a timeout the client is done; timed_out() says so.
//
//   WsClient c;
//   ASSERT_TRUE(c.Connect(port));                 // the upgrade; http_status() on refusal
//   nlohmann::json welcome = c.ReadJson();
//   c.Send(R"({"type": "ping"})");
//
// Thread safety: none; one thread per client.
#ifndef BACKLINE_TESTS_SERVER_WS_CLIENT_H_
#define BACKLINE_TESTS_SERVER_WS_CLIENT_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

namespace backline::server::e2e {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Runs `ioc` until `*done` or `deadline`. False on timeout (the operation is still pending).
inline bool RunUntil(net::io_context& ioc, const bool* done,
                     std::chrono::steady_clock::time_point deadline) {
  ioc.restart();
  while (!*done) {
    if (ioc.run_one_until(deadline) == 0) {
      if (*done) break;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      ioc.restart();  // out of work without completing: cannot happen, but do not spin forever
      if (std::chrono::steady_clock::now() >= deadline) return false;
    }
  }
  return true;
}

// How WsClient::Connect connects: WithTarget("/ws?session=..."), WithOrigin(...), ...
struct ConnectOptions {
  std::string target = "/ws";
  std::string origin;      // empty: no Origin header (not a browser)
  int receive_buffer = 0;  // SO_RCVBUF set before connecting; 0: the system's default
  // The local address to connect from: any 127.x.y.z reaches a server on 127.0.0.1 (Linux),
  // so tests can be several clients with addresses of their own. Empty: the system's choice.
  std::string source;
};
inline ConnectOptions WithTarget(std::string target) {
  ConnectOptions o;
  o.target = std::move(target);
  return o;
}
inline ConnectOptions WithOrigin(std::string origin) {
  ConnectOptions o;
  o.origin = std::move(origin);
  return o;
}
inline ConnectOptions WithSource(std::string source, std::string target = "/ws") {
  ConnectOptions o;
  o.source = std::move(source);
  o.target = std::move(target);
  return o;
}
inline ConnectOptions WithReceiveBuffer(int bytes) {
  ConnectOptions o;
  o.receive_buffer = bytes;
  return o;
}

class WsClient {
 public:
  using Options = ConnectOptions;

  explicit WsClient(std::chrono::milliseconds timeout = 5s) : timeout_(timeout), ws_(ioc_) {}
  ~WsClient() {
    beast::error_code ec;
    ws_.next_layer().close(ec);
  }
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects to 127.0.0.1:port and performs the upgrade. False when the connection or the
  // upgrade failed; http_status() is then the server's HTTP status (0: no response).
  bool Connect(unsigned short port, const Options& options = Options()) {
    tcp::socket& sock = ws_.next_layer();
    sock.open(tcp::v4(), ec_);
    if (ec_) return false;
    if (options.receive_buffer > 0) {
      sock.set_option(net::socket_base::receive_buffer_size(options.receive_buffer), ec_);
      if (ec_) return false;
    }
    if (!options.source.empty()) {
      sock.bind(tcp::endpoint(net::ip::make_address(options.source), 0), ec_);
      if (ec_) return false;
    }
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    if (!Await([&](auto done) { sock.async_connect(endpoint, done); })) return false;
    if (ec_) return false;
    // Frames go out at once, as a browser's do (Nagle would hold a second small frame back
    // until the first is acknowledged, hiding races between pipelined frames).
    sock.set_option(tcp::no_delay(true), ec_);
    if (ec_) return false;
    const std::string origin = options.origin;
    ws_.set_option(websocket::stream_base::decorator([origin](websocket::request_type& req) {
      if (!origin.empty()) req.set(http::field::origin, origin);
    }));
    const std::string host = "127.0.0.1:" + std::to_string(port);
    if (!Await([&](auto done) { ws_.async_handshake(response_, host, options.target, done); })) {
      return false;
    }
    return !ec_;
  }

  int http_status() const { return static_cast<int>(response_.result_int()); }

  // Sends one frame (a text frame unless `binary`). False on error or timeout.
  bool Send(std::string_view payload, bool binary = false) {
    ws_.binary(binary);
    return Await([&](auto done) { ws_.async_write(net::buffer(payload), done); }) && !ec_;
  }

  // Starts sending a frame without waiting for it; Poll() or any later call completes it.
  // Used to write into a peer that may have stopped reading. REQUIRES: no write pending.
  void StartSend(std::string payload) {
    pending_payload_ = std::move(payload);
    write_done_ = false;
    ws_.text(true);
    ws_.async_write(net::buffer(pending_payload_), [this](beast::error_code ec, std::size_t) {
      write_ec_ = ec;
      write_done_ = true;
    });
  }
  // Runs the pending write for at most `timeout`: true when it completed (see write_error()).
  bool FinishSend(std::chrono::milliseconds timeout) {
    return RunUntil(ioc_, &write_done_, std::chrono::steady_clock::now() + timeout);
  }
  bool write_pending() const { return !write_done_; }
  const beast::error_code& write_error() const { return write_ec_; }

  // Reads one frame into `payload`. False on error (error(), close_code()) or timeout.
  bool Read(std::string* payload, std::optional<std::chrono::milliseconds> timeout = {}) {
    beast::flat_buffer buffer;
    if (!Await([&](auto done) { ws_.async_read(buffer, done); }, timeout)) return false;
    if (ec_) return false;
    *payload = beast::buffers_to_string(buffer.data());
    return true;
  }

  // The next frame as JSON; null (and why in `*why`) when there is none or it is not JSON.
  nlohmann::json ReadJson(std::string* why = nullptr,
                          std::optional<std::chrono::milliseconds> timeout = {}) {
    std::string payload;
    if (!Read(&payload, timeout)) {
      if (why) *why = Describe();
      return nullptr;
    }
    nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      if (why) *why = "not JSON: " + payload;
      return nullptr;
    }
    return j;
  }

  // Reads until the connection ends (or `timeout`), keeping the frames read. True when it
  // ended (a close frame, EOF or a reset); close_code() is then the peer's close code, or 0.
  bool ReadUntilClosed(std::vector<std::string>* frames, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      std::string payload;
      if (Read(&payload, left)) {
        if (frames) frames->push_back(std::move(payload));
        continue;
      }
      return !timed_out_;
    }
  }

  // Sends a WebSocket ping (a control frame, not the protocol's {"type":"ping"}).
  bool Ping() {
    return Await([&](auto done) { ws_.async_ping({}, done); }) && !ec_;
  }

  // Sends a close frame with `code` and waits for the server's.
  void CloseWith(websocket::close_code code) {
    Await([&](auto done) { ws_.async_close(code, done); });
  }

  // Sends a close frame with `code` and ends the TCP connection at once with a reset, without
  // waiting for the server's close frame (a browser tab torn down mid-handshake).
  void CloseAndAbort(uint16_t code) {
    // A masked close frame with a zero mask: FIN + close opcode, mask bit + length 2.
    const unsigned char frame[] = {0x88,
                                   0x82,
                                   0,
                                   0,
                                   0,
                                   0,
                                   static_cast<unsigned char>(code >> 8),
                                   static_cast<unsigned char>(code & 0xff)};
    beast::error_code ec;
    net::write(ws_.next_layer(), net::buffer(frame), ec);
    Abort();
  }

  // Ends the TCP connection with a reset, no close frame (SO_LINGER 0).
  void Abort() {
    beast::error_code ec;
    ws_.next_layer().set_option(net::socket_base::linger(true, 0), ec);
    ws_.next_layer().close(ec);
  }

  // Sends a close frame and waits for the server's.
  void Close() {
    Await([&](auto done) { ws_.async_close(websocket::close_code::normal, done); });
  }

  // The peer's close code once a close frame was received, else 0.
  int close_code() const { return ws_.reason().code; }
  std::string close_reason() const {
    const auto& r = ws_.reason().reason;
    return std::string(r.data(), r.size());
  }
  const beast::error_code& error() const { return ec_; }
  bool timed_out() const { return timed_out_; }
  bool closed_by_peer() const { return ec_ == websocket::error::closed; }

  std::string Describe() const {
    if (timed_out_) return "timed out";
    std::string s = ec_ ? ec_.message() : std::string("ok");
    if (ec_ == websocket::error::closed) s += " (close code " + std::to_string(close_code()) + ")";
    return s;
  }

  tcp::socket& socket() { return ws_.next_layer(); }

 private:
  // Starts an operation with a completion handler and runs it to completion or the deadline.
  template <typename Start>
  bool Await(Start start, std::optional<std::chrono::milliseconds> timeout = {}) {
    bool done = false;
    ec_ = {};
    start([this, &done](beast::error_code ec, auto&&...) {
      ec_ = ec;
      done = true;
    });
    if (RunUntil(ioc_, &done, std::chrono::steady_clock::now() + timeout.value_or(timeout_))) {
      return true;
    }
    timed_out_ = true;
    beast::error_code ignored;
    ws_.next_layer().close(ignored);  // completes every pending operation (aborted)
    ioc_.restart();
    while (!done && ioc_.run_one() > 0) {
    }
    ec_ = net::error::timed_out;
    return false;
  }

  std::chrono::milliseconds timeout_;
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
  websocket::response_type response_;
  beast::error_code ec_;
  bool timed_out_ = false;
  std::string pending_payload_;
  bool write_done_ = true;
  beast::error_code write_ec_;
};

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or timed out)
  std::string body;
  http::fields headers;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One HTTP/1.1 request (with `body`, when not empty, as application/json unless `headers` say
// otherwise, and `headers`) on a new connection to
// 127.0.0.1:port. `source`: the local address to connect from (see ConnectOptions::source).
inline HttpResult HttpRequest(unsigned short port, http::verb verb, const std::string& target,
                              const std::string& body = "", std::chrono::milliseconds timeout = 5s,
                              const HttpHeaders& headers = {}, const std::string& source = "") {
  HttpResult result;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (!source.empty()) {
    beast::error_code ec;
    stream.socket().open(tcp::v4(), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(net::ip::make_address(source), 0), ec);
    if (ec) return result;
  }
  stream.expires_after(timeout);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "backline-e2e-test");
  req.keep_alive(false);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);  // may replace the type
  if (!body.empty()) {
    req.body() = body;
    req.prepare_payload();
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  stream.async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) return;
    http::async_write(stream, req, [&](beast::error_code ec2, std::size_t) {
      if (ec2) return;
      http::async_read(stream, buffer, res, [&](beast::error_code ec3, std::size_t) {
        if (ec3) return;
        result.status = static_cast<int>(res.result_int());
        result.body = res.body();
        result.headers = res.base();
      });
    });
  });
  ioc.run();  // the stream's expiry bounds every step
  return result;
}

inline HttpResult HttpGet(unsigned short port, const std::string& target,
                          std::chrono::milliseconds timeout = 5s, const std::string& source = "") {
  return HttpRequest(port, http::verb::get, target, "", timeout, {}, source);
}

inline HttpResult HttpGet(unsigned short port, const std::string& target,
                          const HttpHeaders& headers) {
  return HttpRequest(port, http::verb::get, target, "", 5s, headers);
}

}  // namespace backline::server::e2e

#endif  // BACKLINE_TESTS_SERVER_WS_CLIENT_H_
