#include "engine/engine.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/engine/shipped_content.h"
#include "tests/engine/test_topics.h"

namespace backline::engine {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// =======================================================================================
// Part 1: Engine::Render, and Engine::Compile on a small hand-made ContentSpec (no I/O).
// =======================================================================================

Clinic DemoClinic() {
  Clinic c;
  c.id = "demo";
  c.name = "Riverside Cancer Centre";
  c.care_team_phone = "555-0142";
  c.after_hours_phone = "555-0199";
  c.emergency_number = "999";
  c.crisis_line = "116 123";
  return c;
}

TEST(ReplyKindTest, EveryKindHasOneNameThatParsesBack) {
  std::set<std::string> names;
  for (ReplyKind k :
       {ReplyKind::kWelcome, ReplyKind::kEscalation, ReplyKind::kAnswer, ReplyKind::kClarify,
        ReplyKind::kFallback, ReplyKind::kIntent, ReplyKind::kPrompt, ReplyKind::kRefusal}) {
    const std::string name = ReplyKindName(k);
    EXPECT_TRUE(names.insert(name).second) << name << " names two kinds";
    ReplyKind back = k == ReplyKind::kAnswer ? ReplyKind::kFallback : ReplyKind::kAnswer;
    ASSERT_TRUE(ParseReplyKind(name, &back)) << name;
    EXPECT_EQ(back, k) << name;
  }
  ReplyKind untouched = ReplyKind::kAnswer;
  EXPECT_FALSE(ParseReplyKind("Answer", &untouched));
  EXPECT_FALSE(ParseReplyKind("", &untouched));
  EXPECT_EQ(untouched, ReplyKind::kAnswer);
}

TEST(RenderTest, FillsEveryPlaceholderFromTheClinic) {
  EXPECT_EQ(Engine::Render("Call {care_team_phone}; nights {after_hours_phone}; "
                           "emergency {emergency_number}; crisis {crisis_line}; "
                           "{clinic_name}.",
                           DemoClinic()),
            "Call 555-0142; nights 555-0199; emergency 999; crisis 116 123; "
            "Riverside Cancer Centre.");
}

TEST(RenderTest, UnconfiguredPhonesBecomeDescriptions) {
  const Clinic none;  // the built-in default: no phones
  const std::string care = Engine::Render("{care_team_phone}", none);
  const std::string after = Engine::Render("{after_hours_phone}", none);
  // Both read inside "call ... on {phone}" and say where the number is found.
  EXPECT_EQ(care, "the number on your clinic card");
  EXPECT_EQ(after, "the number on your clinic card");
  // Never twice in one sentence: the second says which number on the card.
  EXPECT_EQ(Engine::Render(
                "Call your team on {care_team_phone}; out of hours, {after_hours_phone}.", none),
            "Call your team on the number on your clinic card; out of hours, the out-of-hours "
            "number on the same card.");
  EXPECT_EQ(Engine::Render("Save {after_hours_phone} and {care_team_phone} in your phone.", none),
            "Save the number on your clinic card and the care team number on the same card in "
            "your phone.");
  // A new sentence may name the card again.
  EXPECT_EQ(Engine::Render("Call {care_team_phone}. At night, call {after_hours_phone}.", none),
            "Call the number on your clinic card. At night, call the number on your clinic card.");
  Clinic set;
  set.care_team_phone = "555-0142";
  set.after_hours_phone = "555-0199";
  EXPECT_EQ(Engine::Render("{care_team_phone} / {after_hours_phone}", set), "555-0142 / 555-0199");
}

TEST(RenderTest, EmptyClinicFieldsFallBackToSafeDefaults) {
  Clinic c;
  c.name.clear();
  c.emergency_number.clear();
  c.crisis_line.clear();
  EXPECT_EQ(Engine::Render("{clinic_name}: {emergency_number}, {crisis_line}", c),
            "your cancer centre: 911, 988");
}

TEST(RenderTest, RepeatedPlaceholdersAreAllFilled) {
  EXPECT_EQ(Engine::Render("{emergency_number} {emergency_number}", DemoClinic()), "999 999");
}

TEST(RenderTest, UnknownOrUnclosedBracesAreLeftAlone) {
  EXPECT_EQ(Engine::Render("{unknown} {care_team_phone", DemoClinic()),
            "{unknown} {care_team_phone");
  EXPECT_EQ(Engine::Render("a {} b { c", DemoClinic()), "a {} b { c");
  EXPECT_EQ(Engine::Render("", DemoClinic()), "");
  EXPECT_EQ(Engine::Render("{{care_team_phone}}", DemoClinic()), "{555-0142}");
}

FaqEntry Entry(std::string id, std::string topic, std::vector<std::string> questions,
               std::string answer) {
  FaqEntry e;
  e.id = std::move(id);
  e.topic = std::move(topic);
  e.questions = std::move(questions);
  e.answer = std::move(answer);
  e.sources = {Source{"NCI", "https://www.cancer.gov/"}};
  e.reviewed = "2026-01-15";
  return e;
}

ContentSpec MinimalSpec() {
  ContentSpec s;
  s.topics = backline::testing::TestTopics();
  s.entries = {
      Entry("causes-why", "causes",
            {"Why does cancer cause back pain?", "how can a tumour make my back hurt",
             "what makes cancer hurt in the spine", "why does cancer in the bones hurt",
             "reason cancer causes back pain"},
            "Cancer can press on bones and nerves. Call {care_team_phone}."),
      Entry("sleep-positions", "sleep",
            {"What is the best sleeping position for back pain?", "how should I lie in bed",
             "which pillows help me sleep", "can a pillow between my knees help",
             "best way to sleep with a sore back"},
            "Try a pillow between your knees. Ask your team on {care_team_phone}."),
  };
  s.synonyms = {SynonymGroup{"pain", {"ache", "hurt", "sore"}, {}}};
  s.language.stopwords = {"i",   "my",  "the",  "a",  "is", "what",   "why",   "how", "does",
                          "can", "for", "with", "in", "me", "should", "which", "to",  "of"};
  s.language.negation_cues = {"no", "not"};
  s.language.hypothetical_cues = {"if", "what if"};
  RedFlagKind e1;
  e1.id = "E1";
  e1.name = "Nerve compression";
  e1.urgency = Urgency::kEmergency;
  e1.reply = "Call {emergency_number} now.";
  s.red_flag_kinds = {e1};
  RedFlagRule legs;
  legs.id = "e1-legs";
  legs.kind = "E1";
  legs.patterns = {"legs? (?:\\S+ ){0,2}weak"};
  s.red_flag_rules = {legs};
  IntentSpec hello;
  hello.id = "greeting";
  hello.topic = "greeting";
  hello.kind = IntentSpec::Kind::kSmallTalk;
  hello.patterns = {"^(?:hi|hello)"};
  hello.reply = "Hello.";
  s.intents = {hello};
  // Two entries make every word rare or common: lower the evidence bar to fit.
  s.retrieval.min_evidence = 0.5;
  s.dialog.start_state = "idle";
  s.dialog.states = {DialogStateSpec{}};
  s.dialog.states[0].id = "idle";
  s.dialog.messages = {{"welcome", "Welcome to {clinic_name}."},
                       {"fallback", "Sorry, I cannot help with that."},
                       {"clarify", "Did you mean one of these?"},
                       {"empty", "I didn't catch that."}};
  return s;
}

std::string Join(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += d.ToString() + "\n";
  return s;
}

TEST(EngineCompileTest, MinimalSpecCompilesAndAnswers) {
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(MinimalSpec(), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  EXPECT_TRUE(diags.empty()) << Join(diags);
  const Clinic clinic = DemoClinic();

  TurnResult r = e->Turn(SessionState{}, "why does cancer cause back pain?", clinic);
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "answer");
  EXPECT_EQ(r.reply.entry_id, "causes-why");
  EXPECT_EQ(r.reply.text, "Cancer can press on bones and nerves. Call 555-0142.");
  EXPECT_EQ(r.reply.sources.size(), 1u);

  r = e->Turn(SessionState{}, "my legs are weak", clinic);
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "escalation");
  EXPECT_EQ(r.reply.urgency, Urgency::kEmergency);
  EXPECT_EQ(r.reply.text, "Call 999 now.");

