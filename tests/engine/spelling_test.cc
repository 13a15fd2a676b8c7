#include "engine/spelling.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace backline::engine {
namespace {

SpellingCorrector Build(const std::vector<std::string>& words) {
  SpellingCorrector c;
  for (const auto& w : words) c.AddWord(w);
  c.Freeze();
  return c;
}

TEST(SpellingTest, RepairsWithinDistanceOne) {
  const auto c = Build({"morphine", "ibuprofen", "numbness", "tingling", "weakness"});
  EXPECT_EQ(c.Correct("morphene"), "morphine");    // substitution
  EXPECT_EQ(c.Correct("ibuprofin"), "ibuprofen");  // substitution
  EXPECT_EQ(c.Correct("numbess"), "numbness");     // deletion
  EXPECT_EQ(c.Correct("tinglling"), "tingling");   // insertion
}

TEST(SpellingTest, RepairsTranspositionsAsOneEdit) {
  const auto c = Build({"morphine", "nausea", "spine"});
  EXPECT_EQ(c.Correct("morhpine"), "morphine");
  EXPECT_EQ(c.Correct("nuasea"), "nausea");  // 6 letters: only distance 1 allowed
  EXPECT_EQ(c.Correct("sipne"), "spine");    // 5 letters
}

TEST(SpellingTest, NeverRepairsAKnownWord) {
  SpellingCorrector c;
  c.AddWord("fever");
  c.AddWord("bowel");
  c.AddKnown("never");  // a stop word: known, but not a repair target
  c.AddWord("vowel");
  c.Freeze();
  EXPECT_EQ(c.Correct("never"), "");
  EXPECT_EQ(c.Correct("vowel"), "");
  EXPECT_EQ(c.Correct("bowel"), "");
  EXPECT_TRUE(c.IsKnown("never"));
  EXPECT_TRUE(c.IsKnown("vowel"));
  EXPECT_FALSE(c.IsKnown("level"));
}

TEST(SpellingTest, KnownWordsAreNotRepairTargets) {
  SpellingCorrector c;
  c.AddKnown("together");
  c.Freeze();
  EXPECT_EQ(c.Correct("togather"), "");
  EXPECT_EQ(c.vocabulary_size(), 0u);
}

TEST(SpellingTest, NeverRepairsWordsUnderFiveLetters) {
  const auto c = Build({"pain", "numb", "pee", "back", "spine"});
  EXPECT_EQ(c.Correct("pian"), "");  // 4 letters, transposition of "pain"
  EXPECT_EQ(c.Correct("nmub"), "");
  EXPECT_EQ(c.Correct("bakc"), "");
  EXPECT_EQ(c.Correct("spien"), "spine");  // 5 letters is enough
  // Short words are known but never become targets.
  EXPECT_TRUE(c.IsKnown("pain"));
  EXPECT_EQ(c.vocabulary_size(), 1u);
}

TEST(SpellingTest, NeverRepairsWordsWithDigitsOrOtherCharacters) {
  const auto c = Build({"oxycodone", "fentanyl"});
  EXPECT_EQ(c.Correct("oxyc0done"), "");
  EXPECT_EQ(c.Correct("fentanyl2"), "");
  EXPECT_EQ(c.Correct("fent'anyl"), "");
  EXPECT_EQ(c.Correct("fentanil"), "fentanyl");
}

TEST(SpellingTest, DistanceTwoOnlyFromEightLetters) {
  const auto c = Build({"weakness", "tumours"});
  // 8 letters, two edits from "weakness" (transposition + substitution).
  ASSERT_EQ(SpellingCorrector::Distance("waeknees", "weakness", 3), 2);
  EXPECT_EQ(c.Correct("waeknees"), "weakness");
  // 7 letters, two edits: too far for a word this short.
  ASSERT_EQ(SpellingCorrector::Distance("waeknss", "weakness", 3), 2);
  EXPECT_EQ(c.Correct("waeknss"), "");
  ASSERT_EQ(SpellingCorrector::Distance("tmuorus", "tumours", 3), 2);
  EXPECT_EQ(c.Correct("tmuorus"), "");
  // Three edits are never repaired, however long the word.
  ASSERT_EQ(SpellingCorrector::Distance("waeknesees", "weakness", 4), 3);
  EXPECT_EQ(c.Correct("waeknesees"), "");
}

TEST(SpellingTest, UnrelatedWordsAreLeftAlone) {
  const auto c = Build({"morphine", "ibuprofen"});
  EXPECT_EQ(c.Correct("weather"), "");
  EXPECT_EQ(c.Correct("football"), "");
}

TEST(SpellingTest, PrefersTheCloserWord) {
  const auto c = Build({"swelling", "smelling"});
  // "swellling" is one edit from "swelling" and two from "smelling".
  EXPECT_EQ(c.Correct("swellling"), "swelling");
}

TEST(SpellingTest, TiesGoToTheMoreFrequentWord) {
  SpellingCorrector c;
  c.AddWord("bleed", 1);
  c.AddWord("breed", 5);
  c.Freeze();
  EXPECT_EQ(c.Correct("bseed"), "breed");
}

TEST(SpellingTest, EqualTiesAreBrokenAlphabeticallyWhateverTheInsertionOrder) {
  for (const std::vector<std::string>& order :
       {std::vector<std::string>{"bleed", "breed", "bread"},
        std::vector<std::string>{"bread", "breed", "bleed"},
        std::vector<std::string>{"breed", "bleed", "bread"}}) {
    const auto c = Build(order);
    EXPECT_EQ(c.Correct("bseed"), "bleed") << "first added: " << order.front();
  }
}

TEST(SpellingTest, FrequencyAccumulates) {
  SpellingCorrector c;
  c.AddWord("bleed", 2);
  c.AddWord("breed", 1);
  c.AddWord("breed", 1);
  c.AddWord("breed", 1);
  c.Freeze();
  EXPECT_EQ(c.Correct("bseed"), "breed");
  EXPECT_EQ(c.vocabulary_size(), 2u);
}

TEST(SpellingTest, EmptyVocabularyRepairsNothing) {
  SpellingCorrector c;
  c.Freeze();
  EXPECT_EQ(c.Correct("morphene"), "");
  EXPECT_FALSE(c.IsKnown("morphene"));
}

TEST(DistanceTest, ClassicExamples) {
  EXPECT_EQ(SpellingCorrector::Distance("kitten", "sitting", 5), 3);
  EXPECT_EQ(SpellingCorrector::Distance("", "", 2), 0);
  EXPECT_EQ(SpellingCorrector::Distance("same", "same", 0), 0);
  EXPECT_EQ(SpellingCorrector::Distance("", "abcd", 5), 4);
  EXPECT_EQ(SpellingCorrector::Distance("flaw", "lawn", 5), 2);
}

// The distance to an empty string is the other string's length.
TEST(DistanceTest, DistanceToTheEmptyStringIsTheLength) {
  EXPECT_EQ(SpellingCorrector::Distance("abc", "", 5), 3);
  EXPECT_EQ(SpellingCorrector::Distance("a", "", 10), 1);
}

TEST(DistanceTest, AdjacentTranspositionCostsOne) {
  EXPECT_EQ(SpellingCorrector::Distance("ab", "ba", 2), 1);
  EXPECT_EQ(SpellingCorrector::Distance("morphine", "morhpine", 2), 1);
}

TEST(DistanceTest, IsOptimalStringAlignment) {
  // OSA never edits a substring twice: "ca" -> "abc" is 3, not the unrestricted 2.
  EXPECT_EQ(SpellingCorrector::Distance("ca", "abc", 5), 3);
}

TEST(DistanceTest, IsSymmetric) {
  const char* words[] = {"morphine", "morhpine", "morfine", "ibuprofen", "ibuprofin", "pain", "a"};
  for (const char* a : words) {
    for (const char* b : words) {
      EXPECT_EQ(SpellingCorrector::Distance(a, b, 10), SpellingCorrector::Distance(b, a, 10))
          << a << " / " << b;
    }
  }
}

TEST(DistanceTest, IsCappedAtLimitPlusOne) {
  EXPECT_EQ(SpellingCorrector::Distance("a", "abcdef", 2), 3);       // length difference
  EXPECT_EQ(SpellingCorrector::Distance("abcdef", "uvwxyz", 2), 3);  // same length
  EXPECT_EQ(SpellingCorrector::Distance("abcdef", "uvwxyz", 10), 6);
  EXPECT_EQ(SpellingCorrector::Distance("abc", "abd", 0), 1);
}

}  // namespace
}  // namespace backline::engine
