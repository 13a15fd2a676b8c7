// WebhookSender (server/webhooks.h): the outbox delivered over Beast, HTTP or HTTPS, on the
// sender's own io_context and thread. Everything below runs on that one thread, so the
// sender's bookkeeping needs no lock; the store's callbacks are posted back to it.
#include <openssl/ssl.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "server/internal/state.h"
#include "server/util.h"
#include "server/webhooks.h"

#include <openssl/x509v3.h>

namespace backline::server {
namespace {

using internal::Log;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// One POST to one endpoint, from resolving its host to reading the response's status. Calls
// `done` exactly once: with the result, or with `aborted` when Cancel() cut it.
class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  using Done = std::function<void(AttemptResult, bool aborted)>;

  Attempt(net::io_context& ioc, ssl::context& ctx, const engine::WebhookEndpoint& ep,
          http::request<http::string_body> request, const WebhookSenderOptions& options, Done done)
      : resolver_(ioc),
        stream_(ioc, ctx),
        deadline_(ioc),
        endpoint_(ep),
        request_(std::move(request)),
        options_(options),
        done_(std::move(done)) {
    parser_.body_limit(options_.max_response_bytes);
  }

  void Run() {
    // A bound on the whole attempt, resolving included (async_resolve has no timeout).
    deadline_.expires_after(
        std::chrono::milliseconds(options_.connect_timeout_ms + options_.response_timeout_ms));
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Finish({0, "timed out"}, false);
    });
    resolver_.async_resolve(endpoint_.host, endpoint_.port,
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        tcp::resolver::results_type results) {
                              self->OnResolve(ec, std::move(results));
                            });
  }

  void Cancel() { Finish({0, "cancelled"}, true); }

 private:
  void OnResolve(boost::system::error_code ec, tcp::resolver::results_type results) {
    if (ec) return Fail(ec, "resolving the host");
    Tcp().expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
    Tcp().async_connect(
        results, [self = shared_from_this()](boost::system::error_code e, const tcp::endpoint&) {
          self->OnConnect(e);
        });
  }

  void OnConnect(boost::system::error_code ec) {
    if (ec) return Fail(ec, "connecting");
    if (!endpoint_.tls) return DoWrite();
    SSL* ssl = stream_.native_handle();
    if (IsIpLiteral(endpoint_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, endpoint_.host.c_str());
      SSL_set1_host(ssl, endpoint_.host.c_str());
    }
    stream_.async_handshake(ssl::stream_base::client,
                            [self = shared_from_this()](boost::system::error_code e) {
                              if (e) return self->Fail(e, "TLS handshake");
                              self->DoWrite();
                            });
  }

  void DoWrite() {
    Tcp().expires_after(std::chrono::milliseconds(options_.response_timeout_ms));
    auto on_write = [self = shared_from_this()](boost::system::error_code ec, size_t) {
      self->OnWrite(ec);
    };
    if (endpoint_.tls) {
      http::async_write(stream_, request_, std::move(on_write));
    } else {
      http::async_write(Tcp(), request_, std::move(on_write));
    }
  }

  void OnWrite(boost::system::error_code ec) {
    if (ec) return Fail(ec, "sending");
    auto on_read = [self = shared_from_this()](boost::system::error_code e, size_t) {
      self->OnRead(e);
    };
    if (endpoint_.tls) {
      http::async_read(stream_, buffer_, parser_, std::move(on_read));
    } else {
      http::async_read(Tcp(), buffer_, parser_, std::move(on_read));
    }
  }

  void OnRead(boost::system::error_code ec) {
    // A status line and headers are enough: a body over the limit does not undo a 2xx.
    if (ec && !(ec == http::error::body_limit && parser_.is_header_done())) {
      return Fail(ec, "reading the response");
    }
    Finish({static_cast<int>(parser_.get().result_int()), ""}, false);
  }

  void Fail(boost::system::error_code ec, const char* during) {
    if (ec == beast::error::timeout) return Finish({0, std::string("timed out ") + during}, false);
    if (ec == net::error::operation_aborted) return;  // Finish already ran (deadline, Cancel)
    Finish({0, std::string(during) + ": " + ec.message()}, false);
  }

  void Finish(AttemptResult result, bool aborted) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
    Done done = std::move(done_);
    done(std::move(result), aborted);
  }

  beast::tcp_stream& Tcp() { return stream_.next_layer(); }

  tcp::resolver resolver_;
  beast::ssl_stream<beast::tcp_stream> stream_;  // plain http uses its next layer only
  net::steady_timer deadline_;
  engine::WebhookEndpoint endpoint_;
  http::request<http::string_body> request_;
  const WebhookSenderOptions& options_;
  Done done_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool finished_ = false;
};

std::string HostHeader(const engine::WebhookEndpoint& ep) {
  const std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  const bool default_port = ep.port == (ep.tls ? "443" : "80");
  return default_port ? host : host + ":" + ep.port;
}

}  // namespace

