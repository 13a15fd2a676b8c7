#include "server/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "server/internal/state.h"
#include "server/internal/websocket_session.h"

namespace backline::server {
namespace internal {

void Log(const char* level, const std::string& message) {
  static std::mutex mu;
  const std::time_t t = std::time(nullptr);
  char when[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard<std::mutex> lock(mu);
  std::cerr << when << " " << level << ": " << message << std::endl;
}

std::optional<LiveSession> ServerState::FindSession(const std::string& id) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.deleted) return std::nullopt;
  return it->second;
}

bool ServerState::SaveSession(const std::string& id, const LiveSession& s) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  LiveSession& stored = sessions_[id];
  if (stored.deleted) return false;
  const int64_t last_seq = std::max(stored.last_seq, s.last_seq);
  const double tokens = stored.tokens;
  const int64_t refill_ms = stored.refill_ms;
  stored = s;
  stored.last_seq = last_seq;
  // The rate belongs to the conversation, not to the connection saving it.
  stored.tokens = tokens;
  stored.refill_ms = refill_ms;
  BoundSessionsLocked();
  return true;
}

bool ServerState::IsDeletedSession(const std::string& id) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto it = sessions_.find(id);
  return it != sessions_.end() && it->second.deleted;
}

size_t ServerState::LiveSessions() {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  return sessions_.size();
}

void ServerState::BoundSessionsLocked() {
  const size_t cap = std::max<size_t>(1, config.limits.live_sessions);
  if (sessions_.size() <= cap) return;
  // Drop the idle-longest eighth at once, so the scan is paid once per cap/8 new sessions.
  std::vector<int64_t> updated;
  updated.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) updated.push_back(s.updated_ms);
  const size_t drop = std::max<size_t>(1, sessions_.size() - cap + cap / 8);
  std::nth_element(updated.begin(), updated.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                   updated.end());
  const int64_t cutoff = updated[drop - 1];
  size_t dropped = 0;
  for (auto it = sessions_.begin(); it != sessions_.end() && dropped < drop;) {
    if (it->second.updated_ms <= cutoff) {
      it = sessions_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
}

bool ServerState::ChargeSessionMessage(const std::string& id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return true;
  LiveSession& s = it->second;
  const double cap = config.limits.messages_per_minute;
  if (s.tokens < 0) {
    s.tokens = cap;
    s.refill_ms = now_ms;
  }
  s.tokens = std::min(cap, s.tokens + static_cast<double>(now_ms - s.refill_ms) * cap / 60000.0);
  s.refill_ms = now_ms;
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  return true;
}

int64_t ServerState::NextSeq(const std::string& id, int64_t known) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  LiveSession& stored = sessions_[id];
  stored.last_seq = std::max(stored.last_seq, known) + 1;
  if (stored.tokens < 0) {
    // Not kept until now (its first turn, or read back from the store): ChargeSessionMessage
    // let this message through uncounted, so it is counted here.
    stored.tokens = config.limits.messages_per_minute - 1.0;
    stored.refill_ms = NowMs();
  }
  return stored.last_seq;
}

void ServerState::QueueTurn(store::Store::TurnWrite write) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(outbox_mutex_);
    first = outbox_.empty();
    outbox_.push_back(std::move(write));
  }
  // Posted behind the handlers already queued (those of this round of ready sockets), so the
  // turns they produce go with this one. The state outlives its io_context's handlers.
  if (first) net::post(ioc, [this]() { FlushTurns(); });
}

void ServerState::FlushTurns() {
  // One flush at a time: with several network threads, a later flush must not reach the store
  // before an earlier one (a session's turns would be stored, and answered, out of order).
  std::lock_guard<std::mutex> in_order(flush_mutex_);
  std::vector<store::Store::TurnWrite> turns;
  {
    std::lock_guard<std::mutex> lock(outbox_mutex_);
    turns.swap(outbox_);
  }
  if (!turns.empty()) store->AppendTurns(std::move(turns));
}

