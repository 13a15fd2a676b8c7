#include "server/webhook_events.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include <nlohmann/json.hpp>

#include "server/util.h"

namespace backline::server {
namespace {

using json = nlohmann::json;

json Conversation(const std::vector<ConversationLine>& lines) {
  json out = json::array();
  for (const auto& l : lines) {
    out.push_back({{"from", l.from}, {"text", l.text}, {"time", Rfc3339Ms(l.time_ms)}});
  }
  return out;
}

// The envelope around `data`, as an EventRecord for the outbox; nullopt without endpoints.
std::optional<store::EventRecord> Record(const engine::Clinic& clinic, std::string session_id,
                                         std::string_view type, json data, int64_t created_ms) {
  store::EventRecord r;
  r.endpoints = WebhookEndpointsFor(clinic, type);
  if (r.endpoints.empty()) return std::nullopt;
  r.key = NewEventKey();
  r.clinic = clinic.id;
  r.session_id = std::move(session_id);
  r.type = std::string(type);
  r.created_ms = created_ms;
  const json body = {{"id", r.key},         {"type", r.type},
                     {"version", 1},        {"created", Rfc3339Ms(created_ms)},
                     {"clinic", clinic.id}, {"data", std::move(data)}};
  // Patient text may hold anything; replace invalid UTF-8 instead of throwing.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace

std::string Rfc3339Ms(int64_t unix_ms) {
  const time_t t = static_cast<time_t>(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char when[40];
  const size_t n = std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(when + n, sizeof when - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return when;
}

std::vector<ConversationLine> ConversationFromTurns(const std::vector<store::TurnRecord>& turns) {
  std::vector<ConversationLine> out;
  out.reserve(turns.size() * 2);
  for (const auto& t : turns) {
    out.push_back({"person", t.user_text, t.received_ms});
    out.push_back({"backline", t.reply_text, t.replied_ms});
  }
  return out;
}

std::string NewEventKey() { return "evt_" + RandomHex(16); }

std::vector<std::string> WebhookEndpointsFor(const engine::Clinic& clinic, std::string_view type) {
  std::vector<std::string> ids;
  for (const auto& w : clinic.webhooks) {
    if (std::find(w.events.begin(), w.events.end(), type) != w.events.end()) ids.push_back(w.id);
  }
  return ids;
}

std::optional<store::EventRecord> BuildEscalationEvent(const engine::Clinic& clinic,
                                                       std::string session_id,
                                                       const EscalationEvent& e,
                                                       int64_t created_ms) {
  json data = {{"reference", e.reference},
               {"kind", e.kind},
               {"tier", e.tier},
               {"time", Rfc3339Ms(e.time_ms)},
               {"consent", e.consent}};
  if (e.consent) data["conversation"] = Conversation(e.conversation);
  return Record(clinic, std::move(session_id), kEventEscalation, std::move(data), created_ms);
}

std::optional<store::EventRecord> BuildCallbackRequestEvent(const engine::Clinic& clinic,
                                                            std::string session_id,
                                                            const CallbackRequestEvent& e,
                                                            int64_t created_ms) {
  json data = {{"reference", e.reference},
               {"time", Rfc3339Ms(e.time_ms)},
               {"urgency", e.urgency.empty() ? "none" : e.urgency},
               {"consent", e.consent}};
  if (!e.red_flag_kind.empty()) data["red_flag_kind"] = e.red_flag_kind;
  if (e.consent) {
    data["first_name"] = e.first_name;
    data["phone"] = e.phone;
    data["best_time"] = e.best_time;
    data["conversation"] = Conversation(e.conversation);
  }
  return Record(clinic, std::move(session_id), kEventCallbackRequest, std::move(data), created_ms);
}

std::optional<store::EventRecord> BuildFeedbackEvent(const engine::Clinic& clinic,
                                                     std::string session_id, const FeedbackEvent& e,
                                                     int64_t created_ms) {
  json data = {{"time", Rfc3339Ms(e.time_ms)}, {"rating", e.rating < 0 ? -1 : 1},
               {"comment", e.comment},         {"topic", e.topic},
               {"entry_id", e.entry_id},       {"reply_kind", e.reply_kind}};
  return Record(clinic, std::move(session_id), kEventFeedback, std::move(data), created_ms);
}

std::optional<store::EventRecord> BuildHandoffStatusEvent(const engine::Clinic& clinic,
                                                          std::string session_id,
                                                          const HandoffStatusEvent& e,
                                                          int64_t created_ms) {
  json data = {{"reference", e.reference},
               {"handoff_type", e.type},
               {"status", e.status},
               {"by", e.by},
               {"time", Rfc3339Ms(e.time_ms)}};
  return Record(clinic, std::move(session_id), kEventHandoffStatus, std::move(data), created_ms);
}

}  // namespace backline::server
