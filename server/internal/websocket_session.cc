#include "server/internal/websocket_session.h"

#include "content/reply_json.h"
#include "server/handoff.h"
#include "server/webhook_events.h"

namespace backline::server::internal {

namespace {
constexpr int kRateStrikesBeforeClose = 3;  // times the per-minute limit, then close
// Frames of any type (pings, history, feedback, malformed ones) a minute, as a multiple of
// messages_per_minute: the widget sends few besides messages, a junk or ping flood many.
constexpr int kFramesPerMessage = 4;
}  // namespace

WebSocketSession::WebSocketSession(std::shared_ptr<ServerState> state, beast::tcp_stream&& stream,
                                   std::string address, std::string clinic, std::string resume_id,
                                   ConnectionSlot slot)
    : state_(std::move(state)),
      ws_(std::in_place_type<PlainWs>, std::move(stream)),
      idle_timer_(Executor()),
      slot_(std::move(slot)),
      address_(std::move(address)),
      clinic_id_(std::move(clinic)),
      resume_id_(std::move(resume_id)) {
  state_->metrics.connections_open.fetch_add(1);
  state_->metrics.connections_total.fetch_add(1);
}

WebSocketSession::WebSocketSession(std::shared_ptr<ServerState> state,
                                   beast::ssl_stream<beast::tcp_stream>&& stream,
                                   std::string address, std::string clinic, std::string resume_id,
                                   ConnectionSlot slot)
    : state_(std::move(state)),
      ws_(std::in_place_type<TlsWs>, std::move(stream)),
      idle_timer_(Executor()),
      slot_(std::move(slot)),
      address_(std::move(address)),
      clinic_id_(std::move(clinic)),
      resume_id_(std::move(resume_id)) {
  state_->metrics.connections_open.fetch_add(1);
  state_->metrics.connections_total.fetch_add(1);
}

WebSocketSession::~WebSocketSession() { state_->metrics.connections_open.fetch_sub(1); }

void WebSocketSession::Run(http::request<http::string_body> request) {
  const Limits& limits = state_->config.limits;
  websocket::stream_base::timeout timeout =
      websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeout.handshake_timeout = std::chrono::seconds(limits.handshake_timeout_seconds);
  // Beast pings a silent peer and closes it if the ping goes unanswered: dead connections.
  timeout.idle_timeout = std::chrono::seconds(60);
  timeout.keep_alive_pings = true;
  WithWs([&](auto& ws) {
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(timeout);
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      // Beast writes "Server: Boost.Beast/<version>" unless the decorator names one: a
      // version banner. The HTTP responses carry no Server field at all.
      res.set(http::field::server, "backline");
      res.set("X-Content-Type-Options", "nosniff");
      res.set("Referrer-Policy", "no-referrer");
    }));
    ws.read_message_max(limits.max_message_bytes);
    // A WebSocket ping (a control frame, answered by Beast itself) counts as a frame like any
    // other: a ping flood is limited, then closed, as a flood of messages is.
    ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) {
        state_->metrics.frames_received.fetch_add(1);
        if (ChargeFrame()) state_->metrics.control_frames.fetch_add(1);
      }
    });
    ws.async_accept(request,
                    beast::bind_front_handler(&WebSocketSession::OnAccept, shared_from_this()));
  });
}

void WebSocketSession::OnAccept(beast::error_code ec) {
  if (ec) return Fail(ec, "accept");
  state_->Register(shared_from_this());
  content_ = state_->content();
  live_.clinic = clinic_id_;
  StartConversation();
}

void WebSocketSession::StartConversation() {
  if (!resume_id_.empty() && IsSessionIdShaped(resume_id_)) {
    if (auto live = state_->FindSession(resume_id_)) {
      live_ = *live;
      session_id_ = resume_id_;
      return Begin(true);
    }
    // Not in memory (the server restarted): ask the store, off this thread.
    const int64_t not_before =
        NowMs() - int64_t{state_->config.limits.session_resume_hours} * 3600 * 1000;
    auto self = shared_from_this();
    state_->store->LoadSession(
        resume_id_, not_before,
        [self](engine::StatusOr<std::optional<store::SessionRecord>> loaded) {
          self->FromStore([self, loaded = std::move(loaded)]() mutable {
            self->OnSessionLoaded(std::move(loaded));
          });
        });
    return;
  }
  Begin(false);
}

