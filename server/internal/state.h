// What the listener, HTTP sessions and WebSocket sessions share. Server-private.
#ifndef BACKLINE_SERVER_INTERNAL_STATE_H_
#define BACKLINE_SERVER_INTERNAL_STATE_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>

#include "content/content.h"
#include "engine/dialogue.h"
#include "server/client_address.h"
#include "server/config.h"
#include "server/handoff.h"
#include "server/internal/address_limits.h"
#include "server/internal/throttled_log.h"
#include "server/metrics.h"
#include "server/routes.h"
#include "server/static_files.h"
#include "server/util.h"
#include "server/webhooks.h"
#include "store/store.h"

namespace backline::server::internal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Logs one line to stderr ("2026-11-26T21:00:00Z warn: ..."). Never pass patient text unless
// the configuration allows it (ServerState::log_patient_text).
void Log(const char* level, const std::string& message);

class WebSocketSession;
class Listener;

// A conversation's live state, shared by the connections that resume it. Kept in memory only
// once it has a turn (a connection that says nothing leaves nothing behind).
struct LiveSession {
  engine::SessionState state;
  std::string clinic;
  int64_t updated_ms = 0;
  int64_t last_seq = 0;  // the last turn number given out, shared by all its connections
  // Deleted (EndSession): kept only as a tombstone until it is idle for the resume window.
  bool deleted = false;
  // The conversation's own message rate, across its connections (a token bucket of
  // messages_per_minute): a resume from another connection or address resets nothing.
  double tokens = -1;  // -1: full
  int64_t refill_ms = 0;
  // What it has handed over to the clinic (server/handoff.h): an escalation raises one item
  // per red-flag kind, and a callback request says which escalation it followed.
  HandoffMemory handoff;
};

struct ServerState;

// An admitted connection's place in the per-address and total counts, given back when its
// owner (the HTTP session, then the WebSocket session it upgrades to) is destroyed.
// Move-only. REQUIRES: the state outlives it (every session holds the state).
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ServerState* state, std::string address)
      : state_(state), address_(std::move(address)) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), address_(std::move(other.address_)) {}
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { Release(); }
  const std::string& address() const { return address_; }

 private:
  void Release();
  ServerState* state_ = nullptr;
  std::string address_;
};

// The state is also what the routes see of the server (server/routes.h).
struct ServerState : RouteHost {
  Config config;
  net::io_context ioc;
  std::unique_ptr<store::Store> store;
  // Delivers the store's outbox to the clinics' webhooks (server/webhooks.h), on its own
  // thread; started by Server::Run and stopped after the network threads, before the store's
  // last flush. Declared after the store: destroyed (stopped) before it.
  std::unique_ptr<WebhookSender> webhooks;
  // Held by ReloadContent (server.cc) around load and swap: reloads never overlap, so the
  // last one to start is the one that stays.
  std::mutex reload_mutex;
  // The one thread off the network threads (RunInBackground): reloads and the routes' slow
  // work, in the order posted. Server::Run joins it after the network threads have stopped
  // and before it returns, so no job outlives the run and none is left holding the state.
  net::thread_pool background{1};
  Metrics metrics;
  // Limits per client address across connections (server/internal/address_limits.h).
  std::unique_ptr<AddressLimits> address_limits;
  std::string web_root;
  // Set when the configuration has tls_cert and tls_key: the port then speaks TLS only.
  std::unique_ptr<net::ssl::context> tls;

  std::shared_ptr<const content::Content> content() const {
    std::lock_guard<std::mutex> lock(content_mutex);
    return content_;
  }
  void set_content(std::shared_ptr<const content::Content> c) {
    std::lock_guard<std::mutex> lock(content_mutex);
    content_ = std::move(c);
  }
  std::shared_ptr<const StaticFiles> static_files() const {
    std::lock_guard<std::mutex> lock(content_mutex);
    return static_files_;
  }
  void set_static_files(std::shared_ptr<const StaticFiles> f) {
    std::lock_guard<std::mutex> lock(content_mutex);
    static_files_ = std::move(f);
  }

