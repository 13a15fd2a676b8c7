// Server: `backline serve`. One port for HTTP (the web/ files, /healthz, /metrics) and the
// WebSocket chat protocol at /ws, on Boost.Beast over one io_context run by a thread pool,
// with a strand per connection.
//
//   auto server = Server::Create(config, std::move(store));
//   if (!server.ok()) ...;
//   int code = server.value()->Run();   // until SIGINT/SIGTERM or Stop()
//
// SIGHUP, Reload() and the curator (curator() and the curator API) all reload through one
// path: a new engine is compiled off the network threads and swapped in; a reload that fails
// validation keeps the running content and logs why. Reloads never overlap. A connection
// keeps the snapshot it started with until it closes (a conversation never changes content
// mid-flow); new connections (and resumed conversations) get the new one.
//
// Thread safety: Stop(), Reload() and port() may be called from any thread.
#ifndef BACKLINE_SERVER_SERVER_H_
#define BACKLINE_SERVER_SERVER_H_

#include <memory>

#include "engine/status.h"
#include "server/config.h"
#include "server/routes.h"
#include "store/store.h"

namespace backline::server {

namespace internal {
struct ServerState;
}

class Server {
 public:
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the content, binds the port (0 picks a free one) and prepares the threads.
  static engine::StatusOr<std::unique_ptr<Server>> Create(Config config,
                                                          std::unique_ptr<store::Store> store);

  // Serves until stopped. Returns 0 after a clean shutdown: the acceptor closed, open
  // conversations told with a close frame (going away), the store flushed.
  int Run();

  // Begins the shutdown Run() performs on SIGTERM.
  void Stop();

  // Reloads the content now (blocking the caller, not the network threads).
  engine::Status Reload();

  unsigned short port() const;

  // Adds a route: the server hands the requests whose path it matches to it (server/routes.h),
  // before its own routes (/healthz, /metrics, the web/ files), WebSocket upgrades excepted.
  // The server owns it. REQUIRES: before Run().
  void AddRoute(std::shared_ptr<Route> route);

  // The server as its routes see it: configuration, content, reload path, store. Holding it
  // keeps the server's state (not this object) alive.
  std::shared_ptr<RouteHost> host() const;

 private:
  explicit Server(std::shared_ptr<internal::ServerState> state);
  std::shared_ptr<internal::ServerState> state_;
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_SERVER_H_
