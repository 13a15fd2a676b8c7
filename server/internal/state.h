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
#include "server/config.h"
#include "server/metrics.h"
#include "server/routes.h"
#include "server/static_files.h"
#include "store/store.h"

namespace backline::server::internal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

int64_t NowMs();

// Logs one line to stderr ("2026-11-26T21:00:00Z warn: ..."). Never pass patient text unless
// the configuration allows it (ServerState::log_patient_text).
void Log(const char* level, const std::string& message);

class WebSocketSession;
class Listener;

// A conversation's live state, shared by the connections that resume it.
struct LiveSession {
  engine::SessionState state;
  std::string clinic;
  int64_t updated_ms = 0;
  int64_t last_seq = 0;  // the last turn number given out, shared by all its connections
  // Deleted (EndSession): kept only as a tombstone until it is idle for the resume window.
  bool deleted = false;
};

// The state is also what the routes see of the server (server/routes.h).
struct ServerState : RouteHost {
  Config config;
  net::io_context ioc;
  std::unique_ptr<store::Store> store;
  // Held by ReloadContent (server.cc) around load and swap: reloads never overlap, so the
  // last one to start is the one that stays.
  std::mutex reload_mutex;
  Metrics metrics;
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
  store::Store& ConversationStore() override { return *store; }
  void Log(const char* level, const std::string& message) const override;

  // Routes other folders added (Server::AddRoute). Declared after the store: a route (the
  // curator's holds a Store*) is destroyed before it.
  void AddRoute(std::shared_ptr<Route> route);
  // The route that answers `path` (decoded, without the query), or null.
  std::shared_ptr<Route> FindRoute(std::string_view path) const;

  // Live conversations by session id (resume after a dropped connection). A deleted one is
  // not found, and SaveSession neither revives nor changes it (false).
  std::optional<LiveSession> FindSession(const std::string& id);
  bool SaveSession(const std::string& id, const LiveSession& s);
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

  // Connections: per-address counts and the registry used to close them all at shutdown.
  bool AdmitConnection(const std::string& address);  // false: over a limit
  void ReleaseConnection(const std::string& address);
  void Register(const std::shared_ptr<WebSocketSession>& s);
  std::vector<std::shared_ptr<WebSocketSession>> Sessions();

  std::shared_ptr<Listener> listener;  // reset by ~Server (it holds this state)
  unsigned short port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<bool> ready{false};

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

  std::mutex connections_mutex_;
  std::unordered_map<std::string, int> per_address_;
  int connections_ = 0;
  std::vector<std::weak_ptr<WebSocketSession>> registry_;
};

// The one reload path (SIGHUP, Server::Reload, the curator): loads the content folders,
// swaps them in, and returns what is now live; on errors keeps the running content, logs
// them and returns kDataError with them. Blocks; call it off the network threads.
engine::StatusOr<content::ContentStatus> ReloadContent(ServerState& state);
// The same without the catch-all: what ReloadContent runs.
engine::StatusOr<content::ContentStatus> ReloadContentOrThrow(ServerState& state);

// Starts an HTTP session on an accepted socket.
void StartHttpSession(std::shared_ptr<ServerState> state, tcp::socket socket);

// Starts a WebSocket session for an upgrade request on a stream already read by HTTP (plain,
// or TLS after its handshake).
void StartWebSocketSession(std::shared_ptr<ServerState> state, beast::tcp_stream stream,
                           http::request<http::string_body> request, std::string address,
                           std::string clinic, std::string resume_id);
void StartWebSocketSession(std::shared_ptr<ServerState> state,
                           beast::ssl_stream<beast::tcp_stream> stream,
                           http::request<http::string_body> request, std::string address,
                           std::string clinic, std::string resume_id);

}  // namespace backline::server::internal

#endif  // BACKLINE_SERVER_INTERNAL_STATE_H_