size_t ServerState::QueuedTurns() {
  std::lock_guard<std::mutex> lock(outbox_mutex_);
  return outbox_.size();
}

void ServerState::AddStoreResult(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(results_mutex_);
  results_.push_back(std::move(work));
}

void ServerState::WakeForStoreResults() {
  {
    std::lock_guard<std::mutex> lock(results_mutex_);
    if (results_.empty() || results_posted_) return;
    results_posted_ = true;
  }
  net::post(ioc, [this]() { RunStoreResults(); });
}

void ServerState::RunStoreResults() {
  // One delivery at a time, for the same reason as FlushTurns: each piece of work posts to its
  // session's strand, and a later batch must not post before an earlier one has.
  std::lock_guard<std::mutex> in_order(delivery_mutex_);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(results_mutex_);
    work.swap(results_);
    results_posted_ = false;
  }
  for (auto& w : work) w();
}

void ServerState::ForgetSession(const std::string& id) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  sessions_.erase(id);
}

void ServerState::EndSession(const std::string& id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  LiveSession& stored = sessions_[id];
  stored = LiveSession{};
  stored.deleted = true;
  stored.updated_ms = now_ms;
}

void ServerState::ForgetIdleSessions(int64_t before_ms) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.updated_ms < before_ms ? sessions_.erase(it) : std::next(it);
  }
}

ServerState::Admission ServerState::AdmitConnection(const std::string& address,
                                                    ConnectionSlot* slot) {
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    if (connections_ >= config.limits.max_connections) return Admission::kTooMany;
    ++connections_;
  }
  // A trusted reverse proxy carries many clients on its connections: they are counted against
  // max_connections only (the proxy limits its own clients; the message and storage limits
  // still hold per forwarded client address). Its slot has no address to release.
  const bool proxy = !trusted_proxies.empty() &&
                     trusted_proxies.Contains(CanonicalAddress(address).value_or(address));
  if (!proxy && !address_limits->Connect(address, NowMs())) {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    --connections_;
    return Admission::kTooManyFromAddress;
  }
  *slot = ConnectionSlot(this, proxy ? std::string() : address);
  return Admission::kAdmitted;
}

void ServerState::ReleaseConnection(const std::string& address) {
  if (!address.empty()) address_limits->Disconnect(address);
  std::lock_guard<std::mutex> lock(connections_mutex_);
  if (connections_ > 0) --connections_;
}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    Release();
    state_ = std::exchange(other.state_, nullptr);
    address_ = std::move(other.address_);
  }
  return *this;
}

void ConnectionSlot::Release() {
  if (state_) state_->ReleaseConnection(address_);
  state_ = nullptr;
}

void ServerState::WarnLimited(const std::string& kind, const std::string& message) {
  const auto now = std::chrono::steady_clock::now();
  std::string summary;
  {
    std::lock_guard<std::mutex> lock(warn_mutex_);
    auto [it, fresh] = warn_windows_.try_emplace(kind);
    WarnWindow& w = it->second;
    if (!fresh && now - w.start < std::chrono::minutes(1)) {
      ++w.suppressed;
      return;
    }
    if (w.suppressed > 0) {
      summary = std::to_string(w.suppressed) + " more " + kind +
                " warning(s) in the minute before this one, not logged one by one";
    }
    w.start = now;
    w.suppressed = 0;
  }
  if (!summary.empty()) internal::Log("warn", summary);
  internal::Log("warn", message);
}

void ServerState::Register(const std::shared_ptr<WebSocketSession>& s) {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  // Drop the entries of sessions that are gone while we are here.
  std::erase_if(registry_, [](const std::weak_ptr<WebSocketSession>& w) { return w.expired(); });
  registry_.push_back(s);
}