void WebSocketSession::OnSessionLoaded(
    engine::StatusOr<std::optional<store::SessionRecord>> loaded) {
  if (!loaded.ok()) {
    state_->metrics.store_errors.fetch_add(1);
    Log("error", "loading a session failed: " + loaded.status().ToString());
  } else if (loaded.value()) {
    const store::SessionRecord& rec = *loaded.value();
    nlohmann::json j = nlohmann::json::parse(rec.state, nullptr, false);
    engine::SessionState s;
    if (!j.is_discarded() && StateFromJson(j, &s)) {
      live_.state = std::move(s);
      live_.clinic = rec.clinic;
      live_.updated_ms = rec.updated_ms;
      session_id_ = rec.id;
      return Begin(true);
    }
  }
  Begin(false);
}

void WebSocketSession::Begin(bool resumed) {
  if (closing_) return;
  if (!resumed) {
    session_id_ = NewSessionId();
    live_ = LiveSession{};
    live_.clinic = clinic_id_;
  }
  live_.updated_ms = NowMs();
  // A conversation deleted while it was being loaded is not resumed.
  if (resumed && state_->IsDeletedSession(session_id_)) {
    resumed = false;
    session_id_ = NewSessionId();
    live_ = LiveSession{};
    live_.clinic = clinic_id_;
    live_.updated_ms = NowMs();
  }
  // Nothing is kept for a conversation until its first turn (HandleMessage saves it): a
  // connection that says nothing leaves nothing behind, in memory or in the database.
  begun_ = true;
  const engine::Clinic& clinic = content_->ClinicOrDefault(live_.clinic);
  Send(WelcomeFrame(session_id_, resumed, clinic, content_->engine->Welcome(clinic),
                    live_.state.turns));
  ArmIdleTimer();
  DoRead();
}

void WebSocketSession::DoRead() {
  if (reading_ || closing_ || ended_) return;
  reading_ = true;
  WithWs([this](auto& ws) {
    ws.async_read(buffer_,
                  beast::bind_front_handler(&WebSocketSession::OnRead, shared_from_this()));
  });
}

void WebSocketSession::OnRead(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (ec) return Fail(ec, "read");
  if (ended_) return;  // the conversation was deleted by another connection
  std::string payload = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  ArmIdleTimer();
  Handle(std::move(payload));
  // Not while a delete is under way (begun_ false): Begin() reads on once it is done.
  // Replies still waiting for their commit count too: a client that never reads is paused
  // here, before its replies pile up.
  if (begun_ && queue_.size() + static_cast<size_t>(pending_turns_) <
                    state_->config.limits.write_queue_soft) {
    DoRead();
  }
}

bool WebSocketSession::RateLimited() {
  const int64_t now = NowMs();
  while (!recent_messages_ms_.empty() && recent_messages_ms_.front() <= now - 60000) {
    recent_messages_ms_.pop_front();
  }
  if (static_cast<int>(recent_messages_ms_.size()) < state_->config.limits.messages_per_minute) {
    recent_messages_ms_.push_back(now);
    return false;
  }
  ++rate_strikes_;
  state_->metrics.rate_limited.fetch_add(1);
  return true;
}

bool WebSocketSession::ChargeFrame() {
  const int64_t now = NowMs();
  while (!recent_frames_ms_.empty() && recent_frames_ms_.front() <= now - 60000) {
    recent_frames_ms_.pop_front();
  }
  if (static_cast<int64_t>(recent_frames_ms_.size()) <
      int64_t{kFramesPerMessage} * state_->config.limits.messages_per_minute) {
    recent_frames_ms_.push_back(now);
    return true;
  }
  ++rate_strikes_;
  state_->metrics.rate_limited.fetch_add(1);
  if (rate_strikes_ > kRateStrikesBeforeClose * state_->config.limits.messages_per_minute) {
    DoClose(websocket::close_code::policy_error, "too many messages");
  }
  return false;
}

void WebSocketSession::Refuse(const char* code, const char* message) {
  if (rate_strikes_ > kRateStrikesBeforeClose * state_->config.limits.messages_per_minute) {
    DoClose(websocket::close_code::policy_error, "too many messages");
    return;
  }
  Send(ErrorFrame(code, message));
}

