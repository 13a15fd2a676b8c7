#include "engine/text.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace backline::engine {
namespace {

using ::testing::ElementsAre;

// A small language spec like knowledge/language.json, enough for the normaliser.
LanguageSpec TinyLanguage() {
  LanguageSpec spec;
  spec.contractions = {{"can't", "cannot"}, {"cant", "cannot"},  {"won't", "will not"},
                       {"dont", "do not"},  {"don't", "do not"}, {"i'm", "i am"},
                       {"it's", "it is"},   {"u", "you"}};
  return spec;
}

std::vector<std::string> Texts(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(t.text);
  return out;
}

bool IsAscii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// ---- FoldToAscii ----------------------------------------------------------------------

TEST(FoldToAsciiTest, DropsAccents) {
  EXPECT_EQ(FoldToAscii("café"), "cafe");
  EXPECT_EQ(FoldToAscii("naïve façade"), "naive facade");
  EXPECT_EQ(FoldToAscii("ÀÉÎÕÜ"), "aeiou");
  EXPECT_EQ(FoldToAscii("straße"), "strasse");
  EXPECT_EQ(FoldToAscii("Łódź"), "lodz");  // Latin Extended-A
}

TEST(FoldToAsciiTest, LowercasesAscii) {
  EXPECT_EQ(FoldToAscii("MY LEGS Are WEAK"), "my legs are weak");
}

TEST(FoldToAsciiTest, CurlyApostrophesAndQuotesBecomePlain) {
  EXPECT_EQ(FoldToAscii("can\u2019t"), "can't");  // right single quotation mark
  EXPECT_EQ(FoldToAscii("can\u2018t"), "can't");  // left single quotation mark
  EXPECT_EQ(FoldToAscii("can`t"), "can't");       // backtick
  EXPECT_EQ(FoldToAscii("\u201cnumb\u201d"), "\"numb\"");
}

TEST(FoldToAsciiTest, DashesBecomeHyphens) {
  EXPECT_EQ(FoldToAscii("2\u20133 days"), "2-3 days");  // en dash
  EXPECT_EQ(FoldToAscii("pain\u2014bad"), "pain-bad");  // em dash
  EXPECT_EQ(FoldToAscii("\u2212"
                        "5"),
            "-5");  // minus sign
}

TEST(FoldToAsciiTest, EllipsisAndFullwidthPunctuation) {
  EXPECT_EQ(FoldToAscii("well\u2026"), "well...");
  EXPECT_EQ(FoldToAscii("\u00bfque\uff1f"), "?que?");
}

TEST(FoldToAsciiTest, EmojiAndOtherScriptsBecomeSpaces) {
  EXPECT_EQ(FoldToAscii("pain \U0001F623 today"), "pain   today");
  EXPECT_EQ(FoldToAscii("\u75db"), " ");      // a CJK character
  EXPECT_EQ(FoldToAscii("a\u00a0b"), "a b");  // no-break space
}

TEST(FoldToAsciiTest, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(FoldToAscii("legs\tweak\nnow\r"), "legs weak now ");
  EXPECT_EQ(FoldToAscii(std::string("a\0b", 3)), "a b");
}

TEST(FoldToAsciiTest, InvalidUtf8BytesBecomeSpaces) {
  EXPECT_EQ(FoldToAscii("a\xff"
                        "b"),
            "a b");
  EXPECT_EQ(FoldToAscii("a\x80"
                        "b"),
            "a b");                                    // stray continuation byte
  EXPECT_EQ(FoldToAscii("a\xc3"), "a ");               // truncated two-byte sequence
  EXPECT_EQ(FoldToAscii("\xe2\x80"), "  ");            // truncated three-byte sequence
  EXPECT_EQ(FoldToAscii("\xc0\xaf"), "  ");            // overlong "/"
  EXPECT_EQ(FoldToAscii("\xed\xa0\x80"), "   ");       // UTF-16 surrogate
  EXPECT_EQ(FoldToAscii("\xf4\x90\x80\x80"), "    ");  // above U+10FFFF
  EXPECT_EQ(FoldToAscii("\xc3"
                        "a"),
            " a");  // lead byte then a non-continuation
}

TEST(FoldToAsciiTest, NeverProducesNonAsciiOrCrashesOnArbitraryBytes) {
  std::mt19937 rng(20260126);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 48);
  const TextNormalizer normalizer(TinyLanguage());
  for (int i = 0; i < 3000; ++i) {
    std::string s(static_cast<size_t>(len(rng)), '\0');
    for (auto& c : s) c = static_cast<char>(byte(rng));
    const std::string folded = FoldToAscii(s);
    ASSERT_TRUE(IsAscii(folded)) << "input #" << i;
    const std::vector<Token> tokens = normalizer.Normalize(s);
    for (size_t k = 0; k < tokens.size(); ++k) {
      const Token& t = tokens[k];
      ASSERT_FALSE(t.text.empty()) << "input #" << i;
      ASSERT_TRUE(IsAscii(t.text)) << "input #" << i;
      if (t.is_break) {
        ASSERT_EQ(t.text.size(), 1u);
        ASSERT_NE(std::string(".,;:!?").find(t.text[0]), std::string::npos);
        ASSERT_GT(k, 0u) << "a break never starts the tokens (input #" << i << ")";
        ASSERT_FALSE(tokens[k - 1].is_break) << "breaks never repeat (input #" << i << ")";
      } else {
        for (char c : t.text) {
          ASSERT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')
              << "token \"" << t.text << "\" of input #" << i;
        }
      }
    }
  }
}