  r = e->Turn(SessionState{}, "hello", clinic);
  EXPECT_EQ(r.reply.topic, "greeting");

  r = e->Turn(SessionState{}, "who won the football", clinic);
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "fallback");
  EXPECT_EQ(r.reply.topic, "out-of-scope");
  EXPECT_TRUE(r.reply.unanswered);

  EXPECT_NE(e->FindEntry("sleep-positions"), nullptr);
  EXPECT_EQ(e->FindEntry("nope"), nullptr);
  EXPECT_EQ(e->Welcome(clinic).text, "Welcome to Riverside Cancer Centre.");
}

// The classifier's safety net (engine/classifier.h), with a classifier of the test's own: it
// scores a message by the first word that names a tier in `scores`.
class FakeClassifier final : public RedFlagClassifier {
 public:
  explicit FakeClassifier(std::vector<std::pair<std::string, ClassifierScores>> by_word)
      : by_word_(std::move(by_word)) {}
  ClassifierScores Score(std::string_view text) const override {
    ++calls;
    for (const auto& [word, scores] : by_word_) {
      if (text.find(word) != std::string_view::npos) return scores;
    }
    return {};
  }
  const std::string& version() const override { return version_; }
  mutable int calls = 0;

 private:
  std::vector<std::pair<std::string, ClassifierScores>> by_word_;
  std::string version_ = "fake 1";
};

ClassifierScores Scores(double emergency, const std::string& e_kind, double urgent = 0) {
  ClassifierScores s;
  s.emergency = emergency;
  s.emergency_kind = e_kind;
  s.emergency_kind_probability = emergency;
  s.urgent = urgent;
  return s;
}

// MinimalSpec with a screening state, a classifier and its thresholds (0.2 screen, 0.7
// escalate).
ContentSpec SafetyNetSpec(std::shared_ptr<const RedFlagClassifier> model) {
  ContentSpec s = MinimalSpec();
  DialogStateSpec screen;
  screen.id = "screen";
  screen.topic = "cancer-vs-ordinary";
  screen.screening = true;
  screen.prompt = "Is this new, or getting worse?";
  Transition yes;
  yes.on = "yes";
  yes.action.escalate = "E1";
  Transition no;
  no.on = "no";
  screen.transitions = {yes, no};
  s.dialog.states.push_back(screen);
  s.dialog.screening_state = "screen";
  s.dialog.yes_patterns = {"^yes"};
  s.dialog.no_patterns = {"^no"};
  s.classifier.model = std::move(model);
  s.classifier.screen_threshold = 0.2;
  s.classifier.escalate_threshold = 0.7;
  return s;
}

