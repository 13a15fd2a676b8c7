// Webhook events (issue 22): the JSON bodies a clinic's webhooks receive, as
// schemas/event.schema.json describes them, and the store::EventRecord that carries one into
// the outbox with its idempotency key and the clinic's endpoints that take its type.
//
// Every body is an envelope
//   {"id": "evt_<32 hex>", "type": "...", "version": 1, "created": "<RFC 3339, UTC, ms>",
//    "clinic": "<clinic id>", "data": {...}}
// where `id` is the idempotency key (the same on every retry of every endpoint). Nothing
// identifying is in `data` unless the person consented: the conversation, a callback's name
// and number appear only with `consent` true. No body ever carries the chat session id (it
// resumes the conversation: a credential), only the handoff reference the person was told.
//
// Usage, where a turn raises an escalation (the events go into TurnRecord::events, written in
// the turn's transaction; then WebhookSender::Wake()):
//   EscalationEvent e{.reference = "BL-7K2Q9", .kind = "E1", .tier = "emergency",
//                     .time_ms = now, .consent = false};
//   if (auto ev = BuildEscalationEvent(clinic, session_id, e, now)) turn.events.push_back(*ev);
//
// Thread safety: every function may be called from any thread.
#ifndef BACKLINE_SERVER_WEBHOOK_EVENTS_H_
#define BACKLINE_SERVER_WEBHOOK_EVENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/content.h"
#include "store/store.h"

namespace backline::server {

// The event types, as in the clinic file's "events" and the body's "type".
inline constexpr std::string_view kEventEscalation = "escalation";
inline constexpr std::string_view kEventCallbackRequest = "callback_request";
inline constexpr std::string_view kEventFeedback = "feedback";
inline constexpr std::string_view kEventHandoffStatus = "handoff_status";

// One line of a shared conversation.
struct ConversationLine {
  std::string from;  // "person" (what they typed) or "backline" (the reply)
  std::string text;
  int64_t time_ms = 0;
};

// The turns as a conversation: each turn's user text then its reply.
std::vector<ConversationLine> ConversationFromTurns(const std::vector<store::TurnRecord>& turns);

struct EscalationEvent {
  std::string reference;  // the handoff reference the person was told ("" if none)
  std::string kind;       // the red flag's kind, e.g. "E1"
  std::string tier;       // "emergency" or "urgent"
  int64_t time_ms = 0;    // when the message that raised it was received
  bool consent = false;   // the person agreed to share the conversation
  std::vector<ConversationLine> conversation;  // sent only with consent
};

struct CallbackRequestEvent {
  std::string reference;
  int64_t time_ms = 0;
  std::string urgency;        // "emergency", "urgent" or "none"
  std::string red_flag_kind;  // when it followed an escalation, else ""
  bool consent = false;
  // Sent only with consent:
  std::string first_name;
  std::string phone;      // E.164
  std::string best_time;  // as the person put it
  std::vector<ConversationLine> conversation;
};

struct FeedbackEvent {
  int64_t time_ms = 0;
  int rating = -1;         // -1: not helpful (a thumbs-down), +1 helpful
  std::string comment;     // the person's comment ("" if none)
  std::string topic;       // of the reply it is about
  std::string entry_id;    // the FAQ entry answered, "" if none
  std::string reply_kind;  // "answer", "fallback", ...
};

struct HandoffStatusEvent {
  std::string reference;
  std::string type;    // "escalation" or "callback"
  std::string status;  // "new", "acknowledged", "called_back", "closed"
  std::string by;      // who changed it (a clinician's name)
  int64_t time_ms = 0;
};

// A new idempotency key: "evt_" and 32 lowercase hex digits (128 random bits, RandomHex).
std::string NewEventKey();

// The ids of `clinic`'s webhooks that take events of `type`, in file order.
std::vector<std::string> WebhookEndpointsFor(const engine::Clinic& clinic, std::string_view type);

// The event for the outbox: a new key, `clinic`'s id, `session_id` (kept by the store so that
// deleting the conversation deletes its undelivered events; never put in the body), the body,
// `created_ms` and the endpoints that take this type. nullopt when no endpoint of the clinic
// takes it: there is nothing to record.
std::optional<store::EventRecord> BuildEscalationEvent(const engine::Clinic& clinic,
                                                       std::string session_id,
                                                       const EscalationEvent& e,
                                                       int64_t created_ms);
std::optional<store::EventRecord> BuildCallbackRequestEvent(const engine::Clinic& clinic,
                                                            std::string session_id,
                                                            const CallbackRequestEvent& e,
                                                            int64_t created_ms);
std::optional<store::EventRecord> BuildFeedbackEvent(const engine::Clinic& clinic,
                                                     std::string session_id, const FeedbackEvent& e,
                                                     int64_t created_ms);
std::optional<store::EventRecord> BuildHandoffStatusEvent(const engine::Clinic& clinic,
                                                          std::string session_id,
                                                          const HandoffStatusEvent& e,
                                                          int64_t created_ms);

// "2026-12-08T00:31:02.123Z".
std::string Rfc3339Ms(int64_t unix_ms);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_WEBHOOK_EVENTS_H_