// ---- Tokenising -----------------------------------------------------------------------

TEST(NormalizeTest, SplitsWordsAndClauseBreaks) {
  const TextNormalizer n(TinyLanguage());
  const auto tokens = n.Normalize("Hello, my legs. Weak? Yes! ok; no: fine");
  EXPECT_THAT(Texts(tokens), ElementsAre("hello", ",", "my", "legs", ".", "weak", "?", "yes", "!",
                                         "ok", ";", "no", ":", "fine"));
  for (const auto& t : tokens) {
    EXPECT_EQ(t.is_break,
              t.text.size() == 1 && std::string(".,;:!?").find(t.text) != std::string::npos)
        << t.text;
  }
}

TEST(NormalizeTest, OtherPunctuationSeparatesWordsWithoutABreak) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_THAT(Texts(n.Normalize("back-pain (bad) \"numb\" legs/feet")),
              ElementsAre("back", "pain", "bad", "numb", "legs", "feet"));
}

TEST(NormalizeTest, RepeatedAndLeadingBreaksCollapse) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_THAT(Texts(n.Normalize("...really?!?")), ElementsAre("really", "?"));
  EXPECT_THAT(Texts(n.Normalize("!!!")), ElementsAre());
  EXPECT_THAT(Texts(n.Normalize("")), ElementsAre());
  EXPECT_THAT(Texts(n.Normalize("   \t ")), ElementsAre());
}

TEST(NormalizeTest, KeepsDecimalsWhole) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_THAT(Texts(n.Normalize("temp 38.4 today")), ElementsAre("temp", "38.4", "today"));
  EXPECT_THAT(Texts(n.Normalize("it was 100.4F.")), ElementsAre("it", "was", "100.4f", "."));
  // A full stop after a number, or between a number and a word, is still a break.
  EXPECT_THAT(Texts(n.Normalize("took 2. then slept")),
              ElementsAre("took", "2", ".", "then", "slept"));
  EXPECT_THAT(Texts(n.Normalize("day 3.next")), ElementsAre("day", "3", ".", "next"));
}

TEST(NormalizeTest, ThousandsSeparatorJoinsTheNumber) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_THAT(Texts(n.Normalize("1,000 mg")), ElementsAre("1000", "mg"));
  // A comma followed by a space is a clause break.
  EXPECT_THAT(Texts(n.Normalize("1, 2")), ElementsAre("1", ",", "2"));
}

// ---- Contractions, possessives, repeated letters --------------------------------------

TEST(NormalizeTest, ExpandsContractionsFromTheLanguageSpec) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_EQ(JoinTokens(n.Normalize("I can't walk")), "i cannot walk");
  EXPECT_EQ(JoinTokens(n.Normalize("I CAN'T WALK")), "i cannot walk");
  EXPECT_EQ(JoinTokens(n.Normalize("I can\u2019t walk")), "i cannot walk");
  EXPECT_EQ(JoinTokens(n.Normalize("I cant walk")), "i cannot walk");
  EXPECT_EQ(JoinTokens(n.Normalize("he won't wake")), "he will not wake");
  EXPECT_EQ(JoinTokens(n.Normalize("I dont know")), "i do not know");
  EXPECT_EQ(JoinTokens(n.Normalize("I'm sore, it's bad")), "i am sore , it is bad");
  EXPECT_EQ(JoinTokens(n.Normalize("can u help")), "can you help");
}

