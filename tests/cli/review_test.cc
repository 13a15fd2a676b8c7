// backline export review: the clinical review sheet.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
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

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct ExportRun {
  int code;
  std::string out;
  std::string err;
};

ExportRun Export(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  ExportRun r;
  r.code = RunExport(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string Fixture(const std::string& rel) {
  return std::string(build::kSourceDir) + "/tests/knowledge/fixtures/" + rel;
}

fs::path TempDir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("backline-review-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(ExportReviewTest, ShippedContentHasEveryEntryKindAndClinic) {
  const ExportRun r = Export({"review", "--out", "-", "--today", "2026-11-26"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string& html = r.out;
  std::vector<engine::Diagnostic> diags;
  auto loaded = content::LoadContent(content::DefaultContentPaths(), &diags);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const auto& content = loaded.value();
  const auto& spec = content->engine->content();
  ASSERT_GT(spec.entries.size(), 50u);
  for (const auto& e : spec.entries) {
    EXPECT_THAT(html, HasSubstr("id=\"entry-" + e.id + "\"")) << e.id;
    EXPECT_THAT(html, HasSubstr("reviewed on " + e.reviewed));
  }
  ASSERT_EQ(spec.red_flag_kinds.size(), 14u);
  for (const auto& k : spec.red_flag_kinds) {
    EXPECT_THAT(html, HasSubstr("id=\"kind-" + k.id + "\"")) << k.id;
  }
  // Every rule's sample phrasings are on the sheet.
  for (const auto& rule : spec.red_flag_rules) {
    ASSERT_FALSE(rule.examples.empty()) << rule.id;
  }
  // Every concept is on the sheet with its words, and each rule links the concepts it combines:
  // a word added to a list changes what escalates, so clinicians sign those off too.
  ASSERT_FALSE(spec.concepts.empty());
  for (const auto& c : spec.concepts) {
    EXPECT_THAT(html, HasSubstr("id=\"concept-" + c.id + "\"")) << c.id;
    EXPECT_THAT(html, HasSubstr(c.words.front())) << c.id;
  }
  EXPECT_THAT(html, HasSubstr("<a href=\"#concept-lower-limb\">lower-limb</a> + <a "
                              "href=\"#concept-loss-of-power\">loss-of-power</a>"));
  // The escalation text rendered for the demo clinic (its phone numbers) is there.
  EXPECT_THAT(html, HasSubstr("Riverside Cancer Centre"));
  EXPECT_THAT(html, HasSubstr("555-0199"));
  EXPECT_THAT(html, HasSubstr("Content version"));
  EXPECT_THAT(html, HasSubstr("Signature"));
}

TEST(ExportReviewTest, IsSelfContained) {
  const ExportRun r = Export({"review", "--out", "-", "--today", "2026-11-26"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string& html = r.out;
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<iframe")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  // The only URLs are links to the sources (and in-page anchors).
  std::set<std::string> sources;
  std::vector<engine::Diagnostic> diags;
  auto loaded = content::LoadContent(content::DefaultContentPaths(), &diags);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const auto& content = loaded.value();
  for (const auto& e : content->engine->content().entries)
    for (const auto& s : e.sources) sources.insert(s.url);
  const std::regex href("href=\"([^\"]*)\"");
  size_t links = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator();
       ++it) {
    const std::string target = (*it)[1];
    if (target.rfind("#", 0) == 0) continue;
    ++links;
    // Escaped in the attribute: &amp; stands for &.
    std::string url = std::regex_replace(target, std::regex("&amp;"), "&");
    EXPECT_TRUE(sources.count(url)) << "unexpected link " << target;
  }
  EXPECT_GT(links, 50u);
  const std::regex any_url("https?://[^\"<\\s]*");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), any_url);
       it != std::sregex_iterator(); ++it) {
    // Every absolute URL in the page sits in an href (it is preceded by href=").
    const size_t pos = static_cast<size_t>(it->position());
    ASSERT_GE(pos, 6u);
    EXPECT_EQ(html.substr(pos - 6, 6), "href=\"") << it->str();
  }
}

TEST(ExportReviewTest, EscapesContent) {
  const fs::path kb = TempDir("escape");
  fs::copy(Fixture("minimal/knowledge"), kb, fs::copy_options::recursive);
  {
    // An answer and a source title with markup characters.
    std::ifstream in(kb / "faq" / "causes.json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const std::string from = "Cancer can press on bones, nerves or the spinal cord.";
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(),
                 "Cancer can press on <b>bones</b> & nerves \\\"x\\\".");
    const std::string title = "NCI: Cancer pain";
    text.replace(text.find(title), title.size(), "NCI <script>alert(1)</script>");
    std::ofstream out(kb / "faq" / "causes.json", std::ios::trunc);
    out << text;
  }
  const fs::path out_file = kb / "review.html";
  const ExportRun r = Export({"review", "--kb", kb.string(), "--dialogs",
                              Fixture("minimal/dialogs"), "--out", out_file.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote " + out_file.string()));
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string html = ss.str();
  fs::remove_all(kb);
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;bones&lt;/b&gt; &amp; nerves &quot;x&quot;."));
  EXPECT_THAT(html, HasSubstr("NCI &lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>bones")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("id=\"entry-causes-why-back-pain\""));
  EXPECT_THAT(html, HasSubstr("id=\"entry-causes-weak-bones\""));
}

TEST(ExportReviewTest, BadUsageAndBrokenContent) {
  EXPECT_EQ(Export({}).code, 2);
  EXPECT_EQ(Export({"sheet"}).code, 2);
  EXPECT_EQ(Export({"review", "--out"}).code, 2);
  EXPECT_EQ(Export({"review", "--today", "tomorrow"}).code, 2);
  const ExportRun broken = Export({"review", "--out", "-", "--kb", Fixture("broken-json/knowledge"),
                                   "--dialogs", Fixture("minimal/dialogs")});
  EXPECT_EQ(broken.code, 2);
  EXPECT_THAT(broken.err, HasSubstr("invalid JSON"));
  EXPECT_TRUE(broken.out.empty());
}

}  // namespace
}  // namespace backline::cli
