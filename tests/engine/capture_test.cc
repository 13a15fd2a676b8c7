#include "engine/capture.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace backline::engine {
namespace {

// --- Names ---

TEST(CaptureNameTest, TakesFirstNamesAsTyped) {
  EXPECT_EQ(CaptureName("Sam"), "Sam");
  EXPECT_EQ(CaptureName("  priya  "), "priya");
  EXPECT_EQ(CaptureName("Mary-Jane"), "Mary-Jane");
  EXPECT_EQ(CaptureName("O'Neil"), "O'Neil");
  EXPECT_EQ(CaptureName("Jo Ann"), "Jo Ann");
  EXPECT_EQ(CaptureName("José"), "José");
  EXPECT_EQ(CaptureName("Siobhán"), "Siobhán");
  // Names that are also words are names.
  EXPECT_EQ(CaptureName("Will"), "Will");
  EXPECT_EQ(CaptureName("Hope"), "Hope");
}

TEST(CaptureNameTest, DropsLeadInsAndClosingPunctuation) {
  EXPECT_EQ(CaptureName("my name is Sam"), "Sam");
  EXPECT_EQ(CaptureName("It's Ade."), "Ade");
  EXPECT_EQ(CaptureName("I'm Grace!"), "Grace");
  EXPECT_EQ(CaptureName("call me Bob"), "Bob");
  // A lead-in is a whole word: "Imogen" keeps its "Im".
  EXPECT_EQ(CaptureName("Imogen"), "Imogen");
}

TEST(CaptureNameTest, RefusesWhatIsNotAName) {
  EXPECT_EQ(CaptureName(""), std::nullopt);
  EXPECT_EQ(CaptureName("   "), std::nullopt);
  EXPECT_EQ(CaptureName("can I take ibuprofen with chemo?"), std::nullopt);
  EXPECT_EQ(CaptureName("what is morphine"), std::nullopt);
  EXPECT_EQ(CaptureName("Sam?"), std::nullopt);
  EXPECT_EQ(CaptureName("yes"), std::nullopt);
  EXPECT_EQ(CaptureName("no"), std::nullopt);
  EXPECT_EQ(CaptureName("back pain"), std::nullopt);
  EXPECT_EQ(CaptureName("I want a nurse"), std::nullopt);
  EXPECT_EQ(CaptureName("07700 900123"), std::nullopt);
  EXPECT_EQ(CaptureName("Sam2"), std::nullopt);
  EXPECT_EQ(CaptureName("Anne Marie Louise Smith"), std::nullopt);  // four words: a sentence
  EXPECT_EQ(CaptureName(std::string(41, 'a')), std::nullopt);
  EXPECT_EQ(CaptureName("-Sam"), std::nullopt);
  EXPECT_EQ(CaptureName("Sam <script>"), std::nullopt);
}

// --- Phone numbers: the UK ---

TEST(CapturePhoneTest, TakesUkNumbersInEveryUsualForm) {
  for (const char* typed : {"07700 900123", "07700900123", "+44 7700 900123", "+447700900123",
                            "0044 7700 900123", "+44 (0)7700 900123", "+44 07700 900123",
                            "07700-900-123", "my number is 07700 900123", "it's 07700 900123."}) {
    SCOPED_TRACE(typed);
    const auto p = CapturePhone(typed, "GB");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->e164, "+447700900123");
    EXPECT_EQ(p->national, "07700 900123");
  }
}

TEST(CapturePhoneTest, ShowsUkNumbersInTheirOwnGroups) {
  EXPECT_EQ(CapturePhone("02079460018", "GB")->national, "020 7946 0018");
  EXPECT_EQ(CapturePhone("01134960000", "GB")->national, "0113 496 0000");
  EXPECT_EQ(CapturePhone("01214960000", "GB")->national, "0121 496 0000");
  EXPECT_EQ(CapturePhone("01632 960142", "GB")->national, "01632 960142");
  EXPECT_EQ(CapturePhone("01632 960142", "GB")->e164, "+441632960142");
  EXPECT_EQ(CapturePhone("0300 123 4567", "GB")->national, "0300 123 4567");
  EXPECT_EQ(CapturePhone("07624 123456", "GB")->national, "07624 123456");  // Isle of Man
}