TEST(NormalizeTest, WordsOutsideTheSpecAreLeftAlone) {
  const TextNormalizer n(LanguageSpec{});
  EXPECT_EQ(JoinTokens(n.Normalize("I dont know")), "i dont know");
  // Without the table an apostrophe inside a word is dropped, not split on.
  EXPECT_EQ(JoinTokens(n.Normalize("I can't walk")), "i cant walk");
}

TEST(NormalizeTest, DropsPossessiveS) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_EQ(JoinTokens(n.Normalize("my dad's legs")), "my dad legs");
  EXPECT_EQ(JoinTokens(n.Normalize("my dad\u2019s legs")), "my dad legs");
  EXPECT_EQ(JoinTokens(n.Normalize("the nurses' room")), "the nurses room");
  EXPECT_EQ(JoinTokens(n.Normalize("'quoted' words")), "quoted words");
}

TEST(NormalizeTest, CollapsesLettersRepeatedThreeTimesOrMore) {
  const TextNormalizer n(TinyLanguage());
  EXPECT_EQ(JoinTokens(n.Normalize("sooooo painful")), "soo painful");
  EXPECT_EQ(JoinTokens(n.Normalize("heeelp")), "heelp");
  EXPECT_EQ(JoinTokens(n.Normalize("cantttt")), "cantt");
  EXPECT_EQ(JoinTokens(n.Normalize("soo")), "soo");          // two stay two
  EXPECT_EQ(JoinTokens(n.Normalize("1000 mg")), "1000 mg");  // digits are not letters
}

TEST(NormalizeTest, RepeatedLettersCollapseBeforeTheContractionLookup) {
  LanguageSpec spec;
  spec.contractions = {{"pls", "please"}};
  const TextNormalizer n(spec);
  EXPECT_EQ(JoinTokens(n.Normalize("plsss")), "plss");  // two s: no longer "pls"
  EXPECT_EQ(JoinTokens(n.Normalize("pls")), "please");
}

// ---- Stem, SplitWords, JoinTokens -----------------------------------------------------

TEST(StemTest, StripsCommonSuffixes) {
  // Snowball's English stemmer: inflections of one word share a stem, which need not be a word.
  EXPECT_EQ(Stem("legs"), "leg");
  EXPECT_EQ(Stem("stools"), "stool");
  EXPECT_EQ(Stem("peeing"), "pee");
  EXPECT_EQ(Stem("stopped"), "stop");
  EXPECT_EQ(Stem("swimming"), "swim");
  EXPECT_EQ(Stem("walked"), "walk");
  EXPECT_EQ(Stem("classes"), "class");
  EXPECT_EQ(Stem("patches"), "patch");
  EXPECT_EQ(Stem("weakness"), "weak");
  EXPECT_EQ(Stem("numbness"), "numb");
  EXPECT_EQ(Stem("bodies"), Stem("body"));
  EXPECT_EQ(Stem("tingling"), Stem("tingles"));
}

TEST(StemTest, LeavesShortAndSpecialWordsAlone) {
  EXPECT_EQ(Stem("is"), "is");
  EXPECT_EQ(Stem("gas"), "gas");
  EXPECT_EQ(Stem("this"), "this");
  EXPECT_EQ(Stem("virus"), "virus");
  EXPECT_EQ(Stem("loss"), "loss");
  EXPECT_EQ(Stem("sing"), "sing");     // too short to lose "-ing"
  EXPECT_EQ(Stem("falling"), "fall");  // a double l stays
  EXPECT_EQ(Stem(""), "");
}

TEST(StemTest, ContentAndQuestionFormsMeet) {
  // The property retrieval relies on: inflected forms reach the same stem.
  EXPECT_EQ(Stem("exercises"), Stem("exercise"));
  EXPECT_EQ(Stem("tablets"), Stem("tablet"));
  EXPECT_EQ(Stem("injections"), Stem("injection"));
  EXPECT_EQ(Stem("worries"), Stem("worry"));
}

TEST(SplitWordsTest, SplitsOnAnythingButLettersAndDigits) {
  EXPECT_THAT(SplitWords("pass-urine, NOW 38.4"), ElementsAre("pass", "urine", "now", "38", "4"));
  EXPECT_THAT(SplitWords("can't"), ElementsAre("cant"));
  EXPECT_THAT(SplitWords("  "), ElementsAre());
}

TEST(JoinTokensTest, JoinsWithSingleSpaces) {
  EXPECT_EQ(JoinTokens({Token{"a", false}, Token{",", true}, Token{"b", false}}), "a , b");
  EXPECT_EQ(JoinTokens({}), "");
}

}  // namespace
}  // namespace backline::engine
