#include "engine/dialogue.h"

#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/engine/shipped_content.h"

namespace backline::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Not tested here because it cannot be (reported instead): SessionState declares a defaulted
// operator==, but Offer has none, so any `state_a == state_b` fails to compile (libstdc++'s
// vector operator== is unconstrained, so even std::equality_comparable<SessionState> is a
// hard error). dialogue.h promises "Plain data: copy it, store it, compare it."

// =======================================================================================
// Part 1: DialogGraph::Build and MatchAnswer on a hand-made DialogSpec.
// =======================================================================================

Transition To(std::string on, std::string next, int line) {
  Transition t;
  t.on = std::move(on);
  t.next = std::move(next);
  t.where = SourceLocation{"flow.json", line, 9};
  return t;
}

DialogStateSpec State(std::string id, std::vector<Transition> transitions, int line) {
  DialogStateSpec s;
  s.id = std::move(id);
  s.prompt = "prompt of " + s.id;
  s.transitions = std::move(transitions);
  s.where = SourceLocation{"flow.json", line, 5};
  return s;
}

// idle (start) ; ask (entered by an intent): yes -> idle, no -> ask2 ; ask2: a choice that
// answers with entry "e1" and returns to the start state.
DialogSpec ValidSpec() {
  DialogSpec d;
  d.start_state = "idle";
  d.where = SourceLocation{"flow.json", 1, 1};
  d.yes_patterns = {"^(?:yes|yep|i am)\\b"};
  d.no_patterns = {"^(?:no|nope|i am not)\\b"};
  d.slots = {SlotSpec{"in_treatment", "", {"yes", "no"}, {}}};
  d.states.push_back(State("idle", {}, 10));
  DialogStateSpec ask = State("ask", {To("yes", "idle", 21), To("no", "ask2", 22)}, 20);
  ask.transitions[0].set_slot = "in_treatment";
  ask.transitions[1].set_slot = "in_treatment";
  ask.transitions[1].patterns = {"not really", "nah"};
  d.states.push_back(ask);
  DialogStateSpec ask2 = State("ask2", {To("Pain medicines", "", 31)}, 30);
  ask2.transitions[0].action.answer = "e1";
  d.states.push_back(ask2);
  return d;
}

class DialogGraphTest : public ::testing::Test {
 protected:
  DialogGraphTest() : analyzer_(LanguageSpec{}, {}, {}) {}

  std::unique_ptr<DialogGraph> Build(const DialogSpec& spec) {
    diags_.clear();
    return DialogGraph::Build(spec, analyzer_, {"ask"}, {"e1"}, {"E1"}, &diags_);
  }
  // The first error, or a failure when there is none.
  const Diagnostic* FirstError() const {
    for (const auto& d : diags_) {
      if (d.severity == Diagnostic::Severity::kError) return &d;
    }
    return nullptr;
  }
  std::string AllDiags() const {
    std::string s;
    for (const auto& d : diags_) s += d.ToString() + "\n";
    return s;
  }

  Analyzer analyzer_;
  std::vector<Diagnostic> diags_;
};

TEST_F(DialogGraphTest, ValidSpecBuilds) {
  auto g = Build(ValidSpec());
  ASSERT_NE(g, nullptr) << AllDiags();
  EXPECT_TRUE(diags_.empty()) << AllDiags();
  EXPECT_EQ(g->start(), "idle");
  ASSERT_NE(g->Find("ask"), nullptr);
  EXPECT_EQ(g->Find("ask")->spec->id, "ask");
  ASSERT_NE(g->Find(""), nullptr);
  EXPECT_EQ(g->Find("")->spec->id, "idle");  // empty means the start state
  EXPECT_EQ(g->Find("nowhere"), nullptr);
}

TEST_F(DialogGraphTest, UnreachableStateIsAnError) {
  DialogSpec spec = ValidSpec();
  spec.states.push_back(State("orphan", {To("yes", "idle", 41)}, 40));
  EXPECT_EQ(Build(spec), nullptr);
  const Diagnostic* e = FirstError();
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->message, HasSubstr("'orphan'"));
  EXPECT_THAT(e->message, HasSubstr("unreachable"));
  EXPECT_EQ(e->where.line, 40);
}