std::vector<std::shared_ptr<WebSocketSession>> ServerState::Sessions() {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  std::vector<std::shared_ptr<WebSocketSession>> out;
  for (const auto& w : registry_) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

void ServerState::RegisterStream(const std::shared_ptr<ResponseStream>& s) {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  std::erase_if(streams_, [](const std::weak_ptr<ResponseStream>& w) { return w.expired(); });
  streams_.push_back(s);
}

std::vector<std::shared_ptr<ResponseStream>> ServerState::Streams() {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  std::vector<std::shared_ptr<ResponseStream>> out;
  for (const auto& w : streams_) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

void ServerState::RunInBackgroundAfter(std::chrono::milliseconds delay, std::function<void()> job) {
  // The timer's handler runs only while the io_context runs, so `this` (which owns the
  // io_context) is alive then; a handler still waiting when the server stops is destroyed
  // with the io_context, unrun.
  auto timer = std::make_shared<net::steady_timer>(ioc, delay);
  timer->async_wait([this, timer, job = std::move(job)](boost::system::error_code ec) mutable {
    if (ec || stopping) return;
    RunInBackground(std::move(job));
  });
}

void StartWebSocketSession(std::shared_ptr<ServerState> state, beast::tcp_stream stream,
                           http::request<http::string_body> request, std::string address,
                           std::string clinic, std::string resume_id, ConnectionSlot slot) {
  std::make_shared<WebSocketSession>(std::move(state), std::move(stream), std::move(address),
                                     std::move(clinic), std::move(resume_id), std::move(slot))
      ->Run(std::move(request));
}

void StartWebSocketSession(std::shared_ptr<ServerState> state,
                           beast::ssl_stream<beast::tcp_stream> stream,
                           http::request<http::string_body> request, std::string address,
                           std::string clinic, std::string resume_id, ConnectionSlot slot) {
  std::make_shared<WebSocketSession>(std::move(state), std::move(stream), std::move(address),
                                     std::move(clinic), std::move(resume_id), std::move(slot))
      ->Run(std::move(request));
}

// The TLS context for a certificate chain and key (PEM files). Every way the files can be
// wrong is a startup error that names the file: unreadable, not PEM, an encrypted key (the
// server cannot ask for a passphrase), a key that is not the certificate's.
engine::StatusOr<std::unique_ptr<net::ssl::context>> MakeTlsContext(const std::string& cert,
                                                                    const std::string& key) {
  using engine::Status;
  for (const auto& [path, what] : {std::pair{cert, "certificate"}, std::pair{key, "private key"}}) {
    std::ifstream in(path, std::ios::binary);
    if (!in || in.peek() == std::ifstream::traits_type::eof()) {
      const std::string why = !in ? std::strerror(errno) : "the file is empty";
      return Status::InvalidArgument("cannot read the TLS " + std::string(what) + " file " + path +
                                     ": " + why);
    }
  }
  // OpenSSL's queued error, without its "error:0A00...:" prefix noise when there is a reason.
  auto openssl_error = [](const beast::error_code& ec) {
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    return reason ? std::string(reason) : ec.message();
  };
  auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression |
                   net::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // A passphrase-protected key would make OpenSSL prompt on the terminal; refuse it instead.
  ctx->set_password_callback(
      [](std::size_t, net::ssl::context::password_purpose) { return std::string(); });
  beast::error_code ec;
  ERR_clear_error();
  ctx->use_certificate_chain_file(cert, ec);
  if (ec) {
    return Status::InvalidArgument("the TLS certificate file " + cert +
                                   " is not a PEM certificate: " + openssl_error(ec));
  }
  ctx->use_private_key_file(key, net::ssl::context::pem, ec);
  if (ec) {
    const std::string why = openssl_error(ec);
    if (why.find("mismatch") != std::string::npos) {
      return Status::InvalidArgument("the TLS private key " + key +
                                     " does not match the certificate " + cert);
    }
    return Status::InvalidArgument("the TLS private key file " + key +
                                   " is not an unencrypted PEM private key: " + why);
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("the TLS private key " + key +
                                   " does not match the certificate " + cert);
  }
  return ctx;
}

// Connections refused at accept that may be answered at once (429 or 503 to their request);
// past this many, a refused connection is closed without an answer, so refusals cannot hold
// descriptors either. Counted in the descriptor budget (ClampToDescriptors).
constexpr int kMaxRefusing = 64;
// Descriptors kept for everything but connections: the listener, the database and its WAL
// and shared memory on each store connection, the epoll and timer descriptors, standard
// streams, content files read on reload, the TLS files.
constexpr int kDescriptorHeadroom = 64;
// After accept fails for lack of descriptors (EMFILE, ENFILE), the listener waits this long
// before trying again: the pending connection stays in the backlog, so retrying at once
// would spin a core on the same error.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

// Accepts connections, each on its own strand, counts them (AdmitConnection) and hands them
// to an HTTP session, or to a refusal. The listener's own handlers run on its strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::shared_ptr<ServerState> state, tcp::acceptor acceptor)
      : state_(std::move(state)),
        strand_(net::make_strand(state_->ioc)),
        acceptor_(std::move(acceptor)),
        backoff_(strand_) {}

  void Run() {
    net::dispatch(strand_, [self = shared_from_this()]() { self->DoAccept(); });
  }
  void Stop() {
    net::post(strand_, [self = shared_from_this()]() {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->backoff_.cancel();
    });
  }

 private:
  void DoAccept() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(
        net::make_strand(state_->ioc),
        net::bind_executor(strand_,
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this())));
  }
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open ||
        ec == boost::system::errc::too_many_files_open_in_system ||
        ec == net::error::no_buffer_space || ec == net::error::no_memory) {
      state_->metrics.accept_backoffs.fetch_add(1);
      state_->WarnLimited("accept", "accept failed (" + ec.message() + "): waiting " +
                                        std::to_string(kAcceptBackoff.count()) +
                                        " ms before accepting again");
      backoff_.expires_after(kAcceptBackoff);
      backoff_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->DoAccept();
      });
      return;
    }
    if (!ec) Admit(std::move(socket));
    DoAccept();
  }
  void Admit(tcp::socket socket) {
    beast::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    const std::string address = endpoint.address().to_string();
    ConnectionSlot slot;
    const auto admission = state_->AdmitConnection(address, &slot);
    if (admission == ServerState::Admission::kAdmitted) {
      StartHttpSession(state_, std::move(socket), std::move(slot));
      return;
    }
    state_->metrics.connections_refused.fetch_add(1);
    if (state_->tls || state_->refusing.fetch_add(1) >= kMaxRefusing) {
      if (!state_->tls) state_->refusing.fetch_sub(1);
      socket.close(ec);
      return;
    }
    StartRefusedSession(state_, std::move(socket),
                        admission == ServerState::Admission::kTooMany
                            ? http::status::service_unavailable
                            : http::status::too_many_requests);
  }

  std::shared_ptr<ServerState> state_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
};

