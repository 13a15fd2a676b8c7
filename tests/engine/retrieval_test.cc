#include "engine/retrieval.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace backline::engine {
namespace {

Bm25Index::Document Doc(std::vector<std::string> terms, std::vector<std::string> keywords = {},
                        std::vector<std::string> answer = {}) {
  return Bm25Index::Document{std::move(terms), std::move(keywords), std::move(answer)};
}

// A tiny hand-made corpus: five entries, stemmed terms as the analyser would give them.
std::vector<Bm25Index::Document> Corpus() {
  return {
      /*0*/ Doc({"opioid", "addict", "hook", "morphine", "pain"}, {"addict", "addiction"}),
      /*1*/ Doc({"sleep", "pillow", "mattress", "night"}, {}),
      /*2*/ Doc({"pain", "back", "exercise", "safe", "walk"}, {}),
      /*3*/ Doc({"pain", "back", "massage", "safe", "chemo"}, {"massage"}),
      /*4*/ Doc({"pain", "back", "sleep", "position", "night"}, {}),
  };
}

TEST(Bm25IndexTest, AnExactParaphraseRanksFirstWithFullCoverage) {
  const Bm25Index index(Corpus());
  const auto c = index.Rank({"pain", "back", "massage", "safe", "chemo"}, 5);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].entry, 3u);
  EXPECT_DOUBLE_EQ(c[0].coverage, 1.0);
  for (size_t i = 1; i < c.size(); ++i) {
    EXPECT_GT(c[0].score, c[i].score);
    EXPECT_LT(c[i].coverage, 1.0);
  }
}

TEST(Bm25IndexTest, ADistinctiveWordBeatsACommonOne) {
  const Bm25Index index(Corpus());
  // "back" is in three entries, "hook" only in entry 0 (which lacks "back").
  EXPECT_GT(index.Idf("hook"), index.Idf("back"));
  const auto c = index.Rank({"back", "hook"}, 5);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].entry, 0u);
  EXPECT_GT(c[0].coverage, c[1].coverage);
}

TEST(Bm25IndexTest, KeywordsWeighMoreThanParaphraseWords) {
  // Same length, same term once, but as a keyword in entry 1.
  const Bm25Index index({Doc({"massage", "oil", "relax"}, {}), Doc({"oil", "relax"}, {"massage"}),
                         Doc({"unrelated", "words", "here"}, {})});
  const auto c = index.Rank({"massage"}, 5);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].entry, 1u);
  EXPECT_GT(c[0].score, c[1].score);
}

TEST(Bm25IndexTest, CoverageIsBetweenZeroAndOne) {
  const Bm25Index index(Corpus());
  const std::vector<std::vector<std::string>> queries = {
      {"pain"}, {"pain", "back", "night"}, {"sleep", "zebra"}, {"addict", "walk", "chemo", "x"}};
  for (const auto& q : queries) {
    for (const Candidate& c : index.Rank(q, 10)) {
      EXPECT_GT(c.coverage, 0.0);
      EXPECT_LE(c.coverage, 1.0);
      EXPECT_GT(c.evidence, 0.0);
      EXPECT_GT(c.score, 0.0);
    }
  }
}

TEST(Bm25IndexTest, CoverageIsTheShareOfTheQuestionsIdf) {
  const Bm25Index index(Corpus());
  const auto c = index.Rank({"pillow", "chemo"}, 5);
  ASSERT_EQ(c.size(), 2u);
  const double total = index.Idf("pillow") + index.Idf("chemo");
  for (const Candidate& cand : c) {
    const double matched = cand.entry == 1 ? index.Idf("pillow") : index.Idf("chemo");
    EXPECT_NEAR(cand.coverage, matched / total, 1e-9);
    EXPECT_NEAR(cand.evidence, matched, 1e-9);
  }
}

TEST(Bm25IndexTest, UnknownTermsLowerCoverage) {
  const Bm25Index index(Corpus());
  EXPECT_FALSE(index.Contains("zebra"));
  EXPECT_TRUE(index.Contains("massage"));
  // Words the content never uses weigh the most, so they pull coverage down hard.
  EXPECT_GE(index.Idf("zebra"), index.Idf("massage"));
  const auto known = index.Rank({"massage"}, 5);
  const auto mixed = index.Rank({"massage", "zebra"}, 5);
  ASSERT_FALSE(known.empty());
  ASSERT_FALSE(mixed.empty());
  EXPECT_EQ(mixed[0].entry, known[0].entry);
  EXPECT_DOUBLE_EQ(known[0].coverage, 1.0);
  EXPECT_LT(mixed[0].coverage, 0.5);
  EXPECT_DOUBLE_EQ(mixed[0].score, known[0].score);  // the score ignores unknown words
}

TEST(Bm25IndexTest, NoMatchReturnsNothing) {
  const Bm25Index index(Corpus());
  EXPECT_TRUE(index.Rank({"zebra", "weather"}, 5).empty());
  EXPECT_TRUE(index.Rank({}, 5).empty());
}

TEST(Bm25IndexTest, EmptyIndexReturnsNothing) {
  const Bm25Index index({});
  EXPECT_TRUE(index.Rank({"pain"}, 5).empty());
  EXPECT_FALSE(index.Contains("pain"));
}