TEST_F(DialogGraphTest, StateReachedOnlyFromAnUnreachableStateIsUnreachable) {
  DialogSpec spec = ValidSpec();
  spec.states.push_back(State("orphan", {To("yes", "orphan2", 41)}, 40));
  spec.states.push_back(State("orphan2", {To("yes", "idle", 51)}, 50));
  EXPECT_EQ(Build(spec), nullptr);
  int unreachable = 0;
  for (const auto& d : diags_) unreachable += d.message.find("unreachable") != std::string::npos;
  EXPECT_EQ(unreachable, 2) << AllDiags();
}

TEST_F(DialogGraphTest, StatesEnteredOnlyByIntentsMustBeListed) {
  // "ask" is only entered by an intent: listed in reachable_from_outside.
  std::vector<Diagnostic> diags;
  auto g = DialogGraph::Build(ValidSpec(), analyzer_, {}, {"e1"}, {"E1"}, &diags);
  EXPECT_EQ(g, nullptr) << "without the intent, 'ask' and 'ask2' are unreachable";
}

TEST_F(DialogGraphTest, StateWithNoWayOutIsAnError) {
  DialogSpec spec = ValidSpec();
  spec.states[2].transitions[0].next = "stuck";
  spec.states.push_back(State("stuck", {}, 60));
  EXPECT_EQ(Build(spec), nullptr);
  const Diagnostic* e = FirstError();
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->message, HasSubstr("'stuck'"));
  EXPECT_THAT(e->message, HasSubstr("no way out"));
  EXPECT_EQ(e->where.line, 60);
}

TEST_F(DialogGraphTest, TerminalStateMayHaveNoWayOut) {
  DialogSpec spec = ValidSpec();
  spec.states[2].transitions[0].next = "stuck";
  spec.states.push_back(State("stuck", {}, 60));
  spec.states.back().terminal = true;
  EXPECT_NE(Build(spec), nullptr) << AllDiags();
}

TEST_F(DialogGraphTest, UnknownTransitionTargetIsAnErrorAtTheTransition) {
  DialogSpec spec = ValidSpec();
  spec.states[1].transitions[1].next = "nowhere";
  EXPECT_EQ(Build(spec), nullptr);
  const Diagnostic* e = FirstError();
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->message, HasSubstr("'nowhere'"));
  EXPECT_EQ(e->where.line, 22);
  EXPECT_EQ(e->where.file, "flow.json");
}

TEST_F(DialogGraphTest, OtherStructuralErrors) {
  struct Case {
    const char* what;
    void (*mutate)(DialogSpec*);
    const char* message;
  };
  const Case cases[] = {
      {"duplicate state", [](DialogSpec* d) { d->states.push_back(d->states[1]); }, "duplicate"},
      {"start undefined", [](DialogSpec* d) { d->start_state = "begin"; }, "'begin'"},
      {"escalated undefined", [](DialogSpec* d) { d->escalated_state = "alarm"; }, "'alarm'"},
      {"unknown slot set", [](DialogSpec* d) { d->states[1].transitions[0].set_slot = "mood"; },
       "'mood'"},
      {"unknown skip slot", [](DialogSpec* d) { d->states[1].skip_if_slot = "age"; }, "'age'"},
      {"unknown entry", [](DialogSpec* d) { d->states[2].transitions[0].action.answer = "e404"; },
       "'e404'"},
      {"unknown kind", [](DialogSpec* d) { d->states[1].transitions[0].action.escalate = "Z9"; },
       "'Z9'"},
      {"bad pattern", [](DialogSpec* d) { d->states[1].transitions[1].patterns = {"not (really"}; },
       "does not compile"},
      {"bad yes pattern", [](DialogSpec* d) { d->yes_patterns = {"[yes"}; }, "does not compile"},
      {"transition without on", [](DialogSpec* d) { d->states[1].transitions[0].on = ""; },
       "no \"on\""},
  };
  for (const Case& c : cases) {
    DialogSpec spec = ValidSpec();
    c.mutate(&spec);
    EXPECT_EQ(Build(spec), nullptr) << c.what;
    const Diagnostic* e = FirstError();
    ASSERT_NE(e, nullptr) << c.what;
    EXPECT_THAT(AllDiags(), HasSubstr(c.message)) << c.what;
  }
}

