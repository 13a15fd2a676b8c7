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

}  // namespace
}  // namespace backline::engine
