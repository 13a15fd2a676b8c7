// The callback request (issue 22) in the shipped content: dialogs/flow.json's callback-*
// states and intents.json's "callback" and "human", through Engine::Turn.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/engine/shipped_content.h"

namespace backline::engine {
namespace {

using ::backline::testing::Converse;
using ::backline::testing::LoadShipped;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPersonalSlots[] = {"callback_name", "callback_phone",
                                          "callback_phone_display", "callback_time"};

void ExpectNoPersonalSlots(const SessionState& state) {
  for (const char* slot : kPersonalSlots) EXPECT_EQ(state.slots.count(slot), 0u) << slot;
}

// The turns that lead to each step of the flow, for the demo (US) clinic.
const std::vector<std::vector<std::string>>& StepsUs() {
  static const std::vector<std::vector<std::string>> steps = {
      {"can a nurse call me back?"},                                              // name
      {"can a nurse call me back?", "Sam"},                                       // phone
      {"can a nurse call me back?", "Sam", "201-555-0123"},                       // read-back
      {"can a nurse call me back?", "Sam", "201-555-0123", "yes"},                // time
      {"can a nurse call me back?", "Sam", "201-555-0123", "yes", "after 3pm"}};  // consent
  return steps;
}

TEST(CallbackFlowTest, CollectsNameNumberTimeAndConsentThenMakesTheRequest) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  const Clinic& demo = s.clinic("demo");
  SessionState state;
  TurnResult r = Converse({"could a nurse ring me back?"}, &state, demo);
  EXPECT_EQ(r.state.state, "callback-name");
  EXPECT_EQ(r.reply.topic, "human");
  EXPECT_THAT(r.reply.text, HasSubstr("first name"));
  EXPECT_THAT(r.reply.text, HasSubstr("555-0142"));  // the care team, if help is needed sooner
  EXPECT_FALSE(r.reply.callback);

  r = Converse({"Sam"}, &state, demo);
  EXPECT_EQ(r.state.state, "callback-phone");
  EXPECT_TRUE(r.personal_input);
  EXPECT_EQ(state.slots.at("callback_name"), "Sam");
  // The explanation, which may be logged, says what was captured, never the value.
  EXPECT_THAT(r.explanation.decision, HasSubstr("callback_name"));
  EXPECT_THAT(r.explanation.decision, Not(HasSubstr("Sam")));

  r = Converse({"(201) 555-0123"}, &state, demo);
  EXPECT_EQ(r.state.state, "callback-phone-check");
  EXPECT_TRUE(r.personal_input);
  EXPECT_THAT(r.reply.text, HasSubstr("I have (201) 555-0123. Is that right?"));
  EXPECT_EQ(state.slots.at("callback_phone"), "+12015550123");

  r = Converse({"yes"}, &state, demo);
  EXPECT_EQ(r.state.state, "callback-time");
  EXPECT_FALSE(r.personal_input);
  EXPECT_THAT(r.reply.quick_replies, ::testing::Contains("Morning"));

  r = Converse({"after 3pm"}, &state, demo);
  EXPECT_EQ(r.state.state, "callback-consent");
  EXPECT_THAT(r.reply.text, HasSubstr("Riverside Cancer Centre"));
  EXPECT_FALSE(r.reply.callback);

  r = Converse({"yes"}, &state, demo);
  ASSERT_TRUE(r.reply.callback);
  EXPECT_EQ(r.reply.callback->first_name, "Sam");
  EXPECT_EQ(r.reply.callback->phone_e164, "+12015550123");
  EXPECT_EQ(r.reply.callback->phone_display, "(201) 555-0123");
  EXPECT_EQ(r.reply.callback->best_time, "after 3pm");
  EXPECT_TRUE(r.reply.callback->consent);
  EXPECT_EQ(r.reply.urgency, Urgency::kNone);
  // The reference is the server's to fill in; the response time is the clinic's.
  EXPECT_THAT(r.reply.text, HasSubstr(std::string(Engine::kReferencePlaceholder)));
  EXPECT_THAT(r.reply.text, HasSubstr("within one working day"));
  EXPECT_THAT(Engine::WithReference(r.reply.text, "BL-7K2Q9"),
              HasSubstr("Your reference is BL-7K2Q9."));
  // Done: the state keeps nothing about the person.
  EXPECT_EQ(r.state.state, "idle");
  ExpectNoPersonalSlots(r.state);
}

TEST(CallbackFlowTest, UkNumbersAreReadBackAsPeopleWriteThem) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  SessionState state;
  const TurnResult r = Converse({"can I have a callback", "Priya", "+44 7700 900123"}, &state,
                                s.clinic("uk-example"));
  EXPECT_EQ(r.state.state, "callback-phone-check");
  EXPECT_THAT(r.reply.text, HasSubstr("I have 07700 900123. Is that right?"));
  EXPECT_EQ(state.slots.at("callback_phone"), "+447700900123");
}