TEST(Bm25IndexTest, RespectsTheLimit) {
  const Bm25Index index(Corpus());
  EXPECT_EQ(index.Rank({"pain"}, 10).size(), 4u);
  EXPECT_EQ(index.Rank({"pain"}, 2).size(), 2u);
  EXPECT_TRUE(index.Rank({"pain"}, 0).empty());
}

TEST(Bm25IndexTest, RepeatedQueryTermsCountOnce) {
  const Bm25Index index(Corpus());
  const auto once = index.Rank({"massage", "pain"}, 5);
  const auto twice = index.Rank({"massage", "pain", "massage", "pain"}, 5);
  ASSERT_EQ(once.size(), twice.size());
  for (size_t i = 0; i < once.size(); ++i) {
    EXPECT_EQ(once[i].entry, twice[i].entry);
    EXPECT_DOUBLE_EQ(once[i].score, twice[i].score);
    EXPECT_DOUBLE_EQ(once[i].coverage, twice[i].coverage);
  }
}

TEST(Bm25IndexTest, ResultsAreSortedBestFirstAndTiesByEntry) {
  // Entries 0 and 2 are identical: same score, so the lower index comes first.
  const Bm25Index index({Doc({"heat", "pack"}, {}), Doc({"ice"}, {}), Doc({"heat", "pack"}, {})});
  const auto c = index.Rank({"heat", "pack"}, 5);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].entry, 0u);
  EXPECT_EQ(c[1].entry, 2u);
  EXPECT_DOUBLE_EQ(c[0].score, c[1].score);
  const auto all = Bm25Index(Corpus()).Rank({"pain", "back", "sleep", "night"}, 5);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1].score, all[i].score);
}

TEST(Bm25IndexTest, ShorterEntriesWinForTheSameMatch) {
  // BM25 length normalisation: one match in a short entry beats one in a long entry.
  const Bm25Index index(
      {Doc({"tens", "machine", "a", "b", "c", "d", "e", "f"}, {}), Doc({"tens", "machine"}, {})});
  const auto c = index.Rank({"tens"}, 5);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].entry, 1u);
}

TEST(Bm25IndexTest, AnswerWordsAreWeakerEvidenceThanParaphrases) {
  // "platelets" is in entry 0's paraphrases and only in entry 1's answer.
  const Bm25Index index({Doc({"nsaid", "platelets", "chemo"}, {}, {}),
                         Doc({"nsaid", "kidney"}, {}, {"platelets", "bleed"}),
                         Doc({"sleep"}, {}, {})});
  EXPECT_TRUE(index.Contains("platelets"));
  EXPECT_TRUE(index.Contains("bleed"));  // answer words are indexed
  const auto c = index.Rank({"platelets"}, 5);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].entry, 0u);
  EXPECT_GT(c[0].score, c[1].score);
  EXPECT_DOUBLE_EQ(c[0].coverage, 1.0);
  // A term found only in an answer counts kAnswerCoverage towards coverage.
  EXPECT_DOUBLE_EQ(c[1].coverage, Bm25Index::kAnswerCoverage);
  EXPECT_LT(c[1].evidence, c[0].evidence);
}

TEST(Bm25IndexTest, ScoreAllReturnsEveryMatchInEntryOrder) {
  const Bm25Index index(Corpus());
  const auto all = index.ScoreAll({"pain", "night"});
  ASSERT_EQ(all.size(), 5u);  // pain: 0, 2, 3, 4; night: 1, 4
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].entry, i);
  EXPECT_EQ(index.size(), 5u);
}

// The Retriever seam: Rank is written once against ScoreAll, so a fake needs only ScoreAll.
class FakeRetriever : public Retriever {
 public:
  explicit FakeRetriever(std::vector<Candidate> scored) : scored_(std::move(scored)) {}
  std::vector<Candidate> ScoreAll(const std::vector<std::string>&) const override {
    return scored_;
  }

 private:
  std::vector<Candidate> scored_;
};

TEST(RetrieverTest, RankSortsBestFirstTiesByEntryAndLimits) {
  const FakeRetriever fake({Candidate{0, 1.0, 0.2, 1.0}, Candidate{1, 3.0, 0.9, 3.0},
                            Candidate{2, 2.0, 0.5, 2.0}, Candidate{3, 3.0, 0.9, 3.0}});
  const Retriever& r = fake;
  const auto c = r.Rank({"anything"}, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].entry, 1u);
  EXPECT_EQ(c[1].entry, 3u);
  EXPECT_EQ(c[2].entry, 2u);
  EXPECT_TRUE(r.Rank({"anything"}, 0).empty());
  EXPECT_TRUE(FakeRetriever({}).Rank({"x"}, 5).empty());
}

TEST(RetrieverTest, Bm25IndexIsARetriever) {
  const Bm25Index real(Corpus());
  const Retriever& r = real;
  ASSERT_FALSE(r.Rank({"massage"}, 5).empty());
  EXPECT_EQ(r.Rank({"massage"}, 5).front().entry, 3u);
}

}  // namespace
}  // namespace backline::engine