// Raises the soft limit on open descriptors to the hard one, and keeps max_connections under
// what is left once the headroom and the refusals are set aside: running out of descriptors
// would refuse everyone, the running server's own files included.
void ClampToDescriptors(Config& config) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    // An infinite hard limit cannot be the soft one on Linux (fs.nr_open caps it).
    if (raised.rlim_cur == RLIM_INFINITY) raised.rlim_cur = 1 << 20;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      Log("info", "raised the open-file limit from " + std::to_string(rl.rlim_cur) + " to " +
                      std::to_string(raised.rlim_cur));
      rl = raised;
    }
  }
  if (rl.rlim_cur == RLIM_INFINITY) return;
  const int64_t budget = static_cast<int64_t>(rl.rlim_cur) - kDescriptorHeadroom - kMaxRefusing;
  if (config.limits.max_connections <= budget) return;
  const int clamped = static_cast<int>(std::max<int64_t>(budget, 4));
  Log("warn", "max_connections " + std::to_string(config.limits.max_connections) +
                  " is more than the open-file limit allows (" + std::to_string(rl.rlim_cur) +
                  " descriptors, " + std::to_string(kDescriptorHeadroom + kMaxRefusing) +
                  " kept for the server itself): clamped to " + std::to_string(clamped) +
                  "; raise the limit (ulimit -n, LimitNOFILE=) to allow more");
  config.limits.max_connections = clamped;
}

}  // namespace internal