TEST(CallbackFlowTest, ConsentRefusedSendsNothingAndGivesTheNumber) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  SessionState state;
  Converse(StepsUs().back(), &state, s.clinic("demo"));
  ASSERT_EQ(state.state, "callback-consent");
  const TurnResult r = Converse({"no"}, &state, s.clinic("demo"));
  EXPECT_FALSE(r.reply.callback);
  EXPECT_THAT(r.reply.text, HasSubstr("haven't sent anything"));
  EXPECT_THAT(r.reply.text, HasSubstr("555-0142"));
  EXPECT_THAT(r.reply.text, Not(HasSubstr("{reference}")));
  EXPECT_EQ(r.state.state, "idle");
  ExpectNoPersonalSlots(r.state);
}

TEST(CallbackFlowTest, CancelAtEveryStepSendsNothingAndForgetsEverything) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  for (const char* cancel : {"cancel", "stop", "never mind", "Cancel"}) {
    for (const auto& steps : StepsUs()) {
      SCOPED_TRACE(std::string(cancel) + " after " + std::to_string(steps.size()) + " turns");
      SessionState state;
      Converse(steps, &state, s.clinic("demo"));
      ASSERT_THAT(state.state, HasSubstr("callback-"));
      const TurnResult r = Converse({cancel}, &state, s.clinic("demo"));
      EXPECT_EQ(r.state.state, "idle");
      EXPECT_FALSE(r.reply.callback);
      EXPECT_THAT(r.reply.text, HasSubstr("haven't sent anything"));
      ExpectNoPersonalSlots(r.state);
    }
  }
}

TEST(CallbackFlowTest, RedFlagAtEveryStepEscalatesAndForgetsEverything) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  for (const auto& steps : StepsUs()) {
    SCOPED_TRACE("after " + std::to_string(steps.size()) + " turns");
    SessionState state;
    Converse(steps, &state, s.clinic("demo"));
    const TurnResult r = Converse({"he can't feel his legs"}, &state, s.clinic("demo"));
    EXPECT_EQ(r.reply.kind, ReplyKind::kEscalation);
    EXPECT_EQ(r.reply.urgency, Urgency::kEmergency);
    EXPECT_EQ(r.reply.topic, "red-flag");
    EXPECT_THAT(r.reply.text, HasSubstr("911"));
    EXPECT_FALSE(r.reply.callback);
    EXPECT_FALSE(r.personal_input);
    EXPECT_EQ(r.state.state, "escalated");
    ExpectNoPersonalSlots(r.state);
  }
}

TEST(CallbackFlowTest, InvalidNumbersAreAskedAgain) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  struct Case {
    const char* clinic;
    const char* number;
    const char* example;
  };
  for (const Case& c :
       {Case{"demo", "555-0123", "(201) 555-0123"}, Case{"demo", "911", "(201) 555-0123"},
        Case{"demo", "07700 900123", "(201) 555-0123"},
        Case{"uk-example", "0770 090 012", "07700 900123"},
        Case{"uk-example", "999", "07700 900123"},
        Case{"uk-example", "09098 790123", "07700 900123"}}) {
    SCOPED_TRACE(std::string(c.clinic) + ": " + c.number);
    SessionState state;
    Converse({"can I have a callback", "Sam"}, &state, s.clinic(c.clinic));
    const TurnResult r = Converse({c.number}, &state, s.clinic(c.clinic));
    EXPECT_EQ(r.state.state, "callback-phone");
    EXPECT_EQ(r.reply.kind, ReplyKind::kPrompt);
    EXPECT_THAT(r.reply.text, HasSubstr("doesn't look like a phone number"));
    EXPECT_THAT(r.reply.text, HasSubstr(c.example));
    EXPECT_FALSE(r.personal_input);
    EXPECT_EQ(state.slots.count("callback_phone"), 0u);
    EXPECT_EQ(state.slots.at("callback_name"), "Sam");  // still in the flow
  }
}