  // RouteHost.
  const Config& Configuration() const override { return config; }
  std::shared_ptr<const content::Content> CurrentContent() const override { return content(); }
  std::shared_ptr<const StaticFile> FindWebFile(const std::string& path) const override;
  engine::StatusOr<content::ContentStatus> ReloadContent() override;
  void RunInBackground(std::function<void()> job) override {
    net::post(background, std::move(job));
  }
  void RunInBackgroundAfter(std::chrono::milliseconds delay, std::function<void()> job) override;
  store::Store& ConversationStore() override { return *store; }
  void WakeWebhooks() override {
    if (webhooks) webhooks->Wake();
  }
  void Log(const char* level, const std::string& message) const override;

  // Routes other folders added (Server::AddRoute). Declared after the store: a route (the
  // curator's holds a Store*) is destroyed before it.
  void AddRoute(std::shared_ptr<Route> route);
  // The route that answers `path` (decoded, without the query), or null.
  std::shared_ptr<Route> FindRoute(std::string_view path) const;

  // Live conversations by session id (resume after a dropped connection). At most
  // limits.live_sessions are kept: past it, those idle longest are dropped from memory (a
  // resume then reads them from the store). A deleted one is not found, and SaveSession
  // neither revives nor changes it (false).
  std::optional<LiveSession> FindSession(const std::string& id);
  bool SaveSession(const std::string& id, const LiveSession& s);
  // True while conversation `id` is marked deleted (EndSession).
  bool IsDeletedSession(const std::string& id);
  size_t LiveSessions();
  // A message on conversation `id`: false when the conversation is over messages_per_minute,
  // whichever of its connections sent them. A conversation not kept yet (no turn) is allowed.
  bool ChargeSessionMessage(const std::string& id, int64_t now_ms);
  // The next turn number of a session: one past both the last one given out (by any of its
  // connections: two tabs, or a resume while the old connection lingers) and `known`.
  int64_t NextSeq(const std::string& id, int64_t known);
  void ForgetSession(const std::string& id);
  // Marks a deleted conversation (its store delete committed): from now on it is never found
  // or saved again; the mark goes with ForgetIdleSessions after the resume window.
  void EndSession(const std::string& id, int64_t now_ms);
  void ForgetIdleSessions(int64_t before_ms);

  // The turn pipeline between the network threads and the store, batched at both ends so
  // that a busy second costs a few wake-ups of each thread, not two per turn:
  //  - QueueTurn keeps a turn until the handlers that are ready now have run, then hands all
  //    the turns kept meanwhile to the store at once (Store::AppendTurns);
  //  - a store callback leaves its follow-up with AddStoreResult, and the store's
  //    after-callbacks hook (set by Server::Create) posts one handler that runs them all.
  void QueueTurn(store::Store::TurnWrite write);
  void FlushTurns();  // hands the kept turns to the store now
  size_t QueuedTurns();
  void AddStoreResult(std::function<void()> work);
  void WakeForStoreResults();

  // Connections, counted at accept (HTTP and WebSocket alike): the per-address and total
  // counts, and the registry used to close the WebSocket sessions at shutdown.
  enum class Admission { kAdmitted, kTooManyFromAddress, kTooMany };
  // On kAdmitted, *slot holds the connection's place until it is destroyed.
  Admission AdmitConnection(const std::string& address, ConnectionSlot* slot);
  void ReleaseConnection(const std::string& address);
  // Connections refused at accept that are being answered (429 or 503) now; bounded, so a
  // flood of refusals cannot hold descriptors either (past it, refusals are closed at once).
  std::atomic<int> refusing{0};
  // Logs a warning of `kind` (bad handshakes, bad frames, accept failures) at most once a
  // minute: the first at once, then how many more there were, with the next one a minute on.
  void WarnLimited(const std::string& kind, const std::string& message);
  void Register(const std::shared_ptr<WebSocketSession>& s);
  std::vector<std::shared_ptr<WebSocketSession>> Sessions();
  // Streamed responses in progress (server/routes.h), ended at shutdown like the sessions.
  void RegisterStream(const std::shared_ptr<ResponseStream>& s);
  std::vector<std::shared_ptr<ResponseStream>> Streams();

