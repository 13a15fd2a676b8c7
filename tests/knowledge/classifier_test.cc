// knowledge/classifier.h: the text the model sees, loading classifier.json and the model, and
// the shipped model's behaviour on messages it was not trained on.
#include "knowledge/classifier.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/build_paths.h"

namespace backline::knowledge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Join(const std::vector<engine::Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += d.ToString() + "\n";
  return s;
}

// tools/train-classifier classifier_text() is held to the same cases (its --check runs them).
TEST(ClassifierTextTest, LowercasesDropsApostrophesAndFoldsTheRest) {
  EXPECT_EQ(ClassifierText("I CAN'T feel my legs!!"), "i cant feel my legs");
  EXPECT_EQ(ClassifierText("can\xE2\x80\x99t pee since 3am"), "cant pee since 3am");
  EXPECT_EQ(ClassifierText("  temp 38.4,\tchemo   last week\n"), "temp 38 4 chemo last week");
  EXPECT_EQ(ClassifierText("caf\xC3\xA9 na\xC3\xAFve"), "caf na ve");
  EXPECT_EQ(ClassifierText(""), "");
  EXPECT_EQ(ClassifierText("?!"), "");
}

class ClassifierFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("backline-classifier-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  bool Load(engine::ClassifierSpec* spec) { return LoadClassifier(dir_.string(), spec, &diags_); }

  fs::path dir_;
  std::vector<engine::Diagnostic> diags_;
};

TEST_F(ClassifierFileTest, NoClassifierJsonMeansNoClassifier) {
  engine::ClassifierSpec spec;
  EXPECT_TRUE(Load(&spec));
  EXPECT_EQ(spec.model, nullptr);
  EXPECT_TRUE(diags_.empty());
}

TEST_F(ClassifierFileTest, AMissingModelIsAnErrorAtTheModelKey) {
  Write("classifier.json", "{\n  \"model\": \"gone.ftz\"\n}\n");
  engine::ClassifierSpec spec;
  EXPECT_FALSE(Load(&spec));
  EXPECT_THAT(Join(diags_), HasSubstr("classifier.json:2:"));
  EXPECT_THAT(Join(diags_), HasSubstr("not found"));
}

TEST_F(ClassifierFileTest, AFileThatIsNotAModelIsAnErrorNotACrash) {
  Write("classifier.json", "{\"model\": \"junk.ftz\"}");
  Write("junk.ftz", std::string(4096, '\x7f'));
  engine::ClassifierSpec spec;
  EXPECT_FALSE(Load(&spec));
  EXPECT_THAT(Join(diags_), HasSubstr("not a fastText model"));
}

TEST_F(ClassifierFileTest, ThresholdsAreCheckedAndAPathOutsideTheFolderRefused) {
  Write("classifier.json", "{\"model\": \"m.ftz\", \"screen_threshold\": 1.5}");
  engine::ClassifierSpec spec;
  EXPECT_FALSE(Load(&spec));
  EXPECT_THAT(Join(diags_), HasSubstr("\"screen_threshold\" must be a number"));

  diags_.clear();
  Write("classifier.json",
        "{\"model\": \"m.ftz\", \"screen_threshold\": 0.6, \"escalate_threshold\": 0.5}");
  EXPECT_FALSE(Load(&spec));
  EXPECT_THAT(Join(diags_), HasSubstr("must not exceed"));

  diags_.clear();
  Write("classifier.json", "{\"model\": \"../../etc/passwd\"}");
  engine::ClassifierSpec fresh;
  EXPECT_FALSE(Load(&fresh));
  EXPECT_THAT(Join(diags_), HasSubstr("inside the knowledge folder"));
}

// The shipped model, on messages written for this test (in no training set): a clear report
// scores far above a plain question. Not exact figures: retraining moves them.
TEST(ShippedClassifierTest, ReadsAClearReportAboveAPlainQuestion) {
  std::vector<engine::Diagnostic> diags;
  engine::ClassifierSpec spec;
  ASSERT_TRUE(LoadClassifier(std::string(build::kSourceDir) + "/knowledge", &spec, &diags))
      << Join(diags);
  ASSERT_NE(spec.model, nullptr);
  EXPECT_THAT(spec.model->version(), HasSubstr("red_flags.ftz"));
  const engine::ClassifierScores report =
      spec.model->Score("since this morning my husband cant feel his legs and hes wet himself");
  const engine::ClassifierScores question =
      spec.model->Score("is it ok to use a heat pad on my lower back in the evening");
  EXPECT_GE(report.flag(), spec.screen_threshold);
  EXPECT_LT(question.flag(), spec.screen_threshold);
  EXPECT_GT(report.emergency, question.emergency);
  EXPECT_FALSE(report.emergency_kind.empty());
}

}  // namespace
}  // namespace backline::knowledge
