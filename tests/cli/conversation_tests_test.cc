// `backline test` and the conversation-test runner (cli/conversation_tests.h), on the
// fixtures in tests/dialogs/fixtures/conversations/ and the shipped content.
#include "cli/conversation_tests.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/commands.h"
#include "content/content.h"
#include "tests/support/build_paths.h"

namespace backline::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kFixtures =
    std::string(build::kSourceDir) + "/tests/dialogs/fixtures/conversations/";

struct TestRun {
  int code;
  std::string out;
  std::string err;
};

TestRun RunTestCommand(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  TestRun r;
  r.code = RunTest(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

const content::Content& Shipped() {
  static const std::shared_ptr<const content::Content> content = [] {
    std::vector<engine::Diagnostic> diags;
    auto loaded = content::LoadContent(content::DefaultContentPaths(), &diags);
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }();
  EXPECT_NE(content, nullptr);
  return *content;
}

TEST(BacklineTestCommand, PassingFixturePasses) {
  const std::string file = kFixtures + "passing/pass.json";
  TestRun r = RunTestCommand({kFixtures + "passing"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok   " + file + ": ibuprofen on chemo (2 turns)\n"));
  EXPECT_THAT(r.out, HasSubstr("1 conversations, 2 turns, 0 failed\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("FAIL")));
}

TEST(BacklineTestCommand, WrongExpectationFailsWithLocationAndDifference) {
  const std::string file = kFixtures + "wrong-expectation.json";
  TestRun r = RunTestCommand({file});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  // The second turn (line 8) of the first conversation fails; the first passed.
  EXPECT_THAT(r.out, HasSubstr("FAIL " + file +
                               ":8:8: ibuprofen filed under the wrong topic, turn 2 of 3\n"
                               "  said:  \"can i take ibuprofen when im on chemo\"\n"
                               "  topic: expected opioids, got nsaids\n"
                               "  entry: expected opioids-addiction, got "
                               "nsaids-chemo-platelets-kidneys\n"
                               "  contains: expected the reply to contain \"morphine\", got a "
                               "reply without it\n"
                               "  reply: [answer, nsaids, none, entry "
                               "nsaids-chemo-platelets-kidneys, state idle]\n"));
  EXPECT_THAT(r.out, HasSubstr("(the 1 later turn(s) of this conversation were not run)"));
  // The whole reply text is shown.
  EXPECT_THAT(
      r.out,
      HasSubstr(
          Shipped().engine->FindEntry("nsaids-chemo-platelets-kidneys")->answer.substr(0, 60)));
  // Slots and quick replies.
  EXPECT_THAT(r.out, HasSubstr("FAIL " + file +
                               ":17:8: the slot is set to the wrong value, turn 3 of 3\n"));
  EXPECT_THAT(r.out, HasSubstr("  slots.in_treatment: expected \"no\", got \"yes\"\n"));
  EXPECT_THAT(r.out, HasSubstr("  quick_replies_include: expected \"Acupuncture\" among the "
                               "quick replies, got [\"Pain medicines\","));
  // A red flag expected to be calm: each failed expectation on its own line.
  EXPECT_THAT(r.out,
              HasSubstr("FAIL " + file + ":22:8: a red flag expected to be calm, turn 1 of 1\n"));
  EXPECT_THAT(r.out, HasSubstr("  urgency: expected none, got emergency\n"
                               "  red_flag: expected none, got E1\n"
                               "  not_contains: expected the reply not to contain \"call 911\", "
                               "got a reply with it\n"));
  EXPECT_THAT(r.out, HasSubstr("3 conversations, 6 turns, 3 failed\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("ok   ")));
}

TEST(BacklineTestCommand, UnknownKeyIsRefusedWithItsLocation) {
  const std::string file = kFixtures + "unknown-key.json";
  TestRun r = RunTestCommand({file});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ERROR " + file + ": not a valid conversation test file:\n"));
  EXPECT_THAT(r.out, HasSubstr(file + ":6:48: error: unknown key \"topik\" (known keys: "));
  EXPECT_THAT(r.out, HasSubstr("0 conversations, 0 turns, 0 failed, 1 malformed file(s)\n"));
}

TEST(BacklineTestCommand, ValuesTheContentDoesNotKnowAreRefusedWhereTheyAre) {
  const std::string file = kFixtures + "bad-values.json";
  TestRun r = RunTestCommand({file});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  for (const std::string want : {
           ":3:13: error: unknown clinic \"nowhere\"",
           ":7:34: error: unknown FAQ entry \"no-such-entry\"",
           ":7:63: error: unknown red-flag kind \"E99\"",
           ":7:79: error: unknown dialog state \"limbo\"",
           ":8:20: error: \"urgency\" must be one of none, urgent, emergency",
           ":8:37: error: unknown topic \"weather\"",
           ":8:56: error: unknown kind \"answr\"",
           ":8:75: error: unknown slot \"in_treatmnt\"",
           ":9:16: error: \"say\" must be a string",
           ":9:32: error: \"contains\" must be a list of strings",
           ":10:8: error: missing field \"say\"",
           ":12:14: error: two conversations are named \"bad values\"",
           ":12:37: error: \"turns\" must be a non-empty list of turns",
       }) {
    EXPECT_THAT(r.out, HasSubstr(file + want)) << r.out;
  }
}

TEST(BacklineTestCommand, WellFormedFilesStillRunBesideAMalformedOne) {
  TestRun r = RunTestCommand({kFixtures + "mixed"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("a-pass.json: ibuprofen on chemo (2 turns)"));
  EXPECT_THAT(r.out, HasSubstr("b-unknown-key.json:6:48: error: unknown key \"topik\""));
  EXPECT_THAT(r.out, HasSubstr("1 conversations, 2 turns, 0 failed, 1 malformed file(s)\n"));
}

TEST(BacklineTestCommand, MissingPathAndBadOptionExitTwo) {
  TestRun r = RunTestCommand({kFixtures + "no-such-file.json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no conversation test file at " + kFixtures + "no-such-file.json"));
  r = RunTestCommand({"--verbose"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--verbose'"));
}

TEST(ConversationTestParser, SyntaxErrorHasItsLocation) {
  ConversationTestFile f;
  std::vector<engine::Diagnostic> diags;
  EXPECT_FALSE(ParseConversationTestFile("{\n  \"conversations\": [\n    {\"name\": }\n]}",
                                         "t.json", Shipped(), &f, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.file, "t.json");
  EXPECT_EQ(diags[0].where.line, 3);
  EXPECT_THAT(diags[0].message, HasSubstr("invalid JSON"));
}

TEST(ConversationTestParser, ContainsTakesAStringOrAListAndRefusesEmpty) {
  ConversationTestFile f;
  std::vector<engine::Diagnostic> diags;
  ASSERT_TRUE(ParseConversationTestFile(
      R"({"clinic": "demo", "conversations": [{"name": "n", "turns": [
           {"say": "hi", "contains": "hello", "not_contains": ["a", "b"], "entry": "",
            "slots": {"in_treatment": null}}]}]})",
      "t.json", Shipped(), &f, &diags))
      << (diags.empty() ? "" : diags[0].ToString());
  ASSERT_EQ(f.conversations.size(), 1u);
  EXPECT_EQ(f.conversations[0].clinic, "demo");
  const ConversationTurn& t = f.conversations[0].turns[0];
  EXPECT_EQ(t.contains, std::vector<std::string>{"hello"});
  EXPECT_EQ(t.not_contains, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.entry, std::optional<std::string>(""));
  EXPECT_FALSE(t.topic.has_value());
  ASSERT_EQ(t.slots.count("in_treatment"), 1u);
  EXPECT_FALSE(t.slots.at("in_treatment").has_value());

  diags.clear();
  EXPECT_FALSE(ParseConversationTestFile(
      R"({"conversations": [{"name": "n", "turns": [{"say": "hi", "contains": ""}]}]})", "t.json",
      Shipped(), &f, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("must not hold an empty string"));
}

TEST(ConversationTestRunner, EachConversationStartsFromAFreshSession) {
  // The second conversation would be answered in state check-new if the first one's
  // session leaked into it.
  ConversationTestFile f;
  std::vector<engine::Diagnostic> diags;
  ASSERT_TRUE(ParseConversationTestFile(
      R"({"conversations": [
           {"name": "a", "turns": [{"say": "I have back pain", "state": "check-new"}]},
           {"name": "b", "turns": [{"say": "no", "state": "idle", "kind": "fallback"}]}]})",
      "t.json", Shipped(), &f, &diags));
  for (const auto& c : f.conversations) {
    std::ostringstream out;
    EXPECT_TRUE(RunConversation(Shipped(), f, c, out).passed) << out.str();
  }
}

}  // namespace
}  // namespace backline::cli