void WebSocketSession::Handle(std::string payload) {
  state_->metrics.frames_received.fetch_add(1);
  // Every frame counts, whatever it is: a flood of pings or junk costs a reply each.
  if (!ChargeFrame()) {
    if (!closing_) {
      Send(ErrorFrame("rate_limited",
                      "Too many messages in a minute. Please wait a moment. In an emergency, "
                      "call your emergency number now."));
    }
    return;
  }
  const bool first_frame = std::exchange(first_frame_, false);
  ClientFrame frame = ParseClientFrame(payload);
  if (!frame.error_code.empty()) {
    state_->metrics.protocol_errors.fetch_add(1);
    Send(ErrorFrame(frame.error_code, frame.error_message));
    return;
  }
  if (frame.type == "ping") {
    state_->metrics.control_frames.fetch_add(1);
    Send(nlohmann::json{{"type", "pong"}}.dump());
    return;
  }
  if (frame.type == "resume") {
    if (!first_frame) {
      state_->metrics.protocol_errors.fetch_add(1);
      Send(ErrorFrame("bad_field", "\"resume\" must be the first frame of a connection."));
      return;
    }
    state_->metrics.control_frames.fetch_add(1);
    return HandleResume(frame.session);
  }
  if (frame.type == "message") {
    // This connection's rate, then the conversation's (whichever connections send its
    // messages), then the address's rate and daily volume (whichever connections it opens).
    const bool connection_ok = !RateLimited();
    const int64_t now = NowMs();
    const bool session_ok =
        connection_ok && (session_id_.empty() || state_->ChargeSessionMessage(session_id_, now));
    if (connection_ok && !session_ok) {
      ++rate_strikes_;
      state_->metrics.rate_limited.fetch_add(1);
    }
    if (!connection_ok || !session_ok) {
      return Refuse("rate_limited",
                    "You are sending messages very fast. Please wait a moment. In an "
                    "emergency, call your emergency number now.");
    }
    if (frame.text.size() > state_->config.limits.max_message_bytes) {
      state_->metrics.protocol_errors.fetch_add(1);
      Send(ErrorFrame("too_long", "The message is too long."));
      return;
    }
    switch (state_->address_limits->ChargeMessage(address_, frame.text.size(), now)) {
      case AddressLimits::Verdict::kOk:
        break;
      case AddressLimits::Verdict::kRateLimited:
        ++rate_strikes_;
        state_->metrics.rate_limited.fetch_add(1);
        return Refuse("rate_limited",
                      "Too many messages from your network in a minute. Please wait a moment. "
                      "In an emergency, call your emergency number now.");
      case AddressLimits::Verdict::kDailyLimit:
        ++rate_strikes_;
        state_->metrics.rate_limited.fetch_add(1);
        return Refuse("daily_limit",
                      "Your network has sent as many messages as this service takes in a day. "
                      "Please try again tomorrow, or call your care team. In an emergency, call "
                      "your emergency number now.");
    }
    return HandleMessage(frame.text);
  }
  if (frame.type == "feedback" && (frame.seq < 1 || frame.seq > live_.state.turns)) {
    state_->metrics.protocol_errors.fetch_add(1);
    Send(ErrorFrame("bad_field", "\"seq\" must name a turn of this conversation."));
    return;
  }
  if (frame.type == "feedback" && !state_->address_limits->ChargeFeedback(address_, NowMs())) {
    state_->metrics.rate_limited.fetch_add(1);
    Send(ErrorFrame("daily_limit",
                    "Thank you: your network has given as much feedback as this service takes "
                    "in a day."));
    return;
  }
  state_->metrics.control_frames.fetch_add(1);
  if (frame.type == "history") return HandleHistory();
  if (frame.type == "feedback") return HandleFeedback(frame);
  if (frame.type == "delete") return HandleDelete();
}

