// One WebSocket connection speaking the chat protocol. Server-private.
//
// Everything a session does runs on its strand (the executor of its socket); other threads
// reach it only by posting (Close, store callbacks). Writes go through a bounded queue: past
// the soft limit the session stops reading (TCP pushes back on the client), past the hard
// limit it closes the connection with "try again later" (Beast chat-multi's send queue plus
// advanced_server's limit).
//
// The same session serves ws:// and wss://: the WebSocket stream is a variant over the plain
// and the TLS transport, and the few calls that touch it go through WithWs().
#ifndef BACKLINE_SERVER_INTERNAL_WEBSOCKET_SESSION_H_
#define BACKLINE_SERVER_INTERNAL_WEBSOCKET_SESSION_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "server/internal/state.h"
#include "server/protocol.h"

namespace backline::server::internal {

class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
 public:
  using PlainWs = websocket::stream<beast::tcp_stream>;
  using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

  WebSocketSession(std::shared_ptr<ServerState> state, beast::tcp_stream&& stream,
                   std::string address, std::string clinic, std::string resume_id,
                   ConnectionSlot slot);
  WebSocketSession(std::shared_ptr<ServerState> state,
                   beast::ssl_stream<beast::tcp_stream>&& stream, std::string address,
                   std::string clinic, std::string resume_id, ConnectionSlot slot);
  ~WebSocketSession();

  void Run(http::request<http::string_body> request);
  // Closes the connection with a close frame; safe from any thread.
  void Close(websocket::close_code code, std::string reason);
  // Conversation `id` was deleted by another connection: if this connection is on it, it reads
  // nothing more, sends the replies still waiting for their commit, then
  // {"type":"deleted","session":id} and closes with 1000. Safe from any thread.
  void SessionDeleted(std::string id);

 private:
  void OnAccept(beast::error_code ec);
  // Resumes resume_id_ when it names a conversation that can be resumed, else begins a new one.
  void StartConversation();
  void Begin(bool resumed);
  void OnSessionLoaded(engine::StatusOr<std::optional<store::SessionRecord>> loaded);
  void DoRead();
  void OnRead(beast::error_code ec, std::size_t bytes);
  void Handle(std::string payload);
  void HandleMessage(const std::string& text);
  void HandleHistory();
  void HandleFeedback(const ClientFrame& frame);
  // Stores feedback with its webhook event, if any, and answers the client.
  void SaveFeedback(store::FeedbackRecord fb, std::optional<store::EventRecord> event);
  void HandleDelete();
  // {"type":"resume"} as the first frame: the id kept out of the URL (and proxies' logs).
  void HandleResume(const std::string& id);
  // Sends the "deleted" frame and closes once it is written (see SessionDeleted).
  void EndDeleted();
  bool RateLimited();
  // Counts a frame of any type (WebSocket pings included) against the frame rate: false when
  // it is over it (a strike is counted, and the connection closed past too many).
  bool ChargeFrame();
  // The answer to a message over a limit: an error frame, or a close past too many strikes.
  void Refuse(const char* code, const char* message);
  void Send(std::string frame);
  void DoWrite();
  void OnWrite(beast::error_code ec, std::size_t bytes);
  // Records activity now. The idle timer is armed once and, when it fires, waits on for
  // what is left of the timeout after the last activity, or closes the connection.
  void ArmIdleTimer();
  void WaitIdle(std::chrono::steady_clock::time_point deadline);
  void DoClose(websocket::close_code code, std::string reason);
  void Fail(beast::error_code ec, const char* what);
  // Calls f(ws) with the WebSocket stream, whichever transport it runs on.
  template <typename F>
  decltype(auto) WithWs(F&& f) {
    return std::visit(std::forward<F>(f), ws_);
  }
  // Runs `work` on this session's strand; for store callbacks. The work waits with the rest
  // of the store's pass, and the network threads are woken once for all of it.
  void FromStore(std::function<void()> work);
  net::any_io_executor Executor() {
    return WithWs([](auto& ws) -> net::any_io_executor { return ws.get_executor(); });
  }

  std::shared_ptr<ServerState> state_;
  std::variant<PlainWs, TlsWs> ws_;
  beast::flat_buffer buffer_;
  net::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_{};
  bool idle_timer_armed_ = false;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::deque<int64_t> recent_messages_ms_;  // arrival times within the last minute
  std::deque<int64_t> recent_frames_ms_;    // the same for frames of any type
  int rate_strikes_ = 0;
  bool reading_ = false;
  bool closing_ = false;
  bool begun_ = false;
  bool first_frame_ = true;          // no frame has been read yet
  bool ended_ = false;               // the conversation was deleted elsewhere: read no more
  bool close_when_drained_ = false;  // close (1000) once the write queue is empty

  ConnectionSlot slot_;  // its place in the connection counts, given back on destruction
  std::string address_;
  std::string clinic_id_;
  std::string resume_id_;
  std::string session_id_;
  std::shared_ptr<const content::Content> content_;  // the snapshot this conversation runs on
  LiveSession live_;
  int64_t pending_turns_ = 0;  // turns waiting for their commit
};

}  // namespace backline::server::internal

#endif  // BACKLINE_SERVER_INTERNAL_WEBSOCKET_SESSION_H_
