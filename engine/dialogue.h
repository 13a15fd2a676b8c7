// The finite-state dialogue layer: states, expected answers, transitions and
// slots.
//
// A DialogGraph is compiled once from a DialogSpec and never changes. The
// per-conversation part is a SessionState value: the engine takes one and
// returns the next (engine/engine.h), so a conversation can be stored, resumed
// and tested without the engine holding any of it.
//
// Thread safety: a const DialogGraph may be shared by any number of threads.
#ifndef BACKLINE_ENGINE_DIALOGUE_H_
#define BACKLINE_ENGINE_DIALOGUE_H_

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/analyzer.h"
#include "engine/content.h"
#include "engine/pattern.h"

namespace backline::engine {

// A quick reply the last reply offered, and what choosing it means.
struct Offer {
  std::string label;     // the text shown on the button and sent back when tapped
  std::string entry_id;  // an FAQ entry to answer with, or empty

  bool operator==(const Offer&) const = default;
};

// One conversation's state. Plain data: copy it, store it, compare it.
struct SessionState {
  std::string state;                         // dialog state id; empty means the start state
  std::map<std::string, std::string> slots;  // filled slots
  std::vector<Offer> offers;                 // quick replies of the last reply
  int turns = 0;                             // turns taken so far

  bool operator==(const SessionState&) const = default;
};

class DialogGraph {
 public:
  struct State {
    const DialogStateSpec* spec;
    // Compiled matchers parallel to spec->transitions.
    std::vector<std::unique_ptr<Pattern>> extra;  // may hold nullptr
    std::vector<std::string> label_canonical;     // canonical text of each `on`
  };

  // Compiles and validates: unknown targets, states with no way out,
  // unreachable states, bad patterns, unknown slots (in transitions, captures, callbacks
  // and {slot.NAME} in texts), personal slots captured outside a personal state. Errors and
  // warnings go to diags; returns nullptr on error. `reachable_from_outside` lists states entered
  // from elsewhere (intents' next_state). `known_entries` and `known_kinds` check actions that name
  // an entry or a red-flag kind.
  static std::unique_ptr<DialogGraph> Build(const DialogSpec& spec, const Analyzer& analyzer,
                                            const std::vector<std::string>& reachable_from_outside,
                                            const std::vector<std::string>& known_entries,
                                            const std::vector<std::string>& known_kinds,
                                            std::vector<Diagnostic>* diags);

  const State* Find(const std::string& id) const;
  const DialogSpec& spec() const { return spec_; }
  const std::string& start() const { return spec_.start_state; }

  // Which transition of `state` the analysed answer takes, or -1.
  int MatchAnswer(const State& state, const Analysis& a) const;

  // The slots marked "personal", which the engine clears once the dialog leaves the states
  // marked "personal".
  const std::vector<std::string>& personal_slots() const { return personal_slots_; }
  bool IsPersonal(const std::string& slot) const;

 private:
  DialogGraph() = default;

  DialogSpec spec_;
  std::vector<std::string> personal_slots_;
  std::unordered_map<std::string, State> states_;
  std::unique_ptr<Pattern> yes_, no_;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_DIALOGUE_H_
