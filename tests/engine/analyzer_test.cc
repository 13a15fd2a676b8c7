#include "engine/analyzer.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace backline::engine {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

LanguageSpec Language() {
  LanguageSpec spec;
  spec.contractions = {{"can't", "cannot"}, {"cant", "cannot"}, {"i'm", "i am"}};
  spec.stopwords = {"i", "my", "the", "is", "are", "a", "am", "and", "can", "with", "to"};
  spec.negation_cues = {"no", "not"};
  return spec;
}

SynonymGroup Group(std::string canonical, std::vector<std::string> terms) {
  SynonymGroup g;
  g.canonical = std::move(canonical);
  g.terms = std::move(terms);
  return g;
}

std::vector<SynonymGroup> Synonyms() {
  return {Group("pee", {"wee", "peed", "pass urine", "passing water"}),
          Group("wet myself", {"peed myself", "wet my pants"}),
          Group("poo", {"stool", "bowel movement"}), Group("ibuprofen", {"nurofen", "advil"}),
          Group("morphine", {"oramorph"})};
}

Analyzer MakeAnalyzer(const std::vector<std::string>& vocabulary = {"morphine", "ibuprofen",
                                                                    "numbness", "weakness"}) {
  return Analyzer(Language(), Synonyms(), vocabulary);
}

// ---- SynonymMap -----------------------------------------------------------------------

std::vector<Token> Words(std::initializer_list<const char*> words) {
  std::vector<Token> out;
  for (const char* w : words)
    out.push_back(
        Token{w, std::string(".,;:!?").find(w) != std::string::npos && std::string(w).size() == 1});
  return out;
}

TEST(SynonymMapTest, LongestTermWins) {
  SynonymMap m;
  m.Add("peed", "pee");
  m.Add("peed myself", "wet myself");
  std::vector<Token> tokens = Words({"i", "peed", "myself"});
  std::vector<std::pair<std::string, std::string>> applied;
  m.Apply(&tokens, &applied);
  EXPECT_EQ(JoinTokens(tokens), "i wet myself");
  EXPECT_THAT(applied, ElementsAre(Pair("peed myself", "wet myself")));
}

TEST(SynonymMapTest, LongestTermWinsWhateverTheOrderAdded) {
  SynonymMap m;
  m.Add("peed myself", "wet myself");
  m.Add("peed", "pee");
  std::vector<Token> tokens = Words({"i", "peed", "myself"});
  m.Apply(&tokens, nullptr);
  EXPECT_EQ(JoinTokens(tokens), "i wet myself");
}

TEST(SynonymMapTest, MatchesByStem) {
  SynonymMap m;
  m.Add("stool", "poo");
  std::vector<Token> tokens = Words({"my", "stools", "are", "black"});
  std::vector<std::pair<std::string, std::string>> applied;
  m.Apply(&tokens, &applied);
  EXPECT_EQ(JoinTokens(tokens), "my poo are black");
  EXPECT_THAT(applied, ElementsAre(Pair("stools", "poo")));
}

TEST(SynonymMapTest, OneParticipleIsNotTheOther) {
  // "a confusing plan" is not a confused person, "peeing" not "peed" (a
  // group that means both lists both).
  SynonymMap m;
  m.Add("confused", "confused");
  m.Add("peed", "pee");
  std::vector<Token> tokens = Words({"the", "plan", "is", "confusing"});
  m.Apply(&tokens, nullptr);
  EXPECT_EQ(JoinTokens(tokens), "the plan is confusing");
  tokens = Words({"peeing", "hurts"});
  m.Apply(&tokens, nullptr);
  EXPECT_EQ(JoinTokens(tokens), "peeing hurts");
}

TEST(SynonymMapTest, MultiwordTermsDoNotSpanABreak) {
  SynonymMap m;
  m.Add("pass urine", "pee");
  std::vector<Token> tokens = Words({"cannot", "pass", ".", "urine"});
  m.Apply(&tokens, nullptr);
  EXPECT_EQ(JoinTokens(tokens), "cannot pass . urine");
  tokens = Words({"cannot", "pass", "urine"});
  m.Apply(&tokens, nullptr);
  EXPECT_EQ(JoinTokens(tokens), "cannot pee");
}

TEST(SynonymMapTest, CanonicalToItselfIsNotRecorded) {
  SynonymMap m;
  m.Add("pee", "pee");
  std::vector<Token> tokens = Words({"pee"});
  std::vector<std::pair<std::string, std::string>> applied;
  m.Apply(&tokens, &applied);
  EXPECT_EQ(JoinTokens(tokens), "pee");
  EXPECT_THAT(applied, IsEmpty());
}

TEST(SynonymMapTest, EmptyTermsAreIgnored) {
  SynonymMap m;
  m.Add("", "pee");
  m.Add("wee", "");
  EXPECT_EQ(m.size(), 0u);
}

// ---- Analyzer -------------------------------------------------------------------------

TEST(AnalyzerTest, AppliesSynonymsAndContractions) {
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("I can't pass urine");
  EXPECT_EQ(a.canonical, "i cannot pee");
  EXPECT_THAT(a.synonyms, ElementsAre(Pair("pass urine", "pee")));
}