  std::shared_ptr<Listener> listener;  // reset by ~Server (it holds this state)
  unsigned short port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<bool> ready{false};
  // Upgrades refused for their Origin: logged once, then counted once a minute.
  ThrottledLog origin_refusals;
  // From Config::trusted_proxies: whose X-Forwarded-For / Forwarded is believed.
  TrustedProxies trusted_proxies;

 private:
  mutable std::mutex routes_mutex_;
  std::vector<std::shared_ptr<Route>> routes_;

  mutable std::mutex content_mutex;
  std::shared_ptr<const content::Content> content_;
  std::shared_ptr<const StaticFiles> static_files_;

  void RunStoreResults();

  std::mutex flush_mutex_;     // held by FlushTurns: flushes reach the store in order
  std::mutex delivery_mutex_;  // held by RunStoreResults: deliveries post in order
  std::mutex outbox_mutex_;
  std::vector<store::Store::TurnWrite> outbox_;
  std::mutex results_mutex_;
  std::vector<std::function<void()>> results_;
  bool results_posted_ = false;  // a RunStoreResults handler is on its way

  std::mutex sessions_mutex_;
  std::unordered_map<std::string, LiveSession> sessions_;
  void BoundSessionsLocked();  // REQUIRES: sessions_mutex_ held

  std::mutex warn_mutex_;
  struct WarnWindow {
    std::chrono::steady_clock::time_point start;
    int64_t suppressed = 0;
  };
  std::unordered_map<std::string, WarnWindow> warn_windows_;

  std::mutex connections_mutex_;
  int connections_ = 0;
  std::vector<std::weak_ptr<WebSocketSession>> registry_;
  std::vector<std::weak_ptr<ResponseStream>> streams_;
};

// The one reload path (SIGHUP, Server::Reload, the curator): loads the content folders,
// swaps them in, and returns what is now live; on errors keeps the running content, logs
// them and returns kDataError with them. Blocks; call it off the network threads.
engine::StatusOr<content::ContentStatus> ReloadContent(ServerState& state);
// The same without the catch-all: what ReloadContent runs.
engine::StatusOr<content::ContentStatus> ReloadContentOrThrow(ServerState& state);

// Starts an HTTP session on an accepted socket; it holds `slot` (and hands it to the
// WebSocket session it may upgrade to).
void StartHttpSession(std::shared_ptr<ServerState> state, tcp::socket socket, ConnectionSlot slot);
// Answers the requests of a connection refused at accept with `status` (429 or 503, with
// Connection: close) for at most a couple of seconds, then closes it. Over TLS it is closed.
void StartRefusedSession(std::shared_ptr<ServerState> state, tcp::socket socket,
                         http::status status);

// Starts a WebSocket session for an upgrade request on a stream already read by HTTP (plain,
// or TLS after its handshake).
void StartWebSocketSession(std::shared_ptr<ServerState> state, beast::tcp_stream stream,
                           http::request<http::string_body> request, std::string address,
                           std::string clinic, std::string resume_id, ConnectionSlot slot);
void StartWebSocketSession(std::shared_ptr<ServerState> state,
                           beast::ssl_stream<beast::tcp_stream> stream,
                           http::request<http::string_body> request, std::string address,
                           std::string clinic, std::string resume_id, ConnectionSlot slot);

}  // namespace backline::server::internal

#endif  // BACKLINE_SERVER_INTERNAL_STATE_H_