TEST(CapturePhoneTest, RefusesUkNumbersThatCannotBeCalledBack) {
  for (const char* typed : {
           "0770 090 012",        // a digit short
           "077009001234",        // a digit long
           "999",                 // emergency
           "111",                 // NHS 111
           "09098 790123",        // premium rate
           "07000 123456",        // 070 personal number
           "07600 123456",        // 076 pager
           "00 7700 900123",      // an international prefix with no country
           "+1 201 555 0123",     // another country's number
           "+33 1 23 45 67 89",   // another country's number
           "07700 9OO123",        // letters for digits
           "call me on Tuesday",  // no number
           "",
       }) {
    SCOPED_TRACE(typed);
    EXPECT_EQ(CapturePhone(typed, "GB"), std::nullopt);
  }
}

// --- Phone numbers: the North American Numbering Plan ---

TEST(CapturePhoneTest, TakesUsNumbersInEveryUsualForm) {
  for (const char* typed :
       {"(201) 555-0123", "201-555-0123", "201.555.0123", "2015550123", "1 201 555 0123",
        "+1 201 555 0123", "+12015550123", "001 201 555 0123"}) {
    SCOPED_TRACE(typed);
    const auto p = CapturePhone(typed, "US");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->e164, "+12015550123");
    EXPECT_EQ(p->national, "(201) 555-0123");
  }
  EXPECT_EQ(CapturePhone("(416) 555-0199", "CA")->e164, "+14165550199");
}

TEST(CapturePhoneTest, RefusesUsNumbersThatCannotBeCalledBack) {
  for (const char* typed : {
           "555-0123",         // no area code
           "911",              // emergency
           "(911) 555-0123",   // N11 is not an area code
           "(201) 411-0123",   // nor an exchange
           "(101) 555-0123",   // area codes start 2-9
           "(201) 155-0123",   // so do exchanges
           "(291) 555-0123",   // a 9 in the middle is reserved
           "(900) 555-0123",   // premium rate
           "201 555 01234",    // too long
           "+44 7700 900123",  // another country's number
           "07700 900123",     // a UK number written nationally
       }) {
    SCOPED_TRACE(typed);
    EXPECT_EQ(CapturePhone(typed, "US"), std::nullopt);
  }
}

TEST(CapturePhoneTest, OtherCountriesTakeOnlyInternationalNumbers) {
  const auto p = CapturePhone("+33 1 23 45 67 89", "FR");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->e164, "+33123456789");
  EXPECT_EQ(CapturePhone("01 23 45 67 89", "FR"), std::nullopt);  // no rules to read it by
  EXPECT_EQ(CapturePhone("+33 12", "FR"), std::nullopt);          // shorter than E.164 allows
  EXPECT_EQ(CapturePhone("+33 1234 5678 9012 34", "FR"), std::nullopt);  // longer
}

TEST(CapturePhoneTest, LooksLikePhoneSaysWhetherATextIsATryAtANumber) {
  EXPECT_TRUE(LooksLikePhone("911"));
  EXPECT_TRUE(LooksLikePhone("555-0123"));
  EXPECT_TRUE(LooksLikePhone(" +44 (0)7700 900123 "));
  EXPECT_FALSE(LooksLikePhone("12"));
  EXPECT_FALSE(LooksLikePhone("call 911"));
  EXPECT_FALSE(LooksLikePhone("what number?"));
  EXPECT_FALSE(LooksLikePhone(""));
}

// --- Short texts ---

TEST(CaptureTextTest, TakesShortAnswers) {
  EXPECT_EQ(CaptureText("after 3pm", 80), "after 3pm");
  EXPECT_EQ(CaptureText("  weekday   mornings \n", 80), "weekday mornings");
  EXPECT_EQ(CaptureText("when the kids are at school", 80), "when the kids are at school");
  EXPECT_EQ(CaptureText("any time", 80), "any time");
}

TEST(CaptureTextTest, RefusesQuestionsEmptyAndLongTexts) {
  EXPECT_EQ(CaptureText("", 80), std::nullopt);
  EXPECT_EQ(CaptureText("   ", 80), std::nullopt);
  EXPECT_EQ(CaptureText("when can they call?", 80), std::nullopt);
  EXPECT_EQ(CaptureText("can I take ibuprofen with chemo", 80), std::nullopt);
  EXPECT_EQ(CaptureText("what helps back pain at night", 80), std::nullopt);
  EXPECT_EQ(CaptureText(std::string(81, 'a'), 80), std::nullopt);
  EXPECT_EQ(CaptureText(std::string(80, 'a'), 80), std::string(80, 'a'));
}

}  // namespace
}  // namespace backline::engine
