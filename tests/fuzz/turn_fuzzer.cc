// libFuzzer target: one user turn through the whole engine, with the shipped content.
//
// The shipped knowledge base and dialogs are loaded and compiled once (LLVMFuzzerInitialize);
// each input is the text of a turn: any bytes (the engine must not trust its caller to have
// checked UTF-8), any length up to the WebSocket frame limit (4096 bytes, the default
// max_message_bytes). The text is sent three times: from the start of a conversation, again
// from the state the first turn left (an answer to a question the engine asked), and from the
// dialog state chosen by the first byte (a resumed conversation may be in any state).
// Invariants: every reply has a kind and text, and its frame is valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "content/content.h"
#include "engine/dialogue.h"
#include "engine/engine.h"
#include "server/protocol.h"

namespace {

constexpr size_t kFrameLimit = 4096;

std::shared_ptr<const backline::content::Content> g_content;

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckReply(const backline::engine::TurnResult& r) {
  backline::engine::ReplyKind kind;
  Check(backline::engine::ParseReplyKind(backline::engine::ReplyKindName(r.reply.kind), &kind) &&
        !r.reply.text.empty());
  Check(nlohmann::json::accept(backline::server::ReplyFrame(r.reply, 1)));
  Check(r.state.turns >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  std::vector<backline::engine::Diagnostic> diags;
  auto loaded = backline::content::LoadContent(backline::content::DefaultContentPaths(), &diags);
  if (loaded.ok()) g_content = std::move(loaded).value();
  if (!g_content) {
    for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::fprintf(stderr, "turn_fuzzer: the shipped content did not load\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kFrameLimit) return -1;  // the server refuses it before the engine sees it
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const backline::engine::Engine& engine = *g_content->engine;
  const backline::engine::Clinic& clinic = g_content->ClinicOrDefault("default");

  const backline::engine::SessionState start;
  const backline::engine::TurnResult first = engine.Turn(start, text, clinic);
  CheckReply(first);
  Check(first.state.turns == 1);
  CheckReply(engine.Turn(first.state, text, clinic));

  const auto& states = engine.content().dialog.states;
  if (size > 0 && !states.empty()) {
    backline::engine::SessionState resumed;
    resumed.state = states[data[0] % states.size()].id;
    resumed.turns = 3;
    CheckReply(engine.Turn(resumed, text, clinic));
  }
  return 0;
}