TEST(CallbackFlowTest, ReadBackNoAsksForTheNumberAgain) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  SessionState state;
  Converse(StepsUs()[2], &state, s.clinic("demo"));
  ASSERT_EQ(state.state, "callback-phone-check");
  TurnResult r = Converse({"no"}, &state, s.clinic("demo"));
  EXPECT_EQ(r.state.state, "callback-phone");
  EXPECT_THAT(r.reply.text, HasSubstr("try again"));
  r = Converse({"201 555 0199"}, &state, s.clinic("demo"));
  EXPECT_THAT(r.reply.text, HasSubstr("I have (201) 555-0199."));
  EXPECT_EQ(state.slots.at("callback_phone"), "+12015550199");
}

TEST(CallbackFlowTest, AQuestionIsNeverTakenForAName) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  {
    // An FAQ question while asked for a name gets its answer, and the flow ends.
    SessionState state;
    const TurnResult r = Converse({"can I have a callback", "can I take ibuprofen with chemo?"},
                                  &state, s.clinic("demo"));
    EXPECT_EQ(r.reply.kind, ReplyKind::kAnswer);
    EXPECT_EQ(r.state.state, "idle");
    ExpectNoPersonalSlots(r.state);
  }
  for (const char* not_a_name : {"yes", "I don't know", "morphine", "back pain"}) {
    SCOPED_TRACE(not_a_name);
    SessionState state;
    const TurnResult r = Converse({"can I have a callback", not_a_name}, &state, s.clinic("demo"));
    EXPECT_EQ(state.slots.count("callback_name"), 0u);
    EXPECT_FALSE(r.personal_input);
  }
  {
    // Nothing else fits: asked again.
    SessionState state;
    const TurnResult r = Converse({"can I have a callback", "yes"}, &state, s.clinic("demo"));
    EXPECT_EQ(r.state.state, "callback-name");
    EXPECT_THAT(r.reply.text, HasSubstr("just your first name"));
  }
}

TEST(CallbackFlowTest, AnEmergencyStillComesFirst) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  SessionState state;
  TurnResult r = Converse({"my husband can't feel his legs"}, &state, s.clinic("demo"));
  ASSERT_EQ(r.reply.urgency, Urgency::kEmergency);
  // The escalation tells them to call 911 now; the callback is offered only after the
  // emergency's own next steps.
  EXPECT_THAT(r.reply.text, HasSubstr("911"));
  ASSERT_FALSE(r.reply.quick_replies.empty());
  EXPECT_EQ(r.reply.quick_replies.back(), "Ask the team to call me");
  EXPECT_EQ(r.reply.quick_replies.front(), "I have called for help");
  r = Converse({"Ask the team to call me"}, &state, s.clinic("demo"));
  EXPECT_EQ(r.state.state, "callback-name");
  const size_t emergency = r.reply.text.find("911");
  const size_t name = r.reply.text.find("first name");
  ASSERT_NE(emergency, std::string::npos);
  ASSERT_NE(name, std::string::npos);
  EXPECT_LT(emergency, name) << r.reply.text;
}

TEST(CallbackFlowTest, OfferedAfterAnswersAndUrgentReplies) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  SessionState state;
  TurnResult r = Converse({"can I take ibuprofen with chemo?"}, &state, s.clinic("demo"));
  ASSERT_EQ(r.reply.kind, ReplyKind::kAnswer);
  EXPECT_EQ(r.reply.quick_replies.back(), "Ask the team to call me");
  r = Converse({"Ask the team to call me"}, &state, s.clinic("demo"));
  EXPECT_EQ(r.state.state, "callback-name");

  state = SessionState();
  r = Converse({"I have back pain", "yes its new", "no none of those"}, &state, s.clinic("demo"));
  ASSERT_EQ(r.reply.urgency, Urgency::kUrgent);
  EXPECT_THAT(r.reply.quick_replies, ::testing::Contains("Ask the team to call me"));
  r = Converse({"Ask the team to call me"}, &state, s.clinic("demo"));
  EXPECT_EQ(r.state.state, "callback-name");
  EXPECT_THAT(r.reply.text, HasSubstr("today"));  // a call back is no reason to wait
}

TEST(CallbackFlowTest, AskingForAPersonOffersTheCallBack) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  SessionState state;
  TurnResult r = Converse({"I want to talk to someone"}, &state, s.clinic("demo"));
  EXPECT_EQ(r.reply.topic, "human");
  EXPECT_EQ(r.state.state, "callback-offer");
  EXPECT_THAT(r.reply.text, HasSubstr("555-0142"));
  r = Converse({"yes please"}, &state, s.clinic("demo"));
  EXPECT_EQ(r.state.state, "callback-name");
}

}  // namespace
}  // namespace backline::engine