void WebSocketSession::HandleMessage(const std::string& text) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t received_ms = NowMs();
  const engine::Clinic& clinic = content_->ClinicOrDefault(live_.clinic);
  const int64_t known = std::max(live_.last_seq, int64_t{live_.state.turns});
  // Nothing here reads the explanation (`backline ask --explain` and the
  // curators' tools do).
  engine::TurnResult turn =
      content_->engine->Turn(live_.state, text, clinic, engine::TurnOptions{.explain = false});
  live_.state = std::move(turn.state);
  live_.updated_ms = received_ms;
  // What the reply hands over to the clinic, written with the turn; a finished callback
  // request's reply is told its reference.
  TurnHandoff handoff =
      HandoffForTurn(turn.reply, clinic, session_id_, received_ms, &live_.handoff);
  if (!handoff.reference.empty()) {
    turn.reply.text = engine::Engine::WithReference(turn.reply.text, handoff.reference);
  }
  const bool raises_events = !handoff.events.empty();
  const int64_t seq = state_->NextSeq(session_id_, known);
  live_.last_seq = seq;
  state_->SaveSession(session_id_, live_);
  auto frame = std::make_shared<std::string>(ReplyFrame(turn.reply, seq));

  auto& m = state_->metrics;
  if (turn.reply.urgency == engine::Urgency::kEmergency) m.escalations_emergency.fetch_add(1);
  if (turn.reply.urgency == engine::Urgency::kUrgent) m.escalations_urgent.fetch_add(1);
  if (turn.reply.unanswered) m.unanswered.fetch_add(1);
  // A name or phone number typed into the callback request is never logged.
  if (state_->config.log_patient_text && !turn.personal_input) {
    Log("info", "session " + session_id_.substr(0, 8) + " turn " + std::to_string(seq) + ": \"" +
                    text + "\" -> " + turn.reply.topic);
  }

  // The reply is in `frame` now: the record takes the reply's strings.
  store::TurnRecord record;
  record.session_id = session_id_;
  record.seq = seq;
  record.user_text = text;
  record.parts = ReplyParts(turn.reply);
  record.reply_text = std::move(turn.reply.text);
  record.topic = std::move(turn.reply.topic);
  record.urgency = engine::UrgencyName(turn.reply.urgency);
  record.kind = engine::ReplyKindName(turn.reply.kind);
  record.entry_id = std::move(turn.reply.entry_id);
  record.unanswered = turn.reply.unanswered;
  // Listed for the curators up to the address's daily quota, so the list cannot be flooded.
  record.list_unanswered =
      record.unanswered && state_->address_limits->ChargeUnanswered(address_, received_ms);
  record.received_ms = received_ms;
  record.replied_ms = NowMs();
  record.events = std::move(handoff.events);
  record.handoffs = std::move(handoff.handoffs);
  store::SessionRecord session;
  session.id = session_id_;
  session.clinic = live_.clinic;
  session.state = StateJson(live_.state);
  session.created_ms = received_ms;
  session.updated_ms = received_ms;

  // The reply goes out once its turn is committed (group commit), so every reply a person
  // saw is on record. If the store fails, the reply still goes out -- a red-flag escalation
  // must never be held back -- and the failure is counted and logged.
  ++pending_turns_;
  auto self = shared_from_this();
  state_->QueueTurn(store::Store::TurnWrite{
      std::move(record), std::move(session),
      [self, frame, started, raises_events, id = session_id_](engine::Status s) {
        // The events are in the outbox now: the sender need not wait for its next poll.
        if (s.ok() && raises_events) self->state_->WakeWebhooks();
        self->FromStore([self, frame, started, s, id]() {
          --self->pending_turns_;
          auto& metrics = self->state_->metrics;
          // kNotFound: the conversation was deleted (by another connection) before this turn
          // reached the store, which refused it. The reply still goes out, then the end.
          const bool deleted = s.code() == engine::Status::Code::kNotFound;
          if (!s.ok() && !deleted) {
            metrics.store_errors.fetch_add(1);
            Log("error", "a turn was not saved: " + s.ToString());
          }
          metrics.turns.fetch_add(1);
          metrics.ObserveLatency(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          self->Send(std::move(*frame));
          if (deleted && self->session_id_ == id && !self->closing_) self->ended_ = true;
          if (self->ended_ && self->pending_turns_ == 0) self->EndDeleted();
        });
      }});
}

void WebSocketSession::HandleResume(const std::string& id) {
  // The conversation given at connect has had no turn (this is the first frame), so nothing
  // was kept for it: it is simply replaced.
  // Read nothing more until the conversation has begun: Begin() sends its welcome, then reads.
  begun_ = false;
  resume_id_ = id;
  StartConversation();
}

void WebSocketSession::HandleHistory() {
  auto self = shared_from_this();
  state_->store->RecentTurns(
      session_id_, state_->config.limits.history_turns,
      [self](engine::StatusOr<std::vector<store::TurnRecord>> turns) {
        self->FromStore([self, turns = std::move(turns)]() {
          if (!turns.ok()) {
            self->state_->metrics.store_errors.fetch_add(1);
            self->Send(ErrorFrame("unavailable", "The history could not be read. Try again."));
            return;
          }
          self->Send(HistoryFrame(turns.value()));
        });
      });
}