TEST_F(DialogGraphTest, EveryProblemIsReportedInOneRun) {
  DialogSpec spec = ValidSpec();
  spec.states[1].transitions[1].next = "nowhere";                       // unknown target
  spec.states.push_back(State("orphan", {To("yes", "idle", 41)}, 40));  // unreachable
  spec.states[2].transitions[0].action.answer = "e404";                 // unknown entry
  EXPECT_EQ(Build(spec), nullptr);
  int errors = 0;
  for (const auto& d : diags_) errors += d.severity == Diagnostic::Severity::kError;
  EXPECT_GE(errors, 3) << AllDiags();
}

TEST_F(DialogGraphTest, SlotNeverFilledIsOnlyAWarning) {
  DialogSpec spec = ValidSpec();
  spec.slots.push_back(SlotSpec{"unused", "", {}, SourceLocation{"flow.json", 5, 7}});
  auto g = Build(spec);
  ASSERT_NE(g, nullptr) << AllDiags();
  ASSERT_EQ(diags_.size(), 1u);
  EXPECT_EQ(diags_[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_THAT(diags_[0].message, HasSubstr("'unused'"));
  EXPECT_EQ(diags_[0].where.line, 5);
}

TEST_F(DialogGraphTest, MatchAnswerPrefersLabelsThenPatternsThenYesNo) {
  auto g = Build(ValidSpec());
  ASSERT_NE(g, nullptr) << AllDiags();
  const DialogGraph::State& ask = *g->Find("ask");
  const DialogGraph::State& ask2 = *g->Find("ask2");
  auto match = [&](const DialogGraph::State& s, const char* text) {
    return g->MatchAnswer(s, analyzer_.Analyze(text));
  };
  EXPECT_EQ(match(ask, "yes"), 0);
  EXPECT_EQ(match(ask, "Yep, it is"), 0);
  EXPECT_EQ(match(ask, "no"), 1);
  EXPECT_EQ(match(ask, "nope"), 1);
  EXPECT_EQ(match(ask, "well, not really"), 1);  // an extra pattern of "no"
  EXPECT_EQ(match(ask, "I am not"), -1);         // both yes ("i am") and no: ambiguous
  EXPECT_EQ(match(ask, "maybe"), -1);
  EXPECT_EQ(match(ask2, "Pain medicines"), 0);
  EXPECT_EQ(match(ask2, "pain medicines"), 0);  // typed, not tapped
  EXPECT_EQ(match(ask2, "yes"), -1);            // this state has no "yes" answer
  EXPECT_EQ(match(ask2, "pain medicines and sleep"), -1);
}

// A flow that captures a personal name: idle -> (intent) name -> idle, with a consent state.
DialogSpec CaptureSpecFlow() {
  DialogSpec d = ValidSpec();
  SlotSpec name{"name", "", {}, SourceLocation{"flow.json", 6, 7}};
  name.personal = true;
  d.slots.push_back(name);
  DialogStateSpec ask_name = State("ask-name", {To("Cancel", "idle", 71)}, 70);
  ask_name.personal = true;
  ask_name.prompt = "Your name?";
  CaptureSpec c;
  c.slot = "name";
  c.kind = CaptureSpec::Kind::kName;
  c.next = "consent";
  ask_name.ask_again = "Just your first name, please.";
  c.where = SourceLocation{"flow.json", 72, 9};
  ask_name.capture = c;
  d.states.push_back(ask_name);
  DialogStateSpec consent = State("consent", {To("yes", "idle", 81), To("no", "idle", 82)}, 80);
  consent.personal = true;
  consent.prompt = "Send it, {slot.name}?";
  consent.transitions[0].action.callback = true;
  consent.transitions[0].action.callback_first_name_slot = "name";
  consent.transitions[0].action.callback_phone_slot = "name";
  d.states.push_back(consent);
  return d;
}

TEST_F(DialogGraphTest, CaptureFlowBuildsAndKnowsItsPersonalSlots) {
  std::vector<Diagnostic> diags;
  auto g =
      DialogGraph::Build(CaptureSpecFlow(), analyzer_, {"ask", "ask-name"}, {"e1"}, {"E1"}, &diags);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->personal_slots(), std::vector<std::string>{"name"});
  EXPECT_TRUE(g->IsPersonal("name"));
  EXPECT_FALSE(g->IsPersonal("in_treatment"));
  // The capture is the state's way on: "consent" is reachable through it alone.
  for (const auto& d : diags) EXPECT_EQ(d.message.find("unreachable"), std::string::npos);
}

TEST_F(DialogGraphTest, CaptureProblemsAreErrorsWithTheirLocation) {
  auto build = [&](const DialogSpec& spec) {
    diags_.clear();
    return DialogGraph::Build(spec, analyzer_, {"ask", "ask-name"}, {"e1"}, {"E1"}, &diags_);
  };
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[3].capture->slot = "nmae";
    EXPECT_EQ(build(spec), nullptr);
    ASSERT_NE(FirstError(), nullptr);
    EXPECT_THAT(FirstError()->message, HasSubstr("unknown slot 'nmae'"));
    EXPECT_EQ(FirstError()->where.line, 72);
  }
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[3].personal = false;  // the name would outlive the flow
    EXPECT_EQ(build(spec), nullptr);
    ASSERT_NE(FirstError(), nullptr);
    EXPECT_THAT(FirstError()->message, HasSubstr("not marked \"personal\""));
  }
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[3].capture->next = "nowhere";
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("leads to unknown state 'nowhere'"));
  }
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[3].ask_again.clear();
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("has no \"ask_again\""));
  }
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[3].capture->display_slot = "name";  // a name has no display form
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("only a \"phone\" capture has a display_slot"));
  }
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[4].ask_again = "Send it, {slot.nmae}?";
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("\"{slot.nmae}\" names no declared slot"));
  }
  {
    DialogSpec spec = CaptureSpecFlow();
    spec.states[4].transitions[0].action.callback_phone_slot.clear();
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("needs a \"first_name\" and a \"phone\" slot"));
  }
  {
    // Only consent makes a request.
    DialogSpec spec = CaptureSpecFlow();
    spec.states[4].transitions[1].action = spec.states[4].transitions[0].action;
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("only by the answer \"yes\""));
  }
  {
    // A personal slot set by a transition of a state outside the flow.
    DialogSpec spec = CaptureSpecFlow();
    spec.states[1].transitions[0].set_slot = "name";
    EXPECT_EQ(build(spec), nullptr);
    EXPECT_THAT(AllDiags(), HasSubstr("sets the personal slot 'name'"));
  }
}

