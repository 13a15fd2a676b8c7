// The WebSocket chat protocol (version 1): frame parsing and building, session ids, and the
// JSON form of a conversation's state. See README.md "The chat protocol" for every message.
#ifndef BACKLINE_SERVER_PROTOCOL_H_
#define BACKLINE_SERVER_PROTOCOL_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/dialogue.h"
#include "engine/engine.h"
#include "store/store.h"

namespace backline::server {

constexpr int kProtocolVersion = 1;

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// 128 random bits from the operating system's generator, as 32 hex digits.
std::string NewSessionId();
// True when `id` looks like one of ours (32 lowercase hex digits).
bool IsSessionIdShaped(std::string_view id);

nlohmann::json StateToJson(const engine::SessionState& state);
// StateToJson(state).dump(), written straight to a string (once per turn, for the store).
std::string StateJson(const engine::SessionState& state);
// False (state untouched) when `j` is not a state this server wrote.
bool StateFromJson(const nlohmann::json& j, engine::SessionState* state);

// A client frame, parsed. `error` is set (and `type` empty) when the frame is unusable.
struct ClientFrame {
  std::string type;        // "message", "resume", "history", "feedback", "delete", "ping"
  std::string text;        // message
  std::string session;     // resume: the id of an earlier welcome (any string: checked later)
  int64_t seq = 0;         // feedback: the turn it is about
  int rating = 0;          // feedback: +1 or -1
  std::string comment;     // feedback
  std::string error_code;  // "invalid_utf8", "invalid_json", "unknown_type", "bad_field", ...
  std::string error_message;
};
ClientFrame ParseClientFrame(std::string_view payload);
// The same, every frame through a nlohmann::json tree: what ParseClientFrame does for any frame
// that is not a common one. For the tests and the fuzz target, which hold the two equal.
ClientFrame ParseClientFrameWithTree(std::string_view payload);

std::string ErrorFrame(std::string_view code, std::string_view message);
std::string WelcomeFrame(const std::string& session, bool resumed, const engine::Clinic& clinic,
                         const engine::Reply& welcome, int64_t turns);
std::string ReplyFrame(const engine::Reply& reply, int64_t seq);
// The parts of a reply a turn record keeps (TurnRecord::parts): the reply frame's keys other
// than type, seq, text, topic, urgency and kind, as a JSON object ("" when there are none).
std::string ReplyParts(const engine::Reply& reply);
// Each turn: seq, text (what the person typed), reply, topic, urgency, kind, at, and the keys
// of its parts (quick_replies, sources, tell_them, ...), so that the client can redraw the
// reply as it was first shown. Parts that are not a JSON object are left out.
std::string HistoryFrame(const std::vector<store::TurnRecord>& turns);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_PROTOCOL_H_