// A bare synonym term matches its own inflections ("stools" of "stool", "waking" of "wake"),
// never a different word that happens to share its stem: Snowball stems "once" to "onc".
TEST(AnalyzerTest, ABareSynonymTermMatchesOnlyItsInflections) {
  const Analyzer an(LanguageSpec{},
                    {Group("oncologist", {"onc"}), Group("wake", {"rouse"}), Group("pee", {"wee"})},
                    {});
  EXPECT_EQ(an.Analyze("all at once").canonical, "all at once");
  EXPECT_EQ(an.Analyze("my onc said").canonical, "my oncologist said");
  EXPECT_EQ(an.Analyze("waking up").canonical, "wake up");
  EXPECT_EQ(an.Analyze("weeing a lot").canonical, "pee a lot");
}

TEST(AnalyzerTest, LongestSynonymFirst) {
  const Analyzer an = MakeAnalyzer();
  EXPECT_EQ(an.Analyze("I peed myself").canonical, "i wet myself");
  EXPECT_EQ(an.Analyze("I peed twice").canonical, "i pee twice");
  EXPECT_EQ(an.Analyze("I wet my pants").canonical, "i wet myself");
}

TEST(AnalyzerTest, SynonymsMatchByStem) {
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("My stools are black");
  EXPECT_EQ(a.canonical, "my poo are black");
  // The speller may first "repair" the plural to the vocabulary word "stool"; either way the
  // synonym is found by its stem.
  EXPECT_THAT(a.synonyms, ElementsAre(Pair(::testing::AnyOf("stools", "stool"), "poo")));
  EXPECT_EQ(an.Analyze("no bowel movements for days").canonical, "no poo for days");
}

TEST(AnalyzerTest, RecordsSpellingRepairs) {
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("Is morphene safe?");
  EXPECT_EQ(a.folded, "is morphene safe ?");  // before repair
  EXPECT_EQ(a.canonical, "is morphine safe ?");
  EXPECT_THAT(a.repairs, ElementsAre(Pair("morphene", "morphine")));
}

TEST(AnalyzerTest, RepairsBeforeSynonyms) {
  // "nurofin" is repaired to the synonym term "nurofen", which then maps to "ibuprofen".
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("can I take nurofin");
  EXPECT_THAT(a.repairs, ElementsAre(Pair("nurofin", "nurofen")));
  EXPECT_THAT(a.synonyms, ElementsAre(Pair("nurofen", "ibuprofen")));
  EXPECT_EQ(a.canonical, "can i take ibuprofen");
}

TEST(AnalyzerTest, DoesNotRepairStopWordsOrShortWords) {
  const Analyzer an = MakeAnalyzer();
  EXPECT_THAT(an.Analyze("my back with the pian").repairs, IsEmpty());
}

TEST(AnalyzerTest, TermsAreStemmedContentWordsWithoutStopWords) {
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("My legs are weak and I can't sleep, with exercises");
  EXPECT_THAT(a.terms, ElementsAre("leg", "weak", "cannot", "sleep", Stem("exercise")));
  for (const char* stop : {"my", "are", "and", "i", "with"}) {
    EXPECT_THAT(a.terms, Not(Contains(stop)));
  }
}

TEST(AnalyzerTest, TermsUseCanonicalWords) {
  const Analyzer an = MakeAnalyzer();
  EXPECT_THAT(an.Analyze("is advil ok").terms, ElementsAre("ibuprofen", "ok"));
}

TEST(AnalyzerTest, TokenOffsetsPointIntoCanonical) {
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("I peed myself, again");
  ASSERT_EQ(a.canonical, "i wet myself , again");
  ASSERT_EQ(a.tokens.size(), a.token_offset.size());
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    EXPECT_EQ(a.canonical.substr(a.token_offset[i], a.tokens[i].text.size()), a.tokens[i].text);
    EXPECT_EQ(a.TokenAt(a.token_offset[i]), i);
  }
  // A space belongs to the token after it.
  EXPECT_EQ(a.TokenAt(1), 1u);
  EXPECT_EQ(a.TokenAt(a.canonical.size() - 1), a.tokens.size() - 1);
}

TEST(AnalyzerTest, ContentTermsSkipSpellingRepair) {
  const Analyzer an = MakeAnalyzer();
  EXPECT_THAT(an.ContentTerms("Is morphene safe with oramorph?"),
              ElementsAre(Stem("morphene"), "safe", Stem("morphine")));
}

TEST(AnalyzerTest, TermsOfRangeHonoursSkip) {
  const Analyzer an = MakeAnalyzer();
  const Analysis a = an.Analyze("legs weak sleep");
  EXPECT_THAT(an.TermsOfRange(a.tokens, 0, a.tokens.size(), {}),
              ElementsAre("leg", "weak", "sleep"));
  EXPECT_THAT(an.TermsOfRange(a.tokens, 0, a.tokens.size(), {true, false, true}),
              ElementsAre("weak"));
  EXPECT_THAT(an.TermsOfRange(a.tokens, 1, 99, {}), ElementsAre("weak", "sleep"));
}

TEST(AnalyzerTest, StopwordsAreFoldedWords) {
  const Analyzer an = MakeAnalyzer();
  EXPECT_TRUE(an.IsStopword("the"));
  EXPECT_FALSE(an.IsStopword("pain"));
}

TEST(AnalyzerTest, EmptyAndSymbolOnlyMessages) {
  const Analyzer an = MakeAnalyzer();
  for (const char* text : {"", "   ", "\U0001F622\U0001F622", "?!"}) {
    const Analysis a = an.Analyze(text);
    EXPECT_EQ(a.canonical, "") << text;
    EXPECT_THAT(a.terms, IsEmpty()) << text;
  }
}

}  // namespace
}  // namespace backline::engine