void WebSocketSession::HandleFeedback(const ClientFrame& frame) {
  store::FeedbackRecord fb;
  fb.session_id = session_id_;
  fb.seq = frame.seq;
  fb.rating = frame.rating;
  fb.comment = frame.comment;
  fb.created_ms = NowMs();
  const engine::Clinic& clinic = content_->ClinicOrDefault(live_.clinic);
  if (fb.rating >= 0 || WebhookEndpointsFor(clinic, kEventFeedback).empty()) {
    return SaveFeedback(std::move(fb), std::nullopt);
  }
  // A thumbs-down goes to the clinic's "feedback" webhooks with what it was about: the turn
  // is read back first (feedback is rare; nothing about a reply is kept per connection).
  auto self = shared_from_this();
  state_->store->RecentTurns(
      session_id_, state_->config.limits.history_turns,
      [self, fb = std::move(fb)](engine::StatusOr<std::vector<store::TurnRecord>> turns) mutable {
        FeedbackEvent e;
        e.time_ms = fb.created_ms;
        e.rating = fb.rating;
        e.comment = fb.comment;
        if (turns.ok()) {
          for (const auto& t : turns.value()) {
            if (t.seq != fb.seq) continue;
            e.topic = t.topic;
            e.entry_id = t.entry_id;
            e.reply_kind = t.kind;
          }
        }
        self->FromStore([self, fb = std::move(fb), e = std::move(e)]() mutable {
          const engine::Clinic& current = self->content_->ClinicOrDefault(self->live_.clinic);
          std::optional<store::EventRecord> event =
              BuildFeedbackEvent(current, fb.session_id, e, fb.created_ms);
          self->SaveFeedback(std::move(fb), std::move(event));
        });
      });
}

void WebSocketSession::SaveFeedback(store::FeedbackRecord fb,
                                    std::optional<store::EventRecord> event) {
  const bool raises_events = event.has_value();
  if (event) fb.events.push_back(std::move(*event));
  auto self = shared_from_this();
  state_->store->AddFeedback(std::move(fb), [self, raises_events](engine::Status s) {
    if (s.ok() && raises_events) self->state_->WakeWebhooks();
    self->FromStore([self, s]() {
      if (!s.ok()) {
        self->state_->metrics.store_errors.fetch_add(1);
        self->Send(ErrorFrame("unavailable", "The feedback could not be saved."));
        return;
      }
      self->Send(nlohmann::json{{"type", "feedback_saved"}}.dump());
    });
  });
}

void WebSocketSession::HandleDelete() {
  auto self = shared_from_this();
  const std::string id = session_id_;
  state_->ForgetSession(id);
  // Read nothing more until the delete is done: a message read meanwhile would be a turn of
  // the deleted session, stored (and the session re-created) after the delete.
  begun_ = false;
  // The turns already answered here and on other connections, still kept for the next group,
  // go to the store ahead of the delete, which then deletes them too.
  state_->FlushTurns();
  // The store keeps a tombstone for as long as the id could be resumed, and refuses any later
  // turn of it: one still on its way from another connection, or after a restart.
  const int64_t tombstone_until =
      NowMs() + int64_t{state_->config.limits.session_resume_hours} * 3600 * 1000;
  state_->store->DeleteSession(id, tombstone_until, [self, id](engine::Status s) {
    self->FromStore([self, s, id]() {
      if (!s.ok()) {
        self->state_->metrics.store_errors.fetch_add(1);
        self->Send(ErrorFrame("unavailable", "The conversation could not be deleted. Try again."));
        self->begun_ = true;
        self->DoRead();
        return;
      }
      // The conversation is gone: no connection may resume it, the others on it end, and a
      // new one starts on this connection.
      self->state_->EndSession(id, NowMs());
      for (const auto& other : self->state_->Sessions()) {
        if (other != self) other->SessionDeleted(id);
      }
      self->Send(nlohmann::json{{"type", "deleted"}, {"session", id}}.dump());
      self->Begin(false);
    });
  });
}

void WebSocketSession::SessionDeleted(std::string id) {
  net::post(Executor(), [self = shared_from_this(), id = std::move(id)]() {
    // Not begun: not on a conversation yet, or deleting its own (which ends it anyway).
    if (self->closing_ || self->ended_ || !self->begun_ || self->session_id_ != id) return;
    self->ended_ = true;
    if (self->pending_turns_ == 0) self->EndDeleted();
  });
}