class WebhookSender::Impl {
 public:
  Impl(store::Store* store, WebhookLookup lookup, WebhookSenderOptions options, Metrics* metrics)
      : store_(store),
        lookup_(std::move(lookup)),
        options_(std::move(options)),
        metrics_(metrics),
        ssl_(ssl::context::tls_client),
        poll_timer_(ioc_),
        stats_timer_(ioc_),
        rng_(std::random_device{}()) {}

  engine::Status Init() {
    ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (options_.ca_file.empty()) {
      ssl_.set_default_verify_paths(ec);
    } else {
      ssl_.load_verify_file(options_.ca_file, ec);
    }
    if (ec) {
      return engine::Status::IOError(
          "webhooks: cannot load the trusted certificates" +
          (options_.ca_file.empty() ? std::string() : " from " + options_.ca_file) + ": " +
          ec.message());
    }
    ssl_.set_verify_mode(ssl::verify_peer);
    return engine::Status::Ok();
  }

  void Start() {
    if (started_.exchange(true)) return;
    net::post(ioc_, [this]() {
      SchedulePoll();
      ReadStats();
      Poll();
    });
    thread_ = std::thread([this]() { ioc_.run(); });
  }

  void Wake() {
    net::post(ioc_, [this]() { Poll(); });
  }

  void Stop() {
    if (!started_ || stopped_.exchange(true)) return;
    net::post(ioc_, [this]() {
      stopping_ = true;
      poll_timer_.cancel();
      stats_timer_.cancel();
      // Cancelling calls each attempt's callback, which leaves attempts_: copy it first.
      std::vector<std::weak_ptr<Attempt>> cut;
      for (auto& [id, weak] : attempts_) cut.push_back(weak);
      for (auto& weak : cut) {
        if (auto a = weak.lock()) a->Cancel();
      }
    });
    // run() returns once the cancelled attempts have ended and every store callback still
    // due (each holds a work guard) has been posted back and run.
    thread_.join();
  }

  int64_t attempts_started() const { return attempts_started_.load(); }

 private:
  using Key = std::pair<int64_t, std::string>;  // event id, endpoint

  static std::string EndpointKey(const store::DeliveryRecord& d) {
    return d.clinic + "/" + d.endpoint;
  }