TEST(SafetyNetTest, ARuleSilentPossibleReportGetsTheScreeningQuestions) {
  auto fake = std::make_shared<FakeClassifier>(
      std::vector<std::pair<std::string, ClassifierScores>>{{"wobbly", Scores(0.4, "E1")}});
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(SafetyNetSpec(fake), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  const Clinic clinic = DemoClinic();

  // The words of an FAQ question, but the classifier reads a report: never a plain answer.
  // The answer comes with the screening question, whose yes/no replace its quick replies.
  TurnResult r = e->Turn(SessionState{}, "why does cancer cause back pain, I feel wobbly", clinic);
  EXPECT_TRUE(r.reply.screening);
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "answer");
  EXPECT_EQ(r.reply.entry_id, "causes-why");
  EXPECT_EQ(r.reply.urgency, Urgency::kNone);
  EXPECT_THAT(r.reply.text, HasSubstr("Cancer can press on bones"));
  EXPECT_THAT(r.reply.text, HasSubstr("Is this new, or getting worse?"));
  EXPECT_EQ(r.state.state, "screen");
  EXPECT_EQ(r.reply.quick_replies, (std::vector<std::string>{"yes", "no"}));
  // A message with nothing else to answer gets the questions alone.
  TurnResult alone = e->Turn(SessionState{}, "wobbly", clinic);
  EXPECT_TRUE(alone.reply.screening);
  EXPECT_EQ(alone.state.state, "screen");
  EXPECT_THAT(r.explanation.classifier, HasSubstr("fake 1"));
  EXPECT_THAT(r.explanation.decision, HasSubstr("screening"));

  // A yes escalates; the same words again do not ask the questions a second time.
  TurnResult yes = e->Turn(r.state, "yes", clinic);
  EXPECT_STREQ(ReplyKindName(yes.reply.kind), "escalation");
  TurnResult again = e->Turn(r.state, "still wobbly", clinic);
  EXPECT_FALSE(again.reply.screening);

  // Below the threshold the FAQ answers as before.
  TurnResult plain = e->Turn(SessionState{}, "why does cancer cause back pain?", clinic);
  EXPECT_STREQ(ReplyKindName(plain.reply.kind), "answer");
  EXPECT_FALSE(plain.reply.screening);
}

TEST(SafetyNetTest, AConfidentClassifierEscalatesToTheKindItNames) {
  auto fake =
      std::make_shared<FakeClassifier>(std::vector<std::pair<std::string, ClassifierScores>>{
          {"planks", Scores(0.9, "E1")}, {"unknown", Scores(0.9, "E9")}});
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(SafetyNetSpec(fake), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  TurnResult r = e->Turn(SessionState{}, "my calves feel like planks", DemoClinic());
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "escalation");
  EXPECT_EQ(r.reply.red_flag_kind, "E1");
  EXPECT_EQ(r.reply.urgency, Urgency::kEmergency);
  EXPECT_THAT(r.explanation.decision, HasSubstr("classifier"));
  // Where a rule matched and the message's own words cancelled it, the classifier cannot
  // overrule that reading: the questions at most.
  TurnResult negated =
      e->Turn(SessionState{}, "what if my legs are weak, they feel like planks", DemoClinic());
  EXPECT_EQ(negated.reply.urgency, Urgency::kNone) << negated.explanation.decision;
  EXPECT_TRUE(negated.reply.screening);
  // A kind the content does not define cannot be escalated to: the questions instead.
  TurnResult unknown = e->Turn(SessionState{}, "something unknown happened", DemoClinic());
  EXPECT_TRUE(unknown.reply.screening);
}

