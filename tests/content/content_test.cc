#include "content/content.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/build_paths.h"

namespace backline::content {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;

std::string KnowledgeFixture(const std::string& rel) {
  return std::string(build::kSourceDir) + "/tests/knowledge/fixtures/" + rel;
}

std::string Join(const std::vector<engine::Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += "  " + d.ToString() + "\n";
  return s;
}

// LoadContent(DefaultContentPaths()) on the shipped content is exercised by every shipped-content
// test in tests/engine/ and by RunCheckTest.ShippedContentPasses.
TEST(ContentTest, DefaultPathsFindTheShippedFolders) {
  // Tests run from the build tree, so this is $BACKLINE_HOME or the source tree.
  const ContentPaths p = DefaultContentPaths();
  EXPECT_TRUE(fs::is_directory(p.knowledge)) << p.knowledge;
  EXPECT_TRUE(fs::is_directory(p.dialogs)) << p.dialogs;
  EXPECT_TRUE(fs::exists(fs::path(p.knowledge) / "red_flags.json")) << p.knowledge;
  EXPECT_TRUE(fs::exists(fs::path(p.dialogs) / "flow.json")) << p.dialogs;
}

TEST(ContentTest, LoadsTheMinimalFixture) {
  std::vector<engine::Diagnostic> diags;
  const auto loaded = LoadContent(
      ContentPaths{KnowledgeFixture("minimal/knowledge"), KnowledgeFixture("minimal/dialogs")},
      &diags);
  ASSERT_TRUE(loaded.ok()) << Join(diags);
  const auto& content = loaded.value();
  EXPECT_TRUE(diags.empty()) << Join(diags);
  ASSERT_EQ(content->clinics.size(), 2u);
  EXPECT_EQ(content->ClinicOrDefault("demo").name, "Demo Clinic");
  EXPECT_EQ(content->ClinicOrDefault("default").name, "Test Clinic");
  EXPECT_EQ(content->ClinicOrDefault("no-such-clinic").id, "default");
  EXPECT_EQ(content->ClinicOrDefault("").id, "default");
  const auto r = content->engine->Turn(engine::SessionState{}, "my legs are weak",
                                       content->ClinicOrDefault("default"));
  EXPECT_EQ(r.reply.urgency, engine::Urgency::kEmergency);
}

TEST(ContentTest, BrokenContentIsNeverReturned) {
  std::vector<engine::Diagnostic> diags;
  const auto broken = LoadContent(
      ContentPaths{KnowledgeFixture("broken-json/knowledge"), KnowledgeFixture("minimal/dialogs")},
      &diags);
  ASSERT_FALSE(broken.ok());
  // The status says what the diagnostics say, ready to print.
  EXPECT_EQ(broken.status().code(), engine::Status::Code::kDataError);
  EXPECT_THAT(broken.status().message(),
              HasSubstr("the content has errors (run `backline check`):\n  "));
  EXPECT_THAT(broken.status().message(), HasSubstr("faq/causes.json:11:45"));
  ASSERT_FALSE(diags.empty());
  EXPECT_THAT(diags[0].where.ToString(), EndsWith("faq/causes.json:11:45"));
  diags.clear();
  EXPECT_FALSE(LoadContent(ContentPaths{KnowledgeFixture("bad-pattern/knowledge"),
                                        KnowledgeFixture("minimal/dialogs")},
                           &diags)
                   .ok());
  ASSERT_FALSE(diags.empty());
  EXPECT_THAT(Join(diags), HasSubstr("red_flags.json:10:9"));
  diags.clear();
  EXPECT_FALSE(LoadContent(ContentPaths{"/nonexistent/k", "/nonexistent/d"}, &diags).ok());
  EXPECT_FALSE(diags.empty());
}

TEST(ContentTest, ClinicOrDefaultWithoutClinicsIsTheBuiltIn) {
  const Content c;
  EXPECT_EQ(c.ClinicOrDefault("x").id, "default");
  EXPECT_EQ(c.ClinicOrDefault("x").emergency_number, "911");
}

}  // namespace
}  // namespace backline::content
