#include "server/handoff.h"

#include <algorithm>
#include <array>
#include <random>

namespace backline::server {

std::string NewHandoffReference() {
  static constexpr std::array<char, 32> kCrockford = {
      '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F',
      'G', 'H', 'J', 'K', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'V', 'W', 'X', 'Y', 'Z'};
  std::random_device random;  // the kernel's generator, as RandomHex
  uint64_t bits = (static_cast<uint64_t>(random()) << 32) | random();
  std::string out = "BL-";
  for (int i = 0; i < 10; ++i) {
    if (i == 5) out += '-';
    out += kCrockford[bits & 31];
    bits >>= 5;
  }
  return out;
}

TurnHandoff HandoffForTurn(const engine::Reply& reply, const engine::Clinic& clinic,
                           const std::string& session_id, int64_t now_ms, HandoffMemory* memory,
                           std::vector<ConversationLine> conversation) {
  TurnHandoff out;
  const bool escalation = reply.kind == engine::ReplyKind::kEscalation &&
                          reply.urgency != engine::Urgency::kNone && !reply.red_flag_kind.empty();
  if (escalation) {
    const std::string tier = engine::UrgencyName(reply.urgency);
    const auto& seen = memory->escalated_kinds;
    if (std::find(seen.begin(), seen.end(), reply.red_flag_kind) == seen.end()) {
      store::HandoffRecord item;
      item.reference = NewHandoffReference();
      item.clinic = clinic.id;
      item.type = "escalation";
      item.urgency = tier;
      item.red_flag_kind = reply.red_flag_kind;
      item.created_ms = now_ms;
      EscalationEvent e{.reference = item.reference,
                        .kind = reply.red_flag_kind,
                        .tier = tier,
                        .time_ms = now_ms,
                        .consent = false,
                        .conversation = {}};
      if (auto event = BuildEscalationEvent(clinic, session_id, e, now_ms)) {
        out.events.push_back(std::move(*event));
      }
      out.handoffs.push_back(std::move(item));
      memory->escalated_kinds.push_back(reply.red_flag_kind);
    }
    memory->last_kind = reply.red_flag_kind;
    memory->last_urgency = tier;
  }
  if (reply.callback && reply.callback->consent) {
    const engine::CallbackRequest& c = *reply.callback;
    store::HandoffRecord item;
    item.reference = NewHandoffReference();
    item.clinic = clinic.id;
    item.type = "callback";
    item.urgency = memory->last_urgency.empty() ? "none" : memory->last_urgency;
    item.red_flag_kind = memory->last_kind;
    item.consent = true;
    item.first_name = c.first_name;
    item.phone = c.phone_e164;
    item.best_time = c.best_time;
    item.created_ms = now_ms;
    CallbackRequestEvent e{.reference = item.reference,
                           .time_ms = now_ms,
                           .urgency = item.urgency,
                           .red_flag_kind = item.red_flag_kind,
                           .consent = true,
                           .first_name = c.first_name,
                           .phone = c.phone_e164,
                           .best_time = c.best_time,
                           .conversation = std::move(conversation)};
    if (auto event = BuildCallbackRequestEvent(clinic, session_id, e, now_ms)) {
      out.events.push_back(std::move(*event));
    }
    out.reference = item.reference;
    out.handoffs.push_back(std::move(item));
  }
  return out;
}

}  // namespace backline::server