using internal::Log;
using internal::ServerState;

namespace {

std::string FirstExisting(const std::vector<std::string>& candidates) {
  std::error_code ec;
  for (const auto& c : candidates) {
    if (!c.empty() && std::filesystem::is_directory(c, ec)) return c;
  }
  return candidates.empty() ? std::string() : candidates.back();
}

}  // namespace

Server::Server(std::shared_ptr<internal::ServerState> state) : state_(std::move(state)) {}

Server::~Server() {
  // The listener holds the state; break the cycle.
  state_->listener.reset();
}

engine::StatusOr<std::unique_ptr<Server>> Server::Create(Config config,
                                                         std::unique_ptr<store::Store> store) {
  if (engine::Status s = config.Validate(); !s.ok()) return s;
  auto state = std::make_shared<ServerState>();
  state->config = std::move(config);
  if (auto proxies = TrustedProxies::Parse(state->config.trusted_proxies); proxies.ok()) {
    state->trusted_proxies = std::move(proxies).value();
  } else {
    return proxies.status();
  }
  internal::ClampToDescriptors(state->config);
  {
    const Limits& l = state->config.limits;
    internal::AddressLimits::Settings settings;
    settings.connections = l.connections_per_address;
    settings.messages_per_minute = l.address_messages_per_minute;
    settings.turns_per_day = l.address_turns_per_day;
    settings.bytes_per_day =
        static_cast<int64_t>(std::min<size_t>(l.address_bytes_per_day, INT64_MAX));
    settings.unanswered_per_day = l.address_unanswered_per_day;
    settings.feedback_per_day = l.address_feedback_per_day;
    settings.capacity = l.address_table_size;
    state->address_limits = std::make_unique<internal::AddressLimits>(settings);
  }
  if (state->config.tls()) {
    auto tls = internal::MakeTlsContext(state->config.tls_cert, state->config.tls_key);
    if (!tls.ok()) return tls.status();
    state->tls = std::move(tls).value();
  }
  state->store = std::move(store);
  // Raw: the store is the state's own member, and is destroyed before it.
  state->store->SetAfterCallbacks([raw = state.get()]() { raw->WakeForStoreResults(); });
  {
    WebhookSenderOptions options;
    options.ca_file = state->config.webhook_ca_file;
    options.retry.base_ms = state->config.webhook_retry_base_ms;
    options.retry.max_ms = state->config.webhook_retry_max_ms;
    // The endpoints of the content served now: SIGHUP applies a changed URL or secret to the
    // next attempt. Raw: the sender is the state's own member, stopped before it goes.
    auto sender = WebhookSender::Create(
        state->store.get(),
        [raw = state.get()](const std::string& clinic, const std::string& endpoint) {
          const auto content = raw->content();
          return content ? FindWebhook(content->clinics, clinic, endpoint) : std::nullopt;
        },
        options, &state->metrics);
    if (!sender.ok()) return sender.status();
    state->webhooks = std::move(sender).value();
  }
  const content::ContentPaths shipped = content::DefaultContentPaths();
  content::ContentPaths paths{
      state->config.knowledge.empty() ? shipped.knowledge : state->config.knowledge,
      state->config.dialogs.empty() ? shipped.dialogs : state->config.dialogs};
  if (state->config.web.empty()) {
    const std::string beside =
        (std::filesystem::path(shipped.knowledge).parent_path() / "web").string();
    state->web_root = FirstExisting({beside, "web"});
  } else {
    state->web_root = state->config.web;
  }
  auto content = content::LoadContent(paths);
  if (!content.ok()) return content.status();
  state->set_content(std::move(content).value());
  state->set_static_files(StaticFiles::Load(state->web_root));
  state->config.knowledge = paths.knowledge;
  state->config.dialogs = paths.dialogs;

  namespace net = internal::net;
  using internal::tcp;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(state->config.address, ec);
  if (ec) return engine::Status::InvalidArgument("bad address '" + state->config.address + "'");
  tcp::acceptor acceptor(state->ioc);
  const tcp::endpoint endpoint(address, state->config.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return engine::Status::IOError("cannot listen on " + state->config.address + ":" +
                                   std::to_string(state->config.port) + ": " + ec.message());
  }
  const unsigned short port = acceptor.local_endpoint().port();
  state->listener = std::make_shared<internal::Listener>(state, std::move(acceptor));
  state->port = port;
  state->ready = true;
  return std::unique_ptr<Server>(new Server(state));
}

