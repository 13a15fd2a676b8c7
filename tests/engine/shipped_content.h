// The shipped content (knowledge/ and dialogs/ of this source tree), loaded once per test
// process for the tests that check real conversations.
//
// Loading and compiling takes a noticeable fraction of a second in a Debug build, and CTest
// runs every test in its own process, so tests that need the shipped content share this one
// copy and the tables below are grouped into a few tests rather than one test per message.
#ifndef BACKLINE_TESTS_ENGINE_SHIPPED_CONTENT_H_
#define BACKLINE_TESTS_ENGINE_SHIPPED_CONTENT_H_

#include <memory>
#include <string>
#include <vector>

#include "content/content.h"
#include "engine/engine.h"

namespace backline::testing {

struct Shipped {
  std::shared_ptr<const content::Content> content;
  std::string errors;  // every diagnostic, one per line, when loading failed

  const engine::Engine& engine() const { return *content->engine; }
  const engine::Clinic& clinic(const std::string& id = "default") const {
    return content->ClinicOrDefault(id);
  }
};

// REQUIRES: call from a test; check `content` before use (ASSERT_SHIPPED does).
inline const Shipped& LoadShipped() {
  static const Shipped* const shipped = [] {
    auto* s = new Shipped();
    std::vector<engine::Diagnostic> diags;
    auto loaded = content::LoadContent(content::DefaultContentPaths(), &diags);
    if (loaded.ok()) s->content = std::move(loaded).value();
    for (const auto& d : diags) s->errors += d.ToString() + "\n";
    return s;
  }();
  return *shipped;
}

// Sends `messages` in order from a fresh session and returns the last turn.
inline engine::TurnResult Converse(const std::vector<std::string>& messages,
                                   engine::SessionState* state, const engine::Clinic& clinic) {
  const engine::Engine& e = LoadShipped().engine();
  engine::TurnResult last;
  for (const auto& m : messages) {
    last = e.Turn(*state, m, clinic);
    *state = last.state;
  }
  return last;
}

}  // namespace backline::testing

#define ASSERT_SHIPPED(s) \
  ASSERT_NE((s).content, nullptr) << "the shipped content failed to load:\n" << (s).errors

#endif  // BACKLINE_TESTS_ENGINE_SHIPPED_CONTENT_H_