void WebSocketSession::EndDeleted() {
  if (closing_ || close_when_drained_) return;
  Send(nlohmann::json{{"type", "deleted"}, {"session", session_id_}}.dump());
  close_when_drained_ = true;
  if (queue_.empty()) DoClose(websocket::close_code::normal, "conversation deleted");
}

void WebSocketSession::FromStore(std::function<void()> work) {
  state_->AddStoreResult([executor = Executor(), work = std::move(work)]() mutable {
    net::post(executor, std::move(work));
  });
}

void WebSocketSession::Send(std::string frame) {
  if (closing_) return;
  if (queue_.size() >= state_->config.limits.write_queue_hard) {
    // A reader this slow would make the server buffer without bound.
    DoClose(websocket::close_code::try_again_later, "reader too slow");
    return;
  }
  queue_.push_back(std::make_shared<const std::string>(std::move(frame)));
  if (queue_.size() == 1) DoWrite();
}

void WebSocketSession::DoWrite() {
  WithWs([this](auto& ws) {
    ws.text(true);
    ws.async_write(net::buffer(*queue_.front()),
                   beast::bind_front_handler(&WebSocketSession::OnWrite, shared_from_this()));
  });
}

void WebSocketSession::OnWrite(beast::error_code ec, std::size_t) {
  if (ec) return Fail(ec, "write");
  queue_.pop_front();
  if (!queue_.empty()) return DoWrite();
  if (close_when_drained_) return DoClose(websocket::close_code::normal, "conversation deleted");
  if (!reading_ && !closing_ && begun_ &&
      static_cast<size_t>(pending_turns_) < state_->config.limits.write_queue_soft) {
    DoRead();
  }
}

void WebSocketSession::ArmIdleTimer() {
  // Every message comes here, so it only notes the time: re-arming the timer on each one
  // cost a cancel, a wake-up of the cancelled wait and a new wait per message.
  last_activity_ = std::chrono::steady_clock::now();
  if (idle_timer_armed_ || closing_) return;
  idle_timer_armed_ = true;
  WaitIdle(last_activity_ + std::chrono::seconds(state_->config.limits.idle_timeout_seconds));
}

void WebSocketSession::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  idle_timer_.expires_at(deadline);
  idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    if (ec || self->closing_) {  // cancelled: the connection is closing
      self->idle_timer_armed_ = false;
      return;
    }
    const auto due = self->last_activity_ +
                     std::chrono::seconds(self->state_->config.limits.idle_timeout_seconds);
    if (std::chrono::steady_clock::now() < due) return self->WaitIdle(due);
    self->idle_timer_armed_ = false;
    self->DoClose(websocket::close_code::going_away, "idle");
  });
}

void WebSocketSession::Close(websocket::close_code code, std::string reason) {
  net::post(Executor(), [self = shared_from_this(), code, reason = std::move(reason)]() {
    self->DoClose(code, reason);
  });
}

void WebSocketSession::DoClose(websocket::close_code code, std::string reason) {
  if (closing_) return;
  closing_ = true;
  idle_timer_.cancel();
  // The front frame may be being written: its buffer must live until OnWrite.
  if (queue_.size() > 1) queue_.erase(queue_.begin() + 1, queue_.end());
  websocket::close_reason cr(code);
  cr.reason = reason;
  WithWs([&](auto& ws) {
    ws.async_close(cr, [self = shared_from_this()](beast::error_code ec) {
      if (ec && ec != net::error::operation_aborted) self->Fail(ec, "close");
    });
  });
}

void WebSocketSession::Fail(beast::error_code ec, const char* what) {
  idle_timer_.cancel();
  // The ways a connection normally ends: our own cancel, the client's close frame (a tab
  // closed: 1000 or 1001), the TCP connection ending or reset after it (a write or the close
  // handshake then meets a broken pipe), a TLS peer that left without close_notify, a timeout.
  if (ec == net::error::operation_aborted || ec == websocket::error::closed ||
      ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
      ec == net::error::not_connected || ec == net::error::bad_descriptor ||
      ec == net::ssl::error::stream_truncated || ec == beast::error::timeout) {
    return;
  }
  // The rest is a client speaking WebSocket badly; one such client must not flood the log.
  const std::string step = what;
  const std::string kind = step == "accept" ? "bad WebSocket handshake"
                           : step == "read" ? "bad WebSocket frame"
                                            : "WebSocket " + step;
  state_->WarnLimited(kind, "websocket " + step + ": " + ec.message());
}

}  // namespace backline::server::internal
