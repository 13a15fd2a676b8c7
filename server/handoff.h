// Handing a turn over to the clinic (issue 22): the clinicians' page items and webhook events
// a reply raises, written with its turn (store::TurnRecord::handoffs and ::events).
//
//   - An escalation (a red flag, emergency or urgent) raises an "escalation" item and event,
//     once per red-flag kind in a conversation (the same flag typed again raises nothing new).
//     The person has not been asked to share anything then: the item and event carry the
//     kind, tier, time and the item's reference, never the conversation.
//   - A finished callback request (engine::Reply::callback, made only with the person's
//     consent) raises a "callback" item holding the first name, number and best time, and a
//     "callback_request" event with them. The reply's {reference} becomes the item's reference.
//     When it follows an escalation of the same conversation, the item and event say which.
//     The event carries the conversation the caller passes, if any (consent covers it); the
//     server passes none: the conversation is on the clinicians' page (see README).
//
// Pure functions of their arguments (and the kernel's random generator, for references and
// event keys): no I/O. Thread safety: any thread.
#ifndef BACKLINE_SERVER_HANDOFF_H_
#define BACKLINE_SERVER_HANDOFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/content.h"
#include "engine/engine.h"
#include "server/webhook_events.h"
#include "store/store.h"

namespace backline::server {

// A new reference a person can read out on the phone: "BL-" and two groups of five Crockford
// base-32 characters (no I, L, O or U), 50 random bits: "BL-7K2Q9-XM4TD".
std::string NewHandoffReference();

// What one conversation has handed over so far (kept with the live conversation).
struct HandoffMemory {
  std::vector<std::string> escalated_kinds;  // red-flag kinds already raised as items
  std::string last_kind;                     // the latest escalation's kind, for a callback
  std::string last_urgency;                  // and its tier
};

struct TurnHandoff {
  std::vector<store::HandoffRecord> handoffs;
  std::vector<store::EventRecord> events;
  std::string reference;  // the callback item's, to replace {reference} in the reply; or ""
};

// The items and events `reply` raises in conversation `session_id` of `clinic`, updating
// `memory`. `now_ms`: when the message was received. `conversation`: the conversation so far,
// this turn's message included, sent with a callback request (whose consent covers it).
TurnHandoff HandoffForTurn(const engine::Reply& reply, const engine::Clinic& clinic,
                           const std::string& session_id, int64_t now_ms, HandoffMemory* memory,
                           std::vector<ConversationLine> conversation = {});

}  // namespace backline::server

#endif  // BACKLINE_SERVER_HANDOFF_H_
