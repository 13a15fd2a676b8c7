// backline_echo_server: the transport's own limit. A minimal Boost.Beast WebSocket server that
// sends every frame back unchanged, built by the same build as `backline serve` (same Boost,
// same flags) and shaped like it, so that the difference between the two is Backline's work:
//
//   - one io_context run by --threads N threads (0: one per core), a strand per connection
//     (the acceptor hands each socket its own strand, as server/server.cc's Listener does);
//   - the upgrade request is read with http::async_read first, as server/internal/
//     http_session.cc does, then handed to websocket::stream::async_accept(request);
//   - the same WebSocket options (suggested server timeouts, 60 s idle with keep-alive pings,
//     4 KiB message limit, text frames) and the same read/write loop as server/internal/
//     websocket_session.cc: a read is handled, its answer is pushed onto a queue of
//     shared_ptr<const std::string> written one at a time, and the next read is started while
//     fewer than 8 answers wait (TCP pushes back past that).
//
//   backline_echo_server [--address 127.0.0.1] [--port 0] [--threads 1]
//
// Prints "ready port=N" on stdout once it listens; stops on SIGINT/SIGTERM. Loopback-only
// addresses are accepted, like the load generator: this is a bench tool, not a service.
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

constexpr size_t kMaxMessageBytes = 4096;  // Backline's default limits.max_message_bytes
constexpr size_t kWriteQueueSoft = 8;      // limits.write_queue_soft
constexpr size_t kWriteQueueHard = 32;     // limits.write_queue_hard

class EchoSession : public std::enable_shared_from_this<EchoSession> {
 public:
  explicit EchoSession(beast::tcp_stream&& stream) : ws_(std::move(stream)) {}

  void Run(http::request<http::string_body> request) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeout.handshake_timeout = std::chrono::seconds(10);
    timeout.idle_timeout = std::chrono::seconds(60);
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.read_message_max(kMaxMessageBytes);
    ws_.async_accept(request,
                     beast::bind_front_handler(&EchoSession::OnAccept, shared_from_this()));
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return;
    DoRead();
  }

  void DoRead() {
    if (reading_ || closing_) return;
    reading_ = true;
    ws_.async_read(buffer_, beast::bind_front_handler(&EchoSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec) return;
    std::string payload = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    Send(std::move(payload));
    if (queue_.size() < kWriteQueueSoft) DoRead();
  }

  void Send(std::string frame) {
    if (closing_) return;
    if (queue_.size() >= kWriteQueueHard) {
      closing_ = true;
      ws_.async_close(websocket::close_code::try_again_later,
                      [self = shared_from_this()](beast::error_code) {});
      return;
    }
    queue_.push_back(std::make_shared<const std::string>(std::move(frame)));
    if (queue_.size() == 1) DoWrite();
  }

  void DoWrite() {
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&EchoSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) return;
    queue_.pop_front();
    if (!queue_.empty()) return DoWrite();
    if (!reading_ && !closing_) DoRead();
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool reading_ = false;
  bool closing_ = false;
};

// Reads the upgrade request (size-limited, with a timeout), then hands over to EchoSession.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  explicit HttpSession(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return;
    http::request<http::string_body> req = parser_->release();
    if (!websocket::is_upgrade(req)) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    std::make_shared<EchoSession>(std::move(stream_))->Run(std::move(req));
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor)
      : ioc_(ioc), acceptor_(std::move(acceptor)) {}
  void Run() { DoAccept(); }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<HttpSession>(std::move(socket))->Run();
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

[[noreturn]] void Usage(const std::string& why) {
  std::cerr << "backline_echo_server: " << why
            << "\nusage: backline_echo_server [--address 127.0.0.1] [--port 0] [--threads 1]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string address_text = "127.0.0.1";
  long port = 0, threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Usage(a + " needs a value (or is unknown)");
    const std::string v = argv[++i];
    char* end = nullptr;
    if (a == "--address") {
      address_text = v;
    } else if (a == "--port") {
      port = std::strtol(v.c_str(), &end, 10);
      if (*end || port < 0 || port > 65535) Usage("--port needs 0..65535");
    } else if (a == "--threads") {
      threads = std::strtol(v.c_str(), &end, 10);
      if (*end || threads < 0 || threads > 256) Usage("--threads needs 0..256");
    } else {
      Usage("unknown option '" + a + "'");
    }
  }
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  beast::error_code ec;
  const auto address = net::ip::make_address(address_text, ec);
  if (ec || !address.is_loopback()) Usage("--address must be a loopback address");

  net::io_context ioc;  // no concurrency hint, as ServerState::ioc
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "backline_echo_server: cannot listen: " << ec.message() << "\n";
    return 1;
  }
  const unsigned short bound = acceptor.local_endpoint().port();
  std::make_shared<Listener>(ioc, std::move(acceptor))->Run();
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  std::cout << "ready port=" << bound << std::endl;
  std::vector<std::thread> pool;
  for (long i = 1; i < threads; ++i) pool.emplace_back([&ioc]() { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