unsigned short Server::port() const { return state_->port; }

void Server::AddRoute(std::shared_ptr<Route> route) { state_->AddRoute(std::move(route)); }

std::shared_ptr<RouteHost> Server::host() const { return state_; }

void Server::Stop() {
  auto state = state_;
  if (state->stopping.exchange(true)) return;
  internal::net::post(state->ioc, [state]() {
    if (state->listener) state->listener->Stop();
    for (auto& s : state->Sessions()) {
      s->Close(internal::websocket::close_code::going_away, "server shutting down");
    }
    for (auto& s : state->Streams()) s->End();
    // Wait for the close handshakes and the replies still being committed, at most 5 s.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto timer = std::make_shared<internal::net::steady_timer>(state->ioc);
    auto check = std::make_shared<std::function<void()>>();
    *check = [state, timer, deadline, check]() {
      if ((state->Sessions().empty() && state->QueuedTurns() == 0 &&
           state->store->QueueDepth() == 0) ||
          std::chrono::steady_clock::now() >= deadline) {
        state->ioc.stop();
        *check = nullptr;  // break the self-reference
        return;
      }
      timer->expires_after(std::chrono::milliseconds(20));
      timer->async_wait([check](boost::system::error_code) {
        if (*check) (*check)();
      });
    };
    (*check)();
  });
}

engine::Status Server::Reload() { return internal::ReloadContent(*state_).status(); }

namespace internal {

std::shared_ptr<const StaticFile> ServerState::FindWebFile(const std::string& path) const {
  auto files = static_files();
  const StaticFile* f = files ? files->Find(path) : nullptr;
  if (!f) return nullptr;
  return std::shared_ptr<const StaticFile>(std::move(files), f);  // keeps the set alive
}

engine::StatusOr<content::ContentStatus> ServerState::ReloadContent() {
  return internal::ReloadContent(*this);
}

void ServerState::Log(const char* level, const std::string& message) const {
  internal::Log(level, message);
}

void ServerState::AddRoute(std::shared_ptr<Route> route) {
  std::lock_guard<std::mutex> lock(routes_mutex_);
  routes_.push_back(std::move(route));
}

std::shared_ptr<Route> ServerState::FindRoute(std::string_view path) const {
  std::lock_guard<std::mutex> lock(routes_mutex_);
  for (const auto& r : routes_) {
    if (r->Matches(path)) return r;
  }
  return nullptr;
}

engine::StatusOr<content::ContentStatus> ReloadContent(ServerState& state) {
  // No reload failure of any kind may end the process: the reload runs on a
  // detached thread (SIGHUP) or a request's, where an escaping exception
  // (bad_alloc on a pathological file, anything a loader did not expect)
  // would call std::terminate. The previous content keeps serving.
  try {
    return ReloadContentOrThrow(state);
  } catch (const std::exception& e) {
    state.metrics.reloads_failed.fetch_add(1);
    const std::string msg =
        std::string("reload refused, still serving the previous content: ") + e.what();
    Log("error", msg);
    return engine::Status::DataError(msg);
  } catch (...) {
    state.metrics.reloads_failed.fetch_add(1);
    const std::string msg = "reload refused, still serving the previous content: unknown error";
    Log("error", msg);
    return engine::Status::DataError(msg);
  }
}

engine::StatusOr<content::ContentStatus> ReloadContentOrThrow(ServerState& state) {
  ServerState* const state_ = &state;
  std::lock_guard<std::mutex> reloading(state_->reload_mutex);
  std::vector<engine::Diagnostic> diags;
  auto loaded = content::LoadContent(
      content::ContentPaths{state_->config.knowledge, state_->config.dialogs}, &diags);
  if (!loaded.ok()) {
    state_->metrics.reloads_failed.fetch_add(1);
    std::string msg = "reload refused, still serving the previous content:";
    for (const auto& d : diags) {
      if (d.severity == engine::Diagnostic::Severity::kError) msg += "\n  " + d.ToString();
    }
    Log("error", msg);
    return engine::Status::DataError(msg);
  }
  const std::shared_ptr<const content::Content> content = std::move(loaded).value();
  state_->set_content(content);
  state_->set_static_files(StaticFiles::Load(state_->web_root));
  state_->metrics.reloads_ok.fetch_add(1);
  Log("info", "content reloaded: " + std::to_string(content->status.entries) +
                  " FAQ entries, version " + content->status.version.substr(0, 12));
  return content->status;
}

}  // namespace internal

