#include "engine/pattern.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace backline::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::unique_ptr<Pattern> MustCompile(const std::string& source, bool raw = false) {
  auto p = Pattern::Compile(source, raw);
  EXPECT_TRUE(p.ok()) << source << ": " << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

TEST(PatternTest, MatchesWholeWordsOnly) {
  auto p = MustCompile("numb");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Matches("my legs are numb"));
  EXPECT_TRUE(p->Matches("numb , still"));
  EXPECT_FALSE(p->Matches("what number"));
  EXPECT_FALSE(p->Matches("benumbed"));
  EXPECT_EQ(p->source(), "numb");
}

TEST(PatternTest, RawPatternsAreNotWrapped) {
  auto p = MustCompile("numb", /*raw=*/true);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Matches("what number"));
}

TEST(PatternTest, AlternationStaysInsideTheWordBoundaries) {
  auto p = MustCompile("leg|arm");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Matches("my arm"));
  EXPECT_FALSE(p->Matches("legend"));
  EXPECT_FALSE(p->Matches("charm"));
}

TEST(PatternTest, IsCaseInsensitive) {
  auto p = MustCompile("cannot walk");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Matches("I CANNOT Walk"));
}

TEST(PatternTest, FindAllReturnsEveryMatchLeftToRight) {
  auto p = MustCompile("legs? (?:\\S+ ){0,2}weak");
  ASSERT_NE(p, nullptr);
  const std::string text = "leg weak and legs are so weak";
  EXPECT_THAT(p->FindAll(text), ElementsAre(Pair(0u, 8u), Pair(13u, 29u)));
  EXPECT_TRUE(p->FindAll("nothing here").empty());
  EXPECT_TRUE(p->FindAll("").empty());
}

TEST(PatternTest, FindAllTerminatesOnEmptyMatches) {
  auto p = MustCompile("x*", /*raw=*/true);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->FindAll("ab").size(), 3u);  // before a, before b, at the end
}

TEST(PatternTest, BadPatternReportsRe2Error) {
  auto p = Pattern::Compile("legs (?:weak");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("missing )"));
  EXPECT_FALSE(Pattern::Compile("weak[").ok());
}

// A curator's pattern is compiled on its own before it is wrapped in word boundaries, so a
// fragment that only the wrapper would make valid ("numb)|(?:x") is rejected, and re2's error
// describes what the curator wrote ("weak[": missing ]).
TEST(PatternTest, SourceThatIsInvalidOnItsOwnIsRejected) {
  auto p = Pattern::Compile("numb)|(?:x");
  EXPECT_FALSE(p.ok()) << "an unbalanced pattern compiled because of the \\b(?:...)\\b wrapper";
}

TEST(PatternTest, ErrorDescribesTheCuratorsPatternNotTheWrapper) {
  auto q = Pattern::Compile("weak[");
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(q.status().message(), HasSubstr("missing ]"));
  EXPECT_THAT(q.status().message(), Not(HasSubstr("\\b")));
}

TEST(PatternTest, CompileAnyMatchesAnyAlternative) {
  auto p = Pattern::CompileAny({"cannot pee", "wet myself"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p.value()->Matches("i wet myself"));
  EXPECT_TRUE(p.value()->Matches("i cannot pee"));
  EXPECT_FALSE(p.value()->Matches("i can pee"));
}

TEST(PatternTest, CompileAnyRejectsABadAlternativeAndAnEmptyList) {
  EXPECT_FALSE(Pattern::CompileAny({"fine", "bad(", "also fine"}).ok());
  EXPECT_FALSE(Pattern::CompileAny({}).ok());
}

// A PatternSet says, in one pass, what each of its patterns' Matches says, as ascending indices
// in the order the patterns were given (RE2::Set sorts its regexes by text internally).
TEST(PatternSetTest, MatchesWhatEachPatternMatchesInGivenOrder) {
  std::vector<std::unique_ptr<Pattern>> owned;
  owned.push_back(MustCompile("numb"));
  owned.push_back(MustCompile("leg|arm"));
  owned.push_back(MustCompile("^hi"));
  owned.push_back(MustCompile("pain$"));
  owned.push_back(MustCompile("cannot walk"));
  owned.push_back(MustCompile("numb", /*raw=*/true));
  owned.push_back(MustCompile("leg|arm"));  // the same regex twice: both indices
  owned.push_back(MustCompile("a"));        // sorts before all the others
  std::vector<const Pattern*> patterns;
  for (const auto& p : owned) {
    ASSERT_NE(p, nullptr);
    patterns.push_back(p.get());
  }
  auto set = PatternSet::Compile(patterns);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const char* const texts[] = {
      "my legs are numb",   "numb arm",        "hi, my arm is numb", "oh hi", "what number",
      "my back PAIN",       "pain in my back", "I CANNOT Walk",      "",      "benumbed legend",
      "a leg and a number", "hi a pain"};
  for (const char* text : texts) {
    std::vector<int> want;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (patterns[i]->Matches(text)) want.push_back(static_cast<int>(i));
    }
    std::vector<int> got = {99};  // replaced, not appended to
    EXPECT_TRUE(set.value()->Match(text, &got)) << text;
    EXPECT_EQ(got, want) << text;
  }
  std::vector<int> got;
  ASSERT_TRUE(set.value()->Match("numb arm", &got));
  EXPECT_THAT(got, ElementsAre(0, 1, 5, 6));
}

TEST(PatternSetTest, AnEmptySetMatchesNothing) {
  auto set = PatternSet::Compile({});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  std::vector<int> got;
  EXPECT_TRUE(set.value()->Match("anything", &got));
  EXPECT_TRUE(got.empty());
}

// An RE2::Set runs only re2's DFA, where a Pattern can fall back to the NFA, so a pattern can
// compile on its own yet not go into a set: "\pL{0,150}" is about 180,000 instructions (every
// Unicode letter, 150 times), too many for the DFA in the memory a Pattern has. The caller is
// told, and matches one by one instead.
TEST(PatternSetTest, APatternTooBigForASetIsAnError) {
  auto big = MustCompile("\\pL{0,150}pain");
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(big->Matches("backpain"));
  auto set = PatternSet::Compile({big.get()});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("memory limit"));
}

}  // namespace
}  // namespace backline::engine
