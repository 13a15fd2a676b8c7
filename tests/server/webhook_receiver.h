// A webhook receiver for tests: a small synchronous Beast HTTP(S) server on 127.0.0.1 that
// answers each POST as the test says and keeps every request it read; and FreePort.
//
// Thread safety: its accessors may be called from any thread.
#ifndef BACKLINE_TESTS_SERVER_WEBHOOK_RECEIVER_H_
#define BACKLINE_TESTS_SERVER_WEBHOOK_RECEIVER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>

namespace backline::server::e2e {

// A webhook receiver: answers each POST as `behaviour` says (a status, or hang until the
// receiver is destroyed), one thread per connection, and keeps every request it read.
class Receiver {
 public:
  struct Answer {
    int status = 200;
    bool hang = false;
  };
  using Behaviour = std::function<Answer(int nth)>;  // nth: 0, 1, 2 ... requests so far

  // With `tls`, it speaks HTTPS with that context's certificate.
  explicit Receiver(Behaviour behaviour, unsigned short port = 0,
                    boost::asio::ssl::context* tls = nullptr)
      : behaviour_(std::move(behaviour)), acceptor_(ioc_), tls_(tls) {
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this]() { AcceptLoop(); });
  }

  ~Receiver() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    // Wake the blocking accept with a connection of our own.
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket wake(ioc_);
    wake.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_),
                 ec);
    accept_thread_.join();
    for (auto& t : connections_) t.join();
  }

  unsigned short port() const { return port_; }

  std::vector<boost::beast::http::request<boost::beast::http::string_body>> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  // The most connections that were being answered (or hung) at once.
  int max_concurrent() const { return max_concurrent_.load(); }
  int hanging() const { return hanging_.load(); }

  void set_behaviour(Behaviour b) {
    std::lock_guard<std::mutex> lock(mu_);
    behaviour_ = std::move(b);
  }

 private:
  void AcceptLoop() {
    for (;;) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      if (ec) continue;
      connections_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(boost::asio::ip::tcp::socket socket) {
    const int now = ++concurrent_;
    int seen = max_concurrent_.load();
    while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
    }
    boost::system::error_code ec;
    if (tls_ != nullptr) {
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream(socket, *tls_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (!ec) Exchange(stream);
    } else {
      Exchange(socket);
    }
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    --concurrent_;
  }

  template <typename Stream>
  void Exchange(Stream& stream) {
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::system::error_code ec;
    boost::beast::http::read(stream, buffer, req, ec);
    if (!ec) {
      Answer answer;
      {
        std::unique_lock<std::mutex> lock(mu_);
        answer = behaviour_(static_cast<int>(requests_.size()));
        requests_.push_back(req);
        if (answer.hang) {
          ++hanging_;
          cv_.wait(lock, [this]() { return stopping_; });
          --hanging_;
        }
      }
      if (!answer.hang) {
        boost::beast::http::response<boost::beast::http::string_body> res{
            static_cast<boost::beast::http::status>(answer.status), 11};
        if (answer.status != 204) res.body() = "ok";  // a 204 has no body
        res.prepare_payload();
        boost::beast::http::write(stream, res, ec);
      }
    }
  }

  boost::asio::io_context ioc_;
  Behaviour behaviour_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ssl::context* tls_;
  unsigned short port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> connections_;
  std::vector<boost::beast::http::request<boost::beast::http::string_body>> requests_;
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> hanging_{0};
};

// A port with nothing listening on it (bound, then closed).
inline unsigned short FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace backline::server::e2e

#endif  // BACKLINE_TESTS_SERVER_WEBHOOK_RECEIVER_H_
