// Routes: HTTP paths on the server's port that another folder answers (the curator page and
// its API, the clinicians' page, which cli/ registers at start-up). The server decides every
// other answer itself; a request whose path a route claims is handed to that route, and the
// response it gives back is written on the connection's strand, with the server's security
// headers added (server/internal/http_session.cc). A route may also answer with a stream
// (Server-Sent Events): a header, then parts written as they happen (ResponseStream).
//
// The server knows routes only through this interface, so server/ never includes the
// folders that register them: dependencies point from them to server/, never back.
#ifndef BACKLINE_SERVER_ROUTES_H_
#define BACKLINE_SERVER_ROUTES_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "content/content.h"
#include "engine/status.h"
#include "server/config.h"
#include "server/static_files.h"
#include "store/store.h"

namespace backline::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// What a route may use of the server that hosts it. Held through a shared_ptr, it keeps the
// server's state (not the Server object) alive, like a connection does; hold it weakly from
// anything the server itself owns. Thread safety: every method may be called from any thread.
class RouteHost {
 public:
  virtual ~RouteHost() = default;

  // The configuration the server runs with (validated, the content folders filled in).
  virtual const Config& Configuration() const = 0;
  // The content being served now (null only before the first load).
  virtual std::shared_ptr<const content::Content> CurrentContent() const = 0;
  // A file of the web root (web/) by URL path ("/curator/index.html"), as loaded at start-up
  // or by the last reload; null when there is none.
  virtual std::shared_ptr<const StaticFile> FindWebFile(const std::string& path) const = 0;
  // The server's one reload path (the same as SIGHUP and Server::Reload()): the status now
  // live, or kDataError with the errors while the previous content keeps being served.
  // Blocks: never call it on a network thread.
  virtual engine::StatusOr<content::ContentStatus> ReloadContent() = 0;
  // Runs `job` on the server's background thread, which the server owns: one thread, so jobs
  // run in the order posted, the SIGHUP reload among them. For a route's slow or blocking
  // work (a curator's edit loads the whole content). Server::Run waits for every job posted
  // before it returns. `job` must not throw.
  virtual void RunInBackground(std::function<void()> job) = 0;
  // RunInBackground(job) once `delay` has passed (a timer on the server's io_context, so it
  // costs no thread meanwhile): for a route's periodic work (the clinicians' page reads the
  // store every 2 s while a page listens). Dropped, never run, when the server stops first.
  virtual void RunInBackgroundAfter(std::chrono::milliseconds delay, std::function<void()> job) = 0;
  // The store the server writes conversations to; it lives as long as the server's state.
  virtual store::Store& ConversationStore() = 0;
  // Tells the webhook sender that events were just recorded (after the write's callback), so
  // they go out now rather than at its next poll of the outbox (within a second).
  virtual void WakeWebhooks() = 0;
  // One line on stderr in the server's format ("2026-11-26T21:00:00Z warn: ..."). Never pass
  // patient text.
  virtual void Log(const char* level, const std::string& message) const = 0;
};

// The open end of a streamed response: the header has been handed to the server, and the
// body is written in parts, as the route has them, until either side ends it. The body is
// delimited by the connection's close (the response has no Content-Length and says
// Connection: close), which is what Server-Sent Events need. The stream counts as the
// connection it is (the per-address and total connection limits), and ends when the client
// goes away, when a write has not been taken for 30 s, when more than 256 KiB wait to be
// written (a client that does not read), and when the server stops.
// Thread safety: every method may be called from any thread; writes go out in call order.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Queues `data` to be written. False when the stream has ended (nothing is written): drop
  // it then.
  virtual bool Write(std::string data) = 0;
  // Ends the stream: the connection is closed once what is queued is written.
  virtual void End() = 0;
  // True once the stream has ended, from either side.
  virtual bool ended() const = 0;
};

// Opens a stream with `header` (its status and fields; its body is ignored): the server
// writes the header, then whatever the stream is given. Call it at most once, instead of
// `respond`.
using StreamOpener = std::function<std::shared_ptr<ResponseStream>(HttpResponse header)>;

class Route {
 public:
  virtual ~Route() = default;

  // True when this route answers `path`: the request's path, percent-decoded once and
  // checked by the server (no dot segments, control characters or bad UTF-8), without the
  // query string.
  virtual bool Matches(std::string_view path) const = 0;

  // Answers one request (any method, WebSocket upgrades excepted). `address` is the client's
  // IP address. `respond` must be called exactly once, from any thread: the server posts the
  // response to the connection's strand. Must not block a network thread (run slow work
  // elsewhere and respond from there) and must not throw.
  virtual void Handle(std::shared_ptr<RouteHost> host, HttpRequest request, std::string address,
                      std::function<void(HttpResponse)> respond) = 0;

  // What the server calls: Handle, for a route that may answer with a stream. Such a route
  // overrides it and calls exactly one of `respond` and `open_stream`; the default answers
  // through Handle, so a route that never streams implements Handle alone.
  virtual void HandleStreaming(std::shared_ptr<RouteHost> host, HttpRequest request,
                               std::string address, std::function<void(HttpResponse)> respond,
                               StreamOpener open_stream) {
    (void)open_stream;
    Handle(std::move(host), std::move(request), std::move(address), std::move(respond));
  }
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_ROUTES_H_
