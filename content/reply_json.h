// The JSON form of a reply, shared by `backline ask` and the WebSocket
// protocol.
#ifndef BACKLINE_CONTENT_REPLY_JSON_H_
#define BACKLINE_CONTENT_REPLY_JSON_H_

#include <nlohmann/json.hpp>

#include "engine/engine.h"

namespace backline::content {

// {"topic", "urgency", "text", "kind", ...}: the contract's fields and the
// optional extras (entry, intent, red_flag, tell_them, score, quick_replies,
// sources, screening, callback_request) when they have a value. A callback request's
// details (name, number) are never in it.
nlohmann::json ReplyToJson(const engine::Reply& reply);

// The explanation of a turn, for --explain.
nlohmann::json ExplanationToJson(const engine::Explanation& ex);

}  // namespace backline::content

#endif  // BACKLINE_CONTENT_REPLY_JSON_H_