// =======================================================================================
// Part 2: the shipped flow (dialogs/flow.json, intents.json) through Engine::Turn.
// =======================================================================================

using testing::Converse;
using testing::LoadShipped;

std::vector<std::string> StateIds(const Engine& e) {
  std::vector<std::string> ids;
  for (const auto& s : e.content().dialog.states) ids.push_back(s.id);
  return ids;
}

// How to reach each state of dialogs/flow.json from a fresh session.
const std::map<std::string, std::vector<std::string>>& PathTo() {
  static const std::map<std::string, std::vector<std::string>> kPaths = {
      {"idle", {}},
      {"check-new", {"I have back pain"}},
      {"check-nerve", {"I have back pain", "yes"}},
      {"check-treatment", {"I have back pain", "no"}},
      {"offer-topics", {"I have back pain", "no", "yes"}},
      {"escalated", {"my legs keep giving way"}},
      {"escalated-urgent", {"my oxycodone isnt working anymore"}},
      // The classifier's safety net: a report no rule names (engine/classifier.h).
      {"screen",
       {"feel like someone else's legs are attached to me, they just do not do "
        "what I tell them"}},
      // The callback request (issue 22).
      {"callback-offer", {"I want to talk to someone"}},
      {"callback-name", {"can I have a callback"}},
      {"callback-phone", {"can I have a callback", "Sam"}},
      {"callback-phone-check", {"can I have a callback", "Sam", "(201) 555-0123"}},
      {"callback-time", {"can I have a callback", "Sam", "(201) 555-0123", "yes"}},
      {"callback-consent", {"can I have a callback", "Sam", "(201) 555-0123", "yes", "Morning"}},
  };
  return kPaths;
}