  void SchedulePoll() {
    if (stopping_) return;
    poll_timer_.expires_after(
        std::chrono::milliseconds(std::max<int64_t>(options_.poll_interval_ms, 1)));
    poll_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      Poll();
      SchedulePoll();
    });
  }

  void ReadStats() {
    if (stopping_) return;
    store_->Outbox(
        [this, guard = net::make_work_guard(ioc_)](engine::StatusOr<store::OutboxStats> stats) {
          net::post(ioc_, [this, stats = std::move(stats)]() {
            if (stats.ok() && metrics_ != nullptr) {
              metrics_->webhook_outbox_pending.store(stats.value().pending);
              metrics_->webhook_outbox_failed.store(stats.value().failed);
              metrics_->webhook_outbox_oldest_ms.store(stats.value().oldest_pending_ms);
            }
            if (stopping_) return;
            stats_timer_.expires_after(
                std::chrono::milliseconds(std::max<int64_t>(options_.outbox_stats_interval_ms, 1)));
            stats_timer_.async_wait([this](boost::system::error_code ec) {
              if (!ec) ReadStats();
            });
          });
        });
  }

  void Poll() {
    if (stopping_) return;
    if (polling_) {
      poll_again_ = true;
      return;
    }
    if (in_flight_.size() >= options_.max_in_flight) return;  // a completion polls again
    polling_ = true;
    // The deliveries in flight are still pending and may come back: ask for that many more.
    store_->DueDeliveries(
        NowMs(), options_.max_in_flight + in_flight_.size(),
        std::max<size_t>(options_.per_endpoint_in_flight, 1),
        [this, guard = net::make_work_guard(ioc_)](
            engine::StatusOr<std::vector<store::DeliveryRecord>> due) {
          net::post(ioc_, [this, due = std::move(due)]() mutable { OnDue(std::move(due)); });
        });
  }

  void OnDue(engine::StatusOr<std::vector<store::DeliveryRecord>> due) {
    polling_ = false;
    if (!due.ok()) {
      Log("error", "webhooks: reading the outbox failed: " + due.status().ToString());
    } else {
      for (auto& d : due.value()) {
        if (stopping_ || in_flight_.size() >= options_.max_in_flight) break;
        if (in_flight_.count(Key{d.event_id, d.endpoint})) continue;
        if (per_endpoint_[EndpointKey(d)] >= options_.per_endpoint_in_flight) continue;
        StartAttempt(std::move(d));
      }
    }
    if (poll_again_) {
      poll_again_ = false;
      Poll();
    }
  }

  void StartAttempt(store::DeliveryRecord d) {
    in_flight_.insert(Key{d.event_id, d.endpoint});
    ++per_endpoint_[EndpointKey(d)];
    attempts_started_.fetch_add(1);
    const std::optional<engine::WebhookEndpoint> ep = lookup_(d.clinic, d.endpoint);
    if (!ep) {
      Record(std::move(d), {0, "the clinic file no longer has this webhook"});
      return;
    }
    http::request<http::string_body> req{http::verb::post, ep->target, 11};
    req.set(http::field::host, HostHeader(*ep));
    req.set(http::field::user_agent, "Backline-Webhooks/1");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::connection, "close");
    req.set("Backline-Event-Id", d.key);
    req.set("Idempotency-Key", d.key);
    req.set("Backline-Event-Type", d.type);
    req.set("Backline-Signature", WebhookSignature(ep->secret, NowMs() / 1000, d.body));
    req.body() = d.body;
    req.prepare_payload();
    auto attempt = std::make_shared<Attempt>(
        ioc_, ssl_, *ep, std::move(req), options_,
        [this, d, id = next_attempt_id_](AttemptResult result, bool aborted) mutable {
          attempts_.erase(id);
          if (aborted) {
            // Cut by Stop(): not recorded, so it is made again after a restart.
            Release(d);
            return;
          }
          Record(std::move(d), std::move(result));
        });
    attempts_[next_attempt_id_++] = attempt;
    attempt->Run();
  }

  void Record(store::DeliveryRecord d, AttemptResult result) {
    const store::DeliveryRecord after = AfterAttempt(d, result, NowMs(), options_.retry, rng_());
    if (metrics_ != nullptr) {
      if (after.status == "delivered") {
        metrics_->webhook_delivered.fetch_add(1);
      } else if (after.status == "failed") {
        metrics_->webhook_failed.fetch_add(1);
      } else {
        metrics_->webhook_retries.fetch_add(1);
      }
    }
    if (after.status != "delivered") {
      // The clinic, endpoint, key and what went wrong; never the body, URL or secret.
      Log(after.status == "failed" ? "error" : "warn",
          "webhook " + after.clinic + "/" + after.endpoint + " event " + after.key + " attempt " +
              std::to_string(after.attempts) + ": " + after.last_error +
              (after.status == "failed"
                   ? "; given up"
                   : "; retry in " +
                         std::to_string((after.next_attempt_ms - after.last_attempt_ms) / 1000) +
                         " s"));
    }
    store_->UpdateDelivery(after, [this, d, guard = net::make_work_guard(ioc_)](engine::Status st) {
      net::post(ioc_, [this, d, st]() {
        if (!st.ok()) {
          Log("error", "webhooks: recording an attempt for " + d.clinic + "/" + d.endpoint +
                           " failed: " + st.ToString());
        }
        Release(d);
        Poll();
      });
    });
  }

  // The delivery is no longer in flight: a poll may hand it out again.
  void Release(const store::DeliveryRecord& d) {
    in_flight_.erase(Key{d.event_id, d.endpoint});
    if (--per_endpoint_[EndpointKey(d)] == 0) per_endpoint_.erase(EndpointKey(d));
  }

  store::Store* store_;
  WebhookLookup lookup_;
  const WebhookSenderOptions options_;
  Metrics* metrics_;
  net::io_context ioc_;
  ssl::context ssl_;
  net::steady_timer poll_timer_;
  net::steady_timer stats_timer_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> attempts_started_{0};
  // On the sender's thread only:
  bool stopping_ = false;
  bool polling_ = false;
  bool poll_again_ = false;
  std::set<Key> in_flight_;
  std::map<std::string, size_t> per_endpoint_;
  std::map<uint64_t, std::weak_ptr<Attempt>> attempts_;  // in flight, to cut on Stop()
  uint64_t next_attempt_id_ = 0;
  std::mt19937_64 rng_;
};

engine::StatusOr<std::unique_ptr<WebhookSender>> WebhookSender::Create(store::Store* store,
                                                                       WebhookLookup lookup,
                                                                       WebhookSenderOptions options,
                                                                       Metrics* metrics) {
  auto impl = std::make_unique<Impl>(store, std::move(lookup), std::move(options), metrics);
  if (engine::Status st = impl->Init(); !st.ok()) return st;
  return std::unique_ptr<WebhookSender>(new WebhookSender(std::move(impl)));
}

WebhookSender::WebhookSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookSender::~WebhookSender() { Stop(); }
void WebhookSender::Start() { impl_->Start(); }
void WebhookSender::Wake() { impl_->Wake(); }
void WebhookSender::Stop() { impl_->Stop(); }
int64_t WebhookSender::attempts_started() const { return impl_->attempts_started(); }

}  // namespace backline::server