TEST(EngineEscalationTest, TheReplyIsWordedForWhomTheReportIsAbout) {
  ContentSpec s = MinimalSpec();
  s.red_flag_kinds[0].self_reply = "You: call {emergency_number}.";
  s.red_flag_kinds[0].self_tell_them = "I have weak legs.";
  s.red_flag_kinds[0].other_reply = "Them: call {emergency_number}.";
  s.language.writer_words = {"i", "me"};
  s.language.other_people = {"he", "his", "my husband"};
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(s, &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  const Clinic clinic = DemoClinic();
  TurnResult r = e->Turn(SessionState{}, "I think my legs are weak", clinic);
  EXPECT_EQ(r.reply.text, "You: call 999.");
  EXPECT_EQ(r.reply.tell_them, "I have weak legs.");
  r = e->Turn(SessionState{}, "I think his legs are weak", clinic);
  EXPECT_EQ(r.reply.text, "Them: call 999.");
  // Nothing says whom: the plain reply.
  r = e->Turn(SessionState{}, "legs are weak", clinic);
  EXPECT_EQ(r.reply.text, "Call 999 now.");
}

TEST(EngineFollowUpTest, AShortFollowUpIsReadWithTheLastAnswer) {
  ContentSpec s = MinimalSpec();
  s.entries.push_back(Entry(
      "sleep-mattress", "sleep",
      {"What kind of mattress is best for back pain?", "is a firm mattress better",
       "should I buy a new mattress", "memory foam mattress for a sore back", "which bed is best"},
      "A medium-firm mattress suits many people."));
  s.entries.push_back(Entry(
      "massage-pressure", "massage",
      {"How firm should a massage be with cancer?", "is a firm massage safe",
       "deep tissue massage with bone mets", "gentle or firm pressure", "can the massage be firm"},
      "Gentle pressure is safest."));
  s.retrieval.min_evidence = 1.0;  // one rare word alone does not answer
  s.dialog.slots = {SlotSpec{"last_answer", "the entry answered last", {}, {}}};
  s.dialog.context_slot = "last_answer";
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(s, &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  const Clinic clinic = DemoClinic();
  TurnResult first =
      e->Turn(SessionState{}, "what is the best sleeping position for back pain", clinic);
  ASSERT_EQ(first.reply.entry_id, "sleep-positions");
  EXPECT_EQ(first.state.slots.at("last_answer"), "sleep-positions");
  // "firm?" alone could be the bed or a massage; after the sleeping answer it is the bed.
  TurnResult alone = e->Turn(SessionState{}, "firm?", clinic);
  EXPECT_STRNE(ReplyKindName(alone.reply.kind), "answer") << alone.explanation.decision;
  TurnResult follow = e->Turn(first.state, "firm?", clinic);
  EXPECT_EQ(follow.reply.entry_id, "sleep-mattress") << follow.explanation.decision;
  EXPECT_THAT(follow.explanation.decision, HasSubstr("follow-up"));
}

TEST(SafetyNetTest, ANegatedSignSettlesItsOwnTierNotAnother) {
  ClassifierScores nights;
  nights.urgent = 0.9;
  nights.urgent_kind = "U1";
  nights.urgent_kind_probability = 0.9;
  auto fake =
      std::make_shared<FakeClassifier>(std::vector<std::pair<std::string, ClassifierScores>>{
          {"night", nights}, {"planks", Scores(0.9, "E1")}});
  ContentSpec s = SafetyNetSpec(fake);
  RedFlagKind u1;
  u1.id = "U1";
  u1.name = "Spine pain";
  u1.urgency = Urgency::kUrgent;
  u1.reply = "Call your team today.";
  s.red_flag_kinds.push_back(u1);
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(s, &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  // "not weak" settles the leg weakness (an emergency sign), not the pain worse each night.
  TurnResult r =
      e->Turn(SessionState{}, "not that her legs are weak, but the pain is worse every night",
              DemoClinic());
  EXPECT_EQ(r.reply.red_flag_kind, "U1") << r.explanation.decision;
  EXPECT_EQ(r.reply.urgency, Urgency::kUrgent);
  // The classifier cannot call the negated emergency an emergency after all.
  r = e->Turn(SessionState{}, "not that her legs are weak, they feel like planks", DemoClinic());
  EXPECT_EQ(r.reply.urgency, Urgency::kNone) << r.explanation.decision;
}

TEST(SafetyNetTest, AYesEscalatesToTheKindTheClassifierSuspected) {
  auto fake =
      std::make_shared<FakeClassifier>(std::vector<std::pair<std::string, ClassifierScores>>{
          {"wobbly", Scores(0.4, "E1")}, {"odd", Scores(0.4, "E9")}});
  ContentSpec s = SafetyNetSpec(fake);
  SlotSpec suspected;
  suspected.id = "suspected";
  s.dialog.slots = {suspected};
  s.dialog.screening_slot = "suspected";
  Transition& yes = s.dialog.states.back().transitions[0];
  yes.action.escalate.clear();
  yes.action.escalate_slot = "suspected";
  yes.next = "idle";
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(std::move(s), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);

  TurnResult r = e->Turn(SessionState{}, "I feel wobbly", DemoClinic());
  ASSERT_TRUE(r.reply.screening);
  EXPECT_EQ(r.state.slots.at("suspected"), "E1");
  TurnResult yes_reply = e->Turn(r.state, "yes", DemoClinic());
  EXPECT_STREQ(ReplyKindName(yes_reply.reply.kind), "escalation");
  EXPECT_EQ(yes_reply.reply.red_flag_kind, "E1");
  EXPECT_THAT(yes_reply.explanation.decision, HasSubstr("suspected E1"));

  // A kind the content does not have is not kept: a yes then goes on to `next`.
  TurnResult odd = e->Turn(SessionState{}, "I feel odd", DemoClinic());
  ASSERT_TRUE(odd.reply.screening);
  EXPECT_EQ(odd.state.slots.count("suspected"), 0u);
  EXPECT_STRNE(ReplyKindName(e->Turn(odd.state, "yes", DemoClinic()).reply.kind), "escalation");
}

TEST(SafetyNetTest, TheClassifierNeverCancelsARule) {
  // The classifier says "nothing here" with certainty; the rule still escalates, and the
  // classifier is not even asked.
  auto fake =
      std::make_shared<FakeClassifier>(std::vector<std::pair<std::string, ClassifierScores>>{});
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(SafetyNetSpec(fake), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  TurnResult r = e->Turn(SessionState{}, "my legs are weak", DemoClinic());
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "escalation");
  EXPECT_EQ(fake->calls, 0);
}

TEST(SafetyNetTest, AnUnknownScreeningStateIsACompileError) {
  ContentSpec s = SafetyNetSpec(nullptr);
  s.dialog.screening_state = "nowhere";
  std::vector<Diagnostic> diags;
  EXPECT_EQ(Engine::Compile(std::move(s), &diags), nullptr);
  EXPECT_THAT(Join(diags), HasSubstr("screening_state 'nowhere'"));
}

struct CompileCase {
  const char* what;
  std::function<void(ContentSpec*)> mutate;
  const char* message;  // a substring of the expected error
};

TEST(EngineCompileTest, ContentErrorsAreReportedWithTheirLocation) {
  const CompileCase cases[] = {
      {"duplicate entry id",
       [](ContentSpec* s) {
         s->entries[0].where = {"faq/a.json", 4, 5};
         s->entries[1].id = s->entries[0].id;
         s->entries[1].where = {"faq/b.json", 9, 5};
       },
       "first defined at faq/a.json:4:5"},
      {"unknown topic", [](ContentSpec* s) { s->entries[0].topic = "astrology"; }, "'astrology'"},
      {"entry under a conversation topic", [](ContentSpec* s) { s->entries[0].topic = "greeting"; },
       "a conversation topic"},
      {"duplicate topic", [](ContentSpec* s) { s->topics.push_back(s->topics[0]); },
       "duplicate topic 'causes'"},
      {"no red-flag topic",
       [](ContentSpec* s) {
         s->topics.erase(std::remove_if(s->topics.begin(), s->topics.end(),
                                        [](const TopicSpec& t) { return t.id == "red-flag"; }),
                         s->topics.end());
       },
       "lacks the conversation topic 'red-flag'"},
      {"engine topic marked faq",
       [](ContentSpec* s) {
         for (auto& t : s->topics)
           if (t.id == "out-of-scope") t.faq = true;
       },
       "lacks the conversation topic 'out-of-scope'"},
      {"no answer", [](ContentSpec* s) { s->entries[0].answer.clear(); }, "no answer"},
      {"no questions", [](ContentSpec* s) { s->entries[0].questions.clear(); }, "no questions"},
      {"same question twice",
       [](ContentSpec* s) {
         s->entries[1].questions.push_back("Why does cancer cause back pain?");
       },
       "also belongs to entry 'causes-why'"},
      {"kind urgency none", [](ContentSpec* s) { s->red_flag_kinds[0].urgency = Urgency::kNone; },
       "\"urgent\""},
      {"unknown general entry", [](ContentSpec* s) { s->red_flag_kinds[0].general_entry = "nope"; },
       "'nope'"},
      {"duplicate kind", [](ContentSpec* s) { s->red_flag_kinds.push_back(s->red_flag_kinds[0]); },
       "duplicate red-flag kind"},
      {"duplicate rule", [](ContentSpec* s) { s->red_flag_rules.push_back(s->red_flag_rules[0]); },
       "duplicate red-flag rule"},
      {"rule of unknown kind", [](ContentSpec* s) { s->red_flag_rules[0].kind = "Z9"; }, "'Z9'"},
      {"bad rule pattern", [](ContentSpec* s) { s->red_flag_rules[0].patterns = {"legs (weak"}; },
       "missing )"},
      {"intent unknown topic", [](ContentSpec* s) { s->intents[0].topic = "weather"; },
       "'weather'"},
      {"intent topic red-flag", [](ContentSpec* s) { s->intents[0].topic = "red-flag"; },
       "'red-flag'"},
      {"intent without reply or state", [](ContentSpec* s) { s->intents[0].reply.clear(); },
       "neither a reply nor a next state"},
      {"intent to unknown state", [](ContentSpec* s) { s->intents[0].next_state = "nowhere"; },
       "'nowhere'"},
      {"bad intent pattern", [](ContentSpec* s) { s->intents[0].patterns = {"(hi"}; },
       "does not compile"},
      {"duplicate intent", [](ContentSpec* s) { s->intents.push_back(s->intents[0]); },
       "duplicate intent"},
      {"missing message", [](ContentSpec* s) { s->dialog.messages.erase("empty"); }, "\"empty\""},
      {"synonym in two groups",
       [](ContentSpec* s) {
         s->synonyms.push_back(SynonymGroup{"tired", {"sore"}, {}});
       },
       "maps to both"},
  };
  for (const auto& c : cases) {
    ContentSpec spec = MinimalSpec();
    c.mutate(&spec);
    std::vector<Diagnostic> diags;
    EXPECT_EQ(Engine::Compile(std::move(spec), &diags), nullptr) << c.what;
    bool found = false;
    for (const auto& d : diags) {
      found |= d.severity == Diagnostic::Severity::kError &&
               d.message.find(c.message) != std::string::npos;
    }
    EXPECT_TRUE(found) << c.what << ": no error containing \"" << c.message << "\" in\n"
                       << Join(diags);
  }
}

// A dialog state's topic is checked against topics.json when the content is compiled (the
// dialogs loader does not know the topics), at the place the topic is written.
TEST(EngineCompileTest, AStateWithAnUnknownTopicIsReportedWhereTheTopicIsWritten) {
  ContentSpec spec = MinimalSpec();
  ASSERT_FALSE(spec.dialog.states.empty());
  spec.dialog.states[0].topic = "astrology";
  spec.dialog.states[0].topic_where = {"dialogs/flow.json", 11, 16};
  std::vector<Diagnostic> diags;
  EXPECT_EQ(Engine::Compile(std::move(spec), &diags), nullptr);
  std::string where;
  for (const auto& d : diags)
    if (d.message.find("unknown topic 'astrology'") != std::string::npos)
      where = d.where.ToString();
  EXPECT_EQ(where, "dialogs/flow.json:11:16") << Join(diags);
}

TEST(EngineCompileTest, DuplicateEntryIdNamesBothPlaces) {
  ContentSpec spec = MinimalSpec();
  spec.entries[0].where = {"faq/a.json", 4, 5};
  spec.entries[1].id = spec.entries[0].id;
  spec.entries[1].where = {"faq/b.json", 9, 5};
  std::vector<Diagnostic> diags;
  EXPECT_EQ(Engine::Compile(std::move(spec), &diags), nullptr);
  ASSERT_FALSE(diags.empty());
  EXPECT_EQ(diags[0].where.ToString(), "faq/b.json:9:5");
  EXPECT_THAT(diags[0].message, HasSubstr("faq/a.json:4:5"));
}

TEST(EngineCompileTest, WeakContentIsOnlyWarnedAbout) {
  ContentSpec spec = MinimalSpec();
  spec.entries[0].questions.resize(3);
  spec.entries[1].sources.clear();
  RedFlagKind unused = spec.red_flag_kinds[0];
  unused.id = "U9";
  unused.urgency = Urgency::kUrgent;
  spec.red_flag_kinds.push_back(unused);
  std::vector<Diagnostic> diags;
  ASSERT_NE(Engine::Compile(std::move(spec), &diags), nullptr) << Join(diags);
  ASSERT_EQ(diags.size(), 3u) << Join(diags);
  for (const auto& d : diags) EXPECT_EQ(d.severity, Diagnostic::Severity::kWarning);
  const std::string all = Join(diags);
  EXPECT_THAT(all, HasSubstr("3 questions"));
  EXPECT_THAT(all, HasSubstr("no sources"));
  EXPECT_THAT(all, HasSubstr("'U9' has no rule"));
}

// Intents of one kind are matched in one pass over the text (a PatternSet per kind), but the
// rule is still the loop's: the first intent of that kind, in content order, whose pattern
// matches and whose `unless` does not. Requests are checked before FAQ retrieval and small
// talk, so each message below is answered by the request intent MatchIntent picks.
IntentSpec Intent(std::string id, IntentSpec::Kind kind, std::vector<std::string> patterns,
                  std::vector<std::string> unless = {}) {
  IntentSpec i;
  i.id = std::move(id);
  i.topic = kind == IntentSpec::Kind::kRequest ? "human" : "greeting";
  i.kind = kind;
  i.patterns = std::move(patterns);
  i.unless = std::move(unless);
  i.reply = "Reply of " + i.id + ".";
  return i;
}

// Small talk that matches first (another kind), then two requests that both match "help me
// talk to a nurse": `nurse_first` puts "nurse" (cancelled by "not a nurse") before "person".
ContentSpec IntentOrderSpec(bool nurse_first) {
  ContentSpec s = MinimalSpec();
  const auto kRequest = IntentSpec::Kind::kRequest;
  IntentSpec nurse = Intent("nurse", kRequest, {"nurse"}, {"not (?:a|the) nurse"});
  IntentSpec person = Intent("person", kRequest, {"talk to", "someone"});
  s.intents.push_back(Intent("chat", IntentSpec::Kind::kSmallTalk, {"help", "nurse"}));
  s.intents.push_back(nurse_first ? nurse : person);
  s.intents.push_back(nurse_first ? person : nurse);
  return s;
}

std::string IntentOf(const Engine& e, const char* text) {
  const TurnResult r = e.Turn(SessionState{}, text, DemoClinic());
  EXPECT_STREQ(ReplyKindName(r.reply.kind), "intent")
      << text << " (" << r.explanation.canonical << "): " << r.explanation.decision;
  return r.reply.intent_id;
}

TEST(EngineIntentTest, TheFirstMatchingIntentOfTheKindWins) {
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(IntentOrderSpec(/*nurse_first=*/true), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  EXPECT_TRUE(diags.empty()) << Join(diags);
  // Both requests match: the earlier one; the small talk before them is another kind.
  EXPECT_EQ(IntentOf(*e, "help me talk to a nurse"), "nurse");
  EXPECT_EQ(IntentOf(*e, "a nurse please"), "nurse");
  // The earlier one is cancelled by its `unless`: the next that matches.
  EXPECT_EQ(IntentOf(*e, "help me talk to someone, not a nurse"), "person");
  EXPECT_EQ(IntentOf(*e, "someone, not the nurse"), "person");
  // Only the small talk matches: no request, so the small talk answers later.
  EXPECT_EQ(IntentOf(*e, "help"), "chat");
}

TEST(EngineIntentTest, ContentOrderNotPatternOrderDecides) {
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(IntentOrderSpec(/*nurse_first=*/false), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  EXPECT_EQ(IntentOf(*e, "help me talk to a nurse"), "person");
  EXPECT_EQ(IntentOf(*e, "a nurse please"), "nurse");
  EXPECT_EQ(IntentOf(*e, "help me talk to someone, not a nurse"), "person");
}

// A pattern can compile on its own yet be too big for a set (PatternSetTest in
// pattern_test.cc): its kind is matched intent by intent, with a warning, and answers the same.
TEST(EngineIntentTest, AKindWithoutASetIsMatchedOneByOne) {
  ContentSpec spec = IntentOrderSpec(/*nurse_first=*/true);
  spec.intents.push_back(Intent("big", IntentSpec::Kind::kRequest, {"\\pL{0,150}zebra"}));
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(std::move(spec), &diags);
  ASSERT_NE(e, nullptr) << Join(diags);
  ASSERT_EQ(diags.size(), 1u) << Join(diags);
  EXPECT_EQ(diags[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_THAT(diags[0].message, HasSubstr("request intents are matched one at a time"));
  EXPECT_EQ(IntentOf(*e, "help me talk to a nurse"), "nurse");
  EXPECT_EQ(IntentOf(*e, "help me talk to someone, not a nurse"), "person");
  EXPECT_EQ(IntentOf(*e, "help"), "chat");
  EXPECT_EQ(IntentOf(*e, "a zebra"), "big");
}

// =======================================================================================
// Part 2: the shipped content, turn by turn.
// =======================================================================================

using testing::Converse;
using testing::LoadShipped;

TurnResult Ask(const char* text, const Clinic* clinic = nullptr) {
  const auto& s = LoadShipped();
  return s.engine().Turn(SessionState{}, text, clinic ? *clinic : s.clinic());
}

// The shipped-content checks are grouped into a few tests: loading the content costs most of
// a second per test process (see shipped_content.h).
TEST(ShippedEngine, ConversationTopicsDeterminismAndBuriedQuestions) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  // Welcome.
  const Reply def = s.engine().Welcome(s.clinic());
  EXPECT_EQ(def.topic, "greeting");
  EXPECT_EQ(def.urgency, Urgency::kNone);
  EXPECT_THAT(def.text, HasSubstr(s.clinic().emergency_number));
  EXPECT_THAT(def.text, Not(HasSubstr("{")));
  EXPECT_EQ(def.quick_replies.size(), 3u);
  EXPECT_THAT(def.quick_replies, Contains("I have back pain"));
  EXPECT_THAT(s.engine().Welcome(s.clinic("demo")).text, HasSubstr(s.clinic("demo").name));

  const struct {
    const char* text;
    const char* topic;
    const char* kind;  // reply kind
  } cases[] = {
      // Small talk alone, and next to a real question.
      {"hello", "greeting", "intent"},
      {"Good morning!", "greeting", "intent"},
      {"hi there, anyone around?", "greeting", "intent"},
      {"Hello, can I take ibuprofen with chemo?", "nsaids", "answer"},
      {"thanks", "thanks", "intent"},
      {"thank you so much, that was helpful", "thanks", "intent"},
      {"thanks! is it safe to have a massage during chemo?", "massage", "answer"},
      {"bye", "goodbye", "intent"},
      {"that's all, goodbye", "goodbye", "intent"},
      {"hi, what's the best sleeping position with back pain?", "sleep", "answer"},
      // Requests.
      {"I want to talk to a real person", "human", "prompt"},
      {"can I speak to a nurse please", "human", "prompt"},
      {"what can you do", "capabilities", "intent"},
      {"are you a real doctor?", "capabilities", "intent"},
      // Refusals win over FAQ words.
      {"I'm on morphine for my back pain, can I double my dose tonight?", "out-of-scope",
       "refusal"},
      {"should I stop taking ibuprofen because of my stomach", "out-of-scope", "refusal"},
      {"can I increase my oxycodone dose for my back pain", "out-of-scope", "refusal"},
      {"how do I come off morphine", "out-of-scope", "refusal"},
      // A curated paraphrase (here the welcome's own quick reply) gets its entry, however
      // common its words.
      {"Why does cancer cause back pain?", "causes", "answer"},
      {"cancer back pain why does it cause", "causes", "answer"},
      // Concept refusals: asking + a medicine + a change, in any words.
      {"is it ok to have my evening oxycodone a couple of hours earlier than usual?",
       "out-of-scope", "refusal"},
      {"could I snap my dexamethasone tablet in half and have the rest tomorrow", "out-of-scope",
       "refusal"},
      {"can my son have one of my gabapentin", "out-of-scope", "refusal"},
      // Asking for a person, or about the service itself.
      {"would one of the nurses be able to ring me back this afternoon", "human", "prompt"},
      {"is there a phone number instead of typing all this out", "human", "prompt"},
      {"does the hospital keep what I type here?", "capabilities", "intent"},
      {"can you reply in Urdu please", "capabilities", "intent"},
      {"can you tell me if my cancer has spread to my spine?", "out-of-scope", "refusal"},
      {"what does my MRI report mean?", "out-of-scope", "refusal"},
      // Unrelated text: an honest fallback.
      {"what's the weather tomorrow", "out-of-scope", "fallback"},
      {"who won the football last night", "out-of-scope", "fallback"},
      {"what is the capital of France", "out-of-scope", "fallback"},
      {"recommend a good pizza place", "out-of-scope", "fallback"},
      // Nothing to read.
      {"", "out-of-scope", "fallback"},
      {"   ", "out-of-scope", "fallback"},
      {"\U0001F622", "out-of-scope", "fallback"},
  };
  for (const auto& c : cases) {
    const TurnResult r = Ask(c.text);
    EXPECT_EQ(r.reply.topic + " " + ReplyKindName(r.reply.kind),
              std::string(c.topic) + " " + c.kind)
        << "input: \"" << c.text << "\"\ndecision: " << r.explanation.decision;
    EXPECT_EQ(r.reply.urgency, Urgency::kNone) << c.text;
    EXPECT_FALSE(r.reply.text.empty()) << c.text;
    EXPECT_THAT(r.reply.text, Not(HasSubstr("{"))) << c.text;
    if (std::string(c.kind) == "fallback" && !Ask(c.text).explanation.terms.empty()) {
      EXPECT_TRUE(r.reply.unanswered) << c.text;
      EXPECT_EQ(r.state.state, "idle") << c.text;
    }
  }
  EXPECT_THAT(Ask("").reply.text, HasSubstr("didn't catch"));

  // A turn is a pure function of (content, state, text, clinic).
  SessionState before;
  before.turns = 4;
  const SessionState copy = before;
  const TurnResult a = s.engine().Turn(before, "is massage safe during chemo?", s.clinic());
  const TurnResult b = s.engine().Turn(before, "is massage safe during chemo?", s.clinic());
  // Field by field: SessionState's operator== does not compile (see dialogue_test.cc).
  EXPECT_EQ(before.state, copy.state);
  EXPECT_EQ(before.turns, copy.turns);
  EXPECT_EQ(a.state.state, b.state.state);
  EXPECT_EQ(a.state.slots, b.state.slots);
  ASSERT_EQ(a.state.offers.size(), b.state.offers.size());
  for (size_t i = 0; i < a.state.offers.size(); ++i) {
    EXPECT_EQ(a.state.offers[i].label, b.state.offers[i].label);
    EXPECT_EQ(a.state.offers[i].entry_id, b.state.offers[i].entry_id);
  }
  EXPECT_EQ(a.reply.text, b.reply.text);
  EXPECT_EQ(a.reply.entry_id, b.reply.entry_id);
  EXPECT_EQ(a.state.turns, 5);
  EXPECT_EQ(a.explanation.decision, b.explanation.decision);
  EXPECT_NE(s.engine().FindEntry("opioids-addiction"), nullptr);
  EXPECT_EQ(s.engine().FindEntry("no-such-entry"), nullptr);

  // A long message buries its question; the question is answered.
  const TurnResult r =
      Ask("Hi, I've been on chemo for three months and my back has been aching on and off, my "
          "partner keeps telling me to ask someone. Is it safe to have a massage during chemo?");
  EXPECT_EQ(r.reply.topic, "massage") << r.explanation.decision;
  // The words of a negated red flag are no evidence for an FAQ entry.
  const TurnResult n = Ask("no fever, is a massage ok in my chemo week?");
  EXPECT_EQ(n.reply.urgency, Urgency::kNone);
  EXPECT_EQ(n.reply.topic, "massage") << n.explanation.decision;
}

// Replies that must be out-of-scope: asking whether one's own scan shows spread is a request
// to read a scan (a refusal), and an unrelated message that shares one general word with an
// entry ("what time is it") gets the honest fallback, not FAQ suggestions.
// The server asks for no explanation. That must change nothing but the
// explanation: the same reply and state, turn after turn, whatever path the
// turn takes (an answer, a typo, a red flag and one denied, a quick reply,
// small talk, a dialog answer, a fallback, nothing).
TEST(ShippedEngine, ATurnWithoutItsExplanationRepliesTheSame) {
  const auto& s = LoadShipped();
  const std::vector<std::string> messages = {
      "is it safe to have a massage during chemo?",
      "my back hurts and my legs feel weak and numb since this morning",
      "hello",
      "wat can i tak for bak pain at nite",
      "no fever, is a heating pad ok on my back?",
      "I can't control my bladder any more",
      "yes",
      "what is the weather in Paris tomorrow",
      "",
      "thanks, that helps",
      "how much ibuprofen can I take with morphine?",
      "2",
  };
  SessionState state;
  int explained_turns = 0;
  for (const std::string& raw : messages) {
    // A bare number stands for the previous turn's quick reply of that rank.
    std::string text = raw;
    if (text == "2" && state.offers.size() >= 2) text = state.offers[1].label;
    const TurnResult with = s.engine().Turn(state, text, s.clinic());
    const TurnResult without =
        s.engine().Turn(state, text, s.clinic(), TurnOptions{.explain = false});
    SCOPED_TRACE("message: \"" + text + "\", " + with.explanation.decision);
    EXPECT_EQ(without.reply.text, with.reply.text);
    EXPECT_EQ(without.reply.topic, with.reply.topic);
    EXPECT_EQ(without.reply.urgency, with.reply.urgency);
    EXPECT_STREQ(ReplyKindName(without.reply.kind), ReplyKindName(with.reply.kind));
    EXPECT_EQ(without.reply.entry_id, with.reply.entry_id);
    EXPECT_EQ(without.reply.intent_id, with.reply.intent_id);
    EXPECT_EQ(without.reply.red_flag_kind, with.reply.red_flag_kind);
    EXPECT_EQ(without.reply.tell_them, with.reply.tell_them);
    EXPECT_EQ(without.reply.score, with.reply.score);
    EXPECT_EQ(without.reply.quick_replies, with.reply.quick_replies);
    ASSERT_EQ(without.reply.sources.size(), with.reply.sources.size());
    for (size_t i = 0; i < with.reply.sources.size(); ++i) {
      EXPECT_EQ(without.reply.sources[i].url, with.reply.sources[i].url);
    }
    EXPECT_EQ(without.reply.unanswered, with.reply.unanswered);
    EXPECT_EQ(without.state.state, with.state.state);
    EXPECT_EQ(without.state.turns, with.state.turns);
    EXPECT_EQ(without.state.slots, with.state.slots);
    ASSERT_EQ(without.state.offers.size(), with.state.offers.size());
    for (size_t i = 0; i < with.state.offers.size(); ++i) {
      EXPECT_EQ(without.state.offers[i].label, with.state.offers[i].label);
      EXPECT_EQ(without.state.offers[i].entry_id, with.state.offers[i].entry_id);
    }
    // Without: nothing of the explanation is filled in.
    EXPECT_TRUE(without.explanation.decision.empty());
    EXPECT_TRUE(without.explanation.state_before.empty());
    EXPECT_TRUE(without.explanation.terms.empty());
    EXPECT_TRUE(without.explanation.candidates.empty());
    EXPECT_TRUE(without.explanation.red_flags.empty());
    explained_turns += !with.explanation.decision.empty();
    state = with.state;
  }
  // With (the default): every turn says why.
  EXPECT_EQ(explained_turns, static_cast<int>(messages.size()));
}

TEST(ShippedEngine, OutOfScopeAtTheEdges) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  const struct {
    const char* text;
    const char* want;
  } cases[] = {
      {"Does my scan show the cancer has spread?", "out-of-scope refusal"},
      {"what time is it", "out-of-scope fallback"},
  };
  for (const auto& c : cases) {
    const TurnResult r = Ask(c.text);
    EXPECT_EQ(r.reply.topic + " " + ReplyKindName(r.reply.kind), c.want)
        << "input: \"" << c.text << "\"\ndecision: " << r.explanation.decision;
  }
}

TEST(ShippedEngine, QuickRepliesAnswerTheChosenEntry) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  // A clarify reply: vague messages that should clarify; the first that does is used.
  const char* vague[] = {"ibuprofen gives me a mildly upset stomach", "my legs are fine", "pillows",
                         "morphine", "exercise"};
  bool clarified = false;
  for (const char* text : vague) {
    const TurnResult first = Ask(text);
    // A clarify that also asks the screening question offers yes/no instead of its
    // candidates (SafetyNetTest): not the reply this test is about.
    if (first.reply.kind != ReplyKind::kClarify || first.reply.screening) continue;
    clarified = true;
    SCOPED_TRACE(text);
    ASSERT_FALSE(first.reply.quick_replies.empty());
    ASSERT_EQ(first.state.offers.size(), first.reply.quick_replies.size());
    EXPECT_TRUE(first.reply.unanswered);
    for (size_t i = 0; i < first.state.offers.size(); ++i) {
      const Offer& o = first.state.offers[i];
      EXPECT_EQ(o.label, first.reply.quick_replies[i]);
      ASSERT_FALSE(o.entry_id.empty());
      const TurnResult chosen = s.engine().Turn(first.state, o.label, s.clinic());
      EXPECT_EQ(ReplyKindName(chosen.reply.kind) + std::string(" ") + chosen.reply.entry_id,
                "answer " + o.entry_id)
          << "typed back: " << o.label;
      ASSERT_NE(s.engine().FindEntry(o.entry_id), nullptr);
      EXPECT_EQ(chosen.reply.topic, s.engine().FindEntry(o.entry_id)->topic);
    }
    break;
  }
  EXPECT_TRUE(clarified) << "none of the vague messages clarified";

  // An answer reply: its related questions answer their own entries.
  const TurnResult first = Ask("can I take ibuprofen with chemo?");
  ASSERT_STREQ(ReplyKindName(first.reply.kind), "answer") << first.explanation.decision;
  ASSERT_FALSE(first.reply.quick_replies.empty());
  ASSERT_EQ(first.state.offers.size(), first.reply.quick_replies.size());
  for (const Offer& o : first.state.offers) {
    EXPECT_NE(o.entry_id, first.reply.entry_id) << "a related question, not the same entry";
    const TurnResult chosen = s.engine().Turn(first.state, o.label, s.clinic());
    EXPECT_EQ(chosen.reply.entry_id, o.entry_id) << "typed back: " << o.label;
  }
  // Offers last one turn only.
  EXPECT_TRUE(s.engine().Turn(first.state, "thanks", s.clinic()).state.offers.empty());
}

}  // namespace
}  // namespace backline::engine