// The shipped-content checks are grouped into a few tests: loading the content costs most of
// a second per test process (see shipped_content.h).
TEST(ShippedDialogue, PainReportFlowSlotAndRedFlagInterrupts) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  // "I have back pain" -> check-new (yes/no) -> "yes" -> check-nerve (yes/no).
  SessionState state;
  TurnResult r = Converse({"I have back pain"}, &state, s.clinic());
  EXPECT_EQ(r.state.state, "check-new");
  EXPECT_EQ(r.reply.urgency, Urgency::kNone);
  EXPECT_EQ(r.reply.topic, "cancer-vs-ordinary");
  EXPECT_THAT(r.reply.quick_replies, ElementsAre("yes", "no"));

  r = Converse({"yes"}, &state, s.clinic());
  EXPECT_EQ(r.state.state, "check-nerve");
  EXPECT_EQ(r.reply.urgency, Urgency::kNone);
  EXPECT_THAT(r.reply.quick_replies, ElementsAre("yes", "no"));
  EXPECT_THAT(r.reply.text, HasSubstr("numbness"));

  // "no" there -> U1 urgent escalation; "yes" -> E1 emergency.
  SessionState at_nerve = state;
  r = Converse({"no"}, &state, s.clinic());
  EXPECT_EQ(r.reply.urgency, Urgency::kUrgent);
  EXPECT_EQ(r.reply.red_flag_kind, "U1");
  EXPECT_EQ(r.reply.topic, "red-flag");
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "escalation");
  // Urgent: nobody is on the way, so its own next steps.
  EXPECT_EQ(r.state.state, "escalated-urgent");
  r = Converse({"yes"}, &at_nerve, s.clinic());
  EXPECT_EQ(r.reply.urgency, Urgency::kEmergency);
  EXPECT_EQ(r.reply.red_flag_kind, "E1");
  EXPECT_EQ(r.reply.topic, "red-flag");
  EXPECT_EQ(r.state.state, "escalated");

  // Other ways to report pain start the flow too; worded answers are understood.
  for (const char* text : {"my back hurts", "my lower back aches"}) {
    SessionState other;
    EXPECT_EQ(Converse({text}, &other, s.clinic()).state.state, "check-new") << text;
  }
  for (const auto& [text, want] : std::map<std::string, std::string>{
           {"it's getting worse", "check-nerve"},
           {"yes it is new", "check-nerve"},
           {"same as always", "check-treatment"},
           {"I've had it for years, it's ongoing", "check-treatment"}}) {
    SessionState other;
    EXPECT_EQ(Converse({"I have back pain", text}, &other, s.clinic()).state.state, want)
        << "answer to check-new: \"" << text << "\"";
  }

  // The slot: check-treatment fills in_treatment, and is skipped the second time through.
  SessionState slot;
  r = Converse({"I have back pain", "no"}, &slot, s.clinic());
  ASSERT_EQ(r.state.state, "check-treatment");
  EXPECT_THAT(r.reply.quick_replies, ElementsAre("yes", "no"));
  EXPECT_EQ(r.state.slots.count("in_treatment"), 0u);
  r = Converse({"yes"}, &slot, s.clinic());
  EXPECT_EQ(r.state.slots.at("in_treatment"), "yes");
  EXPECT_EQ(r.state.state, "offer-topics");
  EXPECT_THAT(r.reply.text, HasSubstr("Treatment can cause aches"));
  EXPECT_THAT(r.reply.quick_replies, ::testing::Contains("Pain medicines"));
  r = Converse({"I have back pain"}, &slot, s.clinic());
  ASSERT_EQ(r.state.state, "check-new");
  EXPECT_EQ(r.state.slots.at("in_treatment"), "yes");  // slots survive
  r = Converse({"no"}, &slot, s.clinic());
  EXPECT_EQ(r.state.state, "offer-topics");
  EXPECT_THAT(r.reply.text, HasSubstr("Treatment can cause aches"));
  EXPECT_THAT(r.reply.text, Not(HasSubstr("Are you having cancer treatment")));

  // offer-topics: a choice, tapped or typed, answers with its entry.
  for (const char* choice : {"Pain medicines", "pain medicines"}) {
    SessionState offer = slot;
    ASSERT_EQ(offer.state, "offer-topics");
    r = Converse({choice}, &offer, s.clinic());
    EXPECT_EQ(r.reply.entry_id, "care-team-pain-plan-questions") << choice;
    EXPECT_EQ(r.reply.topic, "care-team") << choice;
    EXPECT_EQ(r.state.state, "idle") << choice;
  }

  // A question instead of an answer leaves the flow and is answered.
  SessionState leave;
  r = Converse({"I have back pain", "can I take ibuprofen with chemo?"}, &leave, s.clinic());
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "answer");
  EXPECT_EQ(r.reply.topic, "nsaids");
  EXPECT_EQ(r.state.state, "idle");

  // A red flag interrupts every state of flow.json.
  const struct {
    const char* text;
    Urgency urgency;
    const char* kind;
  } flags[] = {
      {"my legs keep giving way", Urgency::kEmergency, "E1"},
      {"yes and my dad took way too many oxys and won't wake up", Urgency::kEmergency, "E2"},
      {"no, but I've got new pain between my shoulder blades", Urgency::kUrgent, "U1"},
  };
  for (const std::string& id : StateIds(s.engine())) {
    auto path = PathTo().find(id);
    ASSERT_NE(path, PathTo().end()) << "state '" << id << "' of flow.json is new: add a path";
    for (const auto& f : flags) {
      SessionState at;
      Converse(path->second, &at, s.clinic());
      ASSERT_EQ(at.state.empty() ? s.engine().content().dialog.start_state : at.state, id)
          << "the path did not reach '" << id << "'";
      const TurnResult got = Converse({f.text}, &at, s.clinic());
      EXPECT_EQ(got.explanation.state_before, id);
      EXPECT_EQ(std::string(UrgencyName(got.reply.urgency)) + " " + got.reply.red_flag_kind + " " +
                    got.reply.topic + " -> " + got.state.state,
                std::string(UrgencyName(f.urgency)) + " " + f.kind + " red-flag -> " +
                    (f.urgency == Urgency::kUrgent ? "escalated-urgent" : "escalated"))
          << "in state '" << id << "': " << f.text;
    }
  }

  // After an escalation: the next steps are offered as quick replies.
  SessionState after;
  r = Converse({"my legs keep giving way"}, &after, s.clinic());
  EXPECT_THAT(
      r.reply.quick_replies,
      ElementsAre("I have called for help", "I have another question", "Ask the team to call me"));
  SessionState escalated = after;
  r = Converse({"I have called for help"}, &after, s.clinic());
  EXPECT_THAT(r.reply.text, HasSubstr("stay with someone"));
  EXPECT_EQ(r.reply.urgency, Urgency::kNone);
  EXPECT_EQ(r.state.state, "idle");
  r = Converse({"I have another question"}, &escalated, s.clinic());
  EXPECT_THAT(r.reply.text, HasSubstr("What would you like to know"));
  EXPECT_EQ(r.state.state, "idle");
}

// Answering check-new with "it's not new" or "it is not worse" means "no": of the expected
// answers whose patterns match, the longest match wins, so "not new" beats "new".
TEST(ShippedDialogue, CheckNewNegatedWordedAnswersMeanNo) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  for (const char* text : {"it's not new", "it is not worse"}) {
    SessionState state;
    const TurnResult r = Converse({"I have back pain", text}, &state, s.clinic());
    EXPECT_EQ(r.state.state, "check-treatment") << "answer to check-new: \"" << text << "\"";
  }
}

}  // namespace
}  // namespace backline::engine