int Server::Run() {
  namespace net = internal::net;
  auto state = state_;
  state->listener->Run();
  state->webhooks->Start();

  net::signal_set signals(state->ioc, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [this, &signals, &on_signal](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      // Compile off the network threads, on the background thread (after any curator edit
      // already queued there); the swap itself is a pointer under a mutex.
      state_->RunInBackground([state = state_]() { internal::ReloadContent(*state); });
      signals.async_wait(on_signal);
      return;
    }
    Log("info", "shutting down");
    Stop();
  };
  signals.async_wait(on_signal);

  // Retention: delete old turns per clinic, and forget idle sessions held in memory.
  auto retention = std::make_shared<net::steady_timer>(state->ioc);
  std::function<void()> schedule;
  schedule = [state, retention, &schedule]() {
    retention->expires_after(
        std::chrono::minutes(std::max(1, state->config.retention_check_minutes)));
    retention->async_wait([state, &schedule](const boost::system::error_code& ec) {
      if (ec || state->stopping) return;
      const int64_t now = NowMs();
      if (auto c = state->content()) {
        for (const auto& clinic : c->clinics) {
          state->store->Purge(clinic.id, now - int64_t{clinic.retention_days} * 86400000,
                              [](engine::StatusOr<int64_t> deleted) {
                                if (!deleted.ok()) {
                                  Log("error",
                                      "retention purge failed: " + deleted.status().ToString());
                                }
                              });
        }
      }
      state->ForgetIdleSessions(now - int64_t{state->config.limits.session_resume_hours} * 3600000);
      schedule();
    });
  };
  schedule();

  int threads = state->config.threads > 0 ? state->config.threads
                                          : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  Log("info", std::string("listening on ") + (state->tls ? "https://" : "http://") +
                  state->config.address + ":" + std::to_string(port()) + " with " +
                  std::to_string(threads) + " thread(s)");
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([state]() { state->ioc.run(); });
  state->ioc.run();
  for (auto& t : pool) t.join();
  // Jobs already posted (a reload, a curator's edit) finish; their replies are posted to the
  // stopped io_context and run or dropped by the poll below.
  state->background.join();
  retention->cancel();
  state->FlushTurns();
  // Attempts in flight are cut and left pending (made again after a restart); the outcomes
  // already known are recorded before the store's last flush.
  state->webhooks->Stop();
  state->store->Flush();
  // Stop() may stop the io_context before the acceptor's close (posted by Listener::Stop)
  // has run. Run what is due now -- that close, the aborted accept, the cancelled timer --
  // so the port is released and those handlers let go of the state.
  state->ioc.restart();
  state->ioc.poll();
  Log("info", "stopped; every acknowledged turn is stored");
  return 0;
}

}  // namespace backline::server
