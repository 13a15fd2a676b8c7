// libFuzzer target: one WebSocket text frame as the chat protocol sees it.
//
// The payload goes through ParseClientFrame exactly as WebSocketSession::Handle receives it
// (any bytes: Beast passes binary and invalid-UTF-8 frames on as well), and the answer the
// server would send back is built. The same bytes are also read as a stored session state
// (StateFromJson), the other JSON this layer parses. Invariants checked:
//   - a frame is either usable (type set, no error) or refused (error code and message set);
//   - a usable "message" has non-blank text, "feedback" a rating of +1 or -1;
//   - every frame the server would send is valid JSON;
//   - ParseClientFrame reads every frame as ParseClientFrameWithTree does;
//   - a state that is read back is written out and read back to the same state.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/dialogue.h"
#include "engine/engine.h"
#include "server/protocol.h"

namespace {

using backline::server::ClientFrame;

// A broken invariant is a crash, so that libFuzzer keeps the input.
void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckIsJson(const std::string& frame) { Check(nlohmann::json::accept(frame)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);

  const ClientFrame f = backline::server::ParseClientFrame(payload);
  // The common frames are read without a JSON tree: they must come out as the tree reads them.
  const ClientFrame tree = backline::server::ParseClientFrameWithTree(payload);
  Check(f.type == tree.type && f.text == tree.text && f.seq == tree.seq &&
        f.rating == tree.rating && f.comment == tree.comment && f.error_code == tree.error_code &&
        f.error_message == tree.error_message);
  if (!f.error_code.empty()) {
    Check(f.type.empty() && !f.error_message.empty());
    CheckIsJson(backline::server::ErrorFrame(f.error_code, f.error_message));
  } else {
    Check(!f.type.empty() && backline::server::IsValidUtf8(payload));
    if (f.type == "message") {
      Check(f.text.find_first_not_of(" \t\r\n") != std::string::npos);
      // The reply frame carries the text the person sent back to them in history.
      backline::engine::Reply echo;
      echo.text = f.text;
      CheckIsJson(backline::server::ReplyFrame(echo, 1));
    } else if (f.type == "feedback") {
      Check(f.rating == 1 || f.rating == -1);
      Check(f.comment.size() <= 1000);
    }
  }

  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    backline::engine::SessionState state;
    if (backline::server::StateFromJson(j, &state)) {
      backline::engine::SessionState again;
      Check(backline::server::StateFromJson(backline::server::StateToJson(state), &again));
      Check(again == state);
    }
  }
  return 0;
}
