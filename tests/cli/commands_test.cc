#include "cli/commands.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/build_paths.h"

namespace backline::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

const std::string kRoot = build::kSourceDir;

std::string KnowledgeFixture(const std::string& rel) {
  return kRoot + "/tests/knowledge/fixtures/" + rel;
}

struct AskRun {
  int code;
  std::vector<std::string> lines;
  std::string err;
};

AskRun Ask(const std::string& input, const std::vector<std::string>& args = {}) {
  std::istringstream in(input);
  std::ostringstream out, err;
  AskRun r;
  r.code = RunAsk(args, in, out, err);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) r.lines.push_back(line);
  r.err = err.str();
  return r;
}

json Parse(const std::string& line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
  return j;
}

// ---- backline ask --------------------------------------------------------------------------

// One content load for the whole protocol: loading the shipped content costs most of a
// second in a Debug build.
TEST(RunAskTest, OneReplyLinePerInputLineInOrder) {
  const std::string input =
      "{\"id\": \"a\", \"text\": \"hello\"}\n"                    // 0
      "{\"id\": 7, \"text\": \"what's the weather tomorrow\"}\n"  // 1
      "{not json\n"                                               // 2
      "{\"id\": \"m\"}\n"                                         // 3
      "{\"id\": \"n\", \"text\": 42}\n"                           // 4
      "[1, 2]\n"                                                  // 5
      "{\"id\": \"r\", \"text\": \"my legs keep giving way\"}\n"  // 6
      "{\"text\": \"can I take ibuprofen with chemo?\"}\n"        // 7
      "\n"                                                        // 8
      "{\"id\": \"crlf\", \"text\": \"thanks\"}\r\n"              // 9
      "{\"id\": {\"nested\": true}, \"text\": \"my back pain is getting worse every "
      "week\"}\n"                                                           // 10
      "{\"id\": \"demo\", \"text\": \"I want to talk to a real person\"}";  // 11, no \n
  const AskRun r = Ask(input, {"--clinic", "demo"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 12u) << "one output line per input line\n" << r.err;
  std::vector<json> out;
  for (const auto& l : r.lines) out.push_back(Parse(l));

  // Ids are echoed as they came: string, number, object.
  EXPECT_EQ(out[0]["id"], "a");
  EXPECT_EQ(out[1]["id"], 7);
  EXPECT_TRUE(out[1]["id"].is_number());
  EXPECT_EQ(out[6]["id"], "r");
  EXPECT_FALSE(out[7].contains("id"));
  EXPECT_EQ(out[10]["id"], json({{"nested", true}}));

  // Answers, in order.
  EXPECT_EQ(out[0]["topic"], "greeting");
  EXPECT_EQ(out[1]["topic"], "out-of-scope");
  EXPECT_EQ(out[6]["topic"], "red-flag");
  EXPECT_EQ(out[6]["urgency"], "emergency");
  EXPECT_EQ(out[6]["red_flag"], "E1");
  EXPECT_EQ(out[7]["topic"], "nsaids");
  EXPECT_EQ(out[9]["id"], "crlf");
  EXPECT_EQ(out[9]["topic"], "thanks");
  EXPECT_EQ(out[10]["topic"], "red-flag");
  EXPECT_EQ(out[10]["urgency"], "urgent");
  EXPECT_EQ(out[11]["topic"], "human");
  EXPECT_THAT(out[11]["text"].get<std::string>(), HasSubstr("555-0142"));  // --clinic demo

  // Every answer has the contract's fields; errors have only "error" (and the id if known).
  for (size_t i : {0u, 1u, 6u, 7u, 9u, 10u, 11u}) {
    SCOPED_TRACE("line " + std::to_string(i));
    ASSERT_TRUE(out[i].is_object());
    EXPECT_FALSE(out[i].contains("error")) << r.lines[i];
    ASSERT_TRUE(out[i].contains("topic") && out[i]["topic"].is_string());
    ASSERT_TRUE(out[i].contains("urgency") && out[i]["urgency"].is_string());
    ASSERT_TRUE(out[i].contains("text") && out[i]["text"].is_string());
    EXPECT_FALSE(out[i]["text"].get<std::string>().empty());
    const std::string urgency = out[i]["urgency"];
    EXPECT_TRUE(urgency == "none" || urgency == "urgent" || urgency == "emergency");
    EXPECT_EQ(out[i]["topic"] == "red-flag", urgency != "none");
  }
  for (size_t i : {2u, 3u, 4u, 5u, 8u}) {
    SCOPED_TRACE("line " + std::to_string(i));
    ASSERT_TRUE(out[i].contains("error")) << r.lines[i];
    EXPECT_TRUE(out[i]["error"].is_string());
    EXPECT_FALSE(out[i].contains("topic"));
  }
  EXPECT_THAT(out[2]["error"].get<std::string>(), HasSubstr("invalid JSON"));
  EXPECT_EQ(out[3]["id"], "m");
  EXPECT_THAT(out[3]["error"].get<std::string>(), HasSubstr("text"));
  EXPECT_EQ(out[4]["id"], "n");
  EXPECT_THAT(out[4]["error"].get<std::string>(), HasSubstr("string"));
}

TEST(RunAskTest, BadOptionsExitTwo) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--nope"}, {"--kb"}, {"--strict"}}) {
    const AskRun r = Ask("{\"text\": \"hello\"}\n", args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_TRUE(r.lines.empty()) << args[0];
    EXPECT_THAT(r.err, HasSubstr(args[0])) << args[0];
  }
}

TEST(RunAskTest, ContentThatFailsToLoadExitsTwoWithTheErrors) {
  const AskRun r =
      Ask("{\"text\": \"hello\"}\n", {"--kb", KnowledgeFixture("broken-json/knowledge"),
                                      "--dialogs", KnowledgeFixture("minimal/dialogs")});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.lines.empty());
  EXPECT_THAT(r.err, HasSubstr("faq/causes.json:11:45"));
}

TEST(RunAskTest, ExplainOnTheMinimalContent) {
  const AskRun r = Ask("{\"id\": 1, \"text\": \"my legs are weak\"}\n",
                       {"--kb", KnowledgeFixture("minimal/knowledge"), "--dialogs",
                        KnowledgeFixture("minimal/dialogs"), "--explain"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 1u);
  const json j = Parse(r.lines[0]);
  EXPECT_EQ(j["urgency"], "emergency");
  ASSERT_TRUE(j.contains("explain"));
  EXPECT_EQ(j["explain"]["canonical"], "my legs are weak");
  ASSERT_FALSE(j["explain"]["red_flags"].empty());
  EXPECT_EQ(j["explain"]["red_flags"][0]["kind"], "E1");
}

// ---- backline check ------------------------------------------------------------------------

struct CheckRun {
  int code;
  std::string out;
  std::string err;
};

CheckRun Check(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CheckRun r;
  r.code = RunCheck(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// `backline serve --help` prints the serve usage and starts nothing (it used to say "unknown
// option '--help'" and exit 2).
TEST(RunServeTest, HelpPrintsTheServeUsage) {
  for (const char* flag : {"--help", "-h"}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunServe({flag}, out, err), 0) << flag << ": " << err.str();
    EXPECT_THAT(out.str(), ::testing::HasSubstr("usage: backline serve"));
    EXPECT_THAT(out.str(), ::testing::HasSubstr("--connections-per-address"));
    EXPECT_EQ(err.str(), "");
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunServe({"--port", "1", "--help"}, out, err), 0);
  EXPECT_THAT(out.str(), ::testing::HasSubstr("usage: backline serve"));
}

TEST(RunCheckTest, ShippedContentPasses) {
  const CheckRun r = Check({"--today", "2026-11-26"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 error(s), "));
  // The loaders and the compiler find nothing to warn about; the only warnings are the
  // content lint's, for the content owner (README, "Checking content").
  std::istringstream lines(r.out);
  std::string line;
  const std::regex lint(
      ".*: warning: (reading-level|answer-length|sources|review-age|"
      "quick-reply|paraphrase-confusion|paraphrase-escalates|review-owner|concept-unused): .*");
  // The one loader warning: the shipped "default" clinic is a template whose phone numbers an
  // operator fills in (a real clinic without them is an error).
  const std::regex template_clinic(
      ".*clinics/default\\.json:.*: warning: clinic 'default' has no care_team_phone and "
      "after_hours_phone, which replies give: .*");
  int template_warnings = 0;
  while (std::getline(lines, line)) {
    if (line.find(": warning: ") == std::string::npos) continue;
    if (std::regex_match(line, template_clinic)) {
      ++template_warnings;
      continue;
    }
    EXPECT_TRUE(std::regex_match(line, lint)) << line;
  }
  EXPECT_EQ(template_warnings, 1);
}

TEST(RunCheckTest, ErrorsAndWarningsAreSeparateHeadedGroups) {
  const fs::path tmp =
      fs::temp_directory_path() / ("backline-check-groups-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(KnowledgeFixture("minimal/knowledge"), tmp, fs::copy_options::recursive);
  {
    // An unknown field (a warning) and a lint threshold misspelt (an error).
    std::ofstream syn(tmp / "synonyms.json", std::ios::trunc);
    syn << "{\n  \"groups\": [\n    {\"canonical\": \"pee\", \"terms\": [\"wee\"], \"note\": "
           "\"x\"}\n"
           "  ]\n}\n";
  }
  {
    std::ifstream in(tmp / "language.json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const size_t brace = text.find('{');
    ASSERT_NE(brace, std::string::npos);
    text.insert(brace + 1, "\n  \"lint\": {\"max_grades\": 9},");
    std::ofstream out(tmp / "language.json", std::ios::trunc);
    out << text;
  }
  const CheckRun r = Check({"--kb", tmp.string(), "--dialogs", KnowledgeFixture("minimal/dialogs"),
                            "--today", "2026-11-26"});
  fs::remove_all(tmp);
  EXPECT_EQ(r.code, 1) << r.out;
  const size_t errors = r.out.find("== errors (1) ==");
  const size_t warnings = r.out.find("== warnings (1) ==");
  ASSERT_NE(errors, std::string::npos) << r.out;
  ASSERT_NE(warnings, std::string::npos) << r.out;
  EXPECT_LT(errors, warnings);
  const size_t bad = r.out.find("language.json:2:12: error: unknown lint threshold \"max_grades\"");
  ASSERT_NE(bad, std::string::npos) << r.out;
  EXPECT_LT(bad, warnings);
  EXPECT_GT(r.out.find("synonyms.json:3:44: warning:"), warnings);
  EXPECT_THAT(r.out, HasSubstr("1 error(s), 1 warning(s)"));
}

TEST(RunCheckTest, TodayMustBeADate) {
  EXPECT_EQ(Check({"--today", "soon"}).code, 2);
  EXPECT_EQ(Check({"--today"}).code, 2);
}

TEST(RunCheckTest, MinimalFixturePassesEvenWhenStrict) {
  const CheckRun r =
      Check({"--kb", KnowledgeFixture("minimal/knowledge"), "--dialogs",
             KnowledgeFixture("minimal/dialogs"), "--strict", "--today", "2026-11-26"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 FAQ entries"));
}

TEST(RunCheckTest, BrokenFixtureExitsOneAndPrintsFileLineColumn) {
  const CheckRun r = Check({"--kb", KnowledgeFixture("broken-json/knowledge"), "--dialogs",
                            KnowledgeFixture("minimal/dialogs")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("broken-json/knowledge/faq/causes.json:11:45: error: invalid JSON"));
  EXPECT_THAT(r.out, HasSubstr("1 error(s)"));
}

TEST(RunCheckTest, CompileErrorsArePrintedWithTheirLocation) {
  const CheckRun r = Check({"--kb", KnowledgeFixture("bad-pattern/knowledge"), "--dialogs",
                            KnowledgeFixture("minimal/dialogs")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("bad-pattern/knowledge/red_flags.json:10:9: error:"));
}

TEST(RunCheckTest, WarningsFailOnlyWithStrict) {
  // A copy of the minimal knowledge base with an unknown field (a warning).
  const fs::path tmp =
      fs::temp_directory_path() / ("backline-check-test-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(KnowledgeFixture("minimal/knowledge"), tmp, fs::copy_options::recursive);
  {
    std::ofstream syn(tmp / "synonyms.json", std::ios::trunc);
    syn << "{\n  \"groups\": [\n    {\"canonical\": \"pee\", \"terms\": [\"wee\"], \"note\": "
           "\"x\"}\n"
           "  ]\n}\n";
  }
  const std::vector<std::string> base = {"--kb",      tmp.string(),
                                         "--dialogs", KnowledgeFixture("minimal/dialogs"),
                                         "--today",   "2026-11-26"};
  const CheckRun lax = Check(base);
  std::vector<std::string> strict_args = base;
  strict_args.push_back("--strict");
  const CheckRun strict = Check(strict_args);
  fs::remove_all(tmp);
  EXPECT_EQ(lax.code, 0) << lax.out;
  EXPECT_THAT(lax.out, HasSubstr("synonyms.json:3:44: warning:"));
  EXPECT_THAT(lax.out, HasSubstr("0 error(s), 1 warning(s)"));
  EXPECT_EQ(strict.code, 1) << strict.out;
}

TEST(RunCheckTest, BadOptionExitsTwo) {
  EXPECT_EQ(Check({"--clinic", "demo"}).code, 2);
  EXPECT_EQ(Check({"--explain"}).code, 2);
  EXPECT_EQ(Check({"--dialogs"}).code, 2);
}

// ---- backline concepts ---------------------------------------------------------------------

// A WordNet of three synsets in WordNet's own file format: "leg" (sense 1) has the parts
// "shin" and "kneecap, patella"; "limb" is a synonym-less noun. Offsets are byte positions.
fs::path FakeWordNet(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string header = "  1 This is a fake WordNet for tests.\n";
  std::string leg, shin, kneecap;
  const size_t leg_at = header.size();
  // Each line is written once its targets' offsets are known; fixed widths keep them stable.
  const auto off = [](size_t n) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08zu", n);
    return std::string(buf);
  };
  leg = off(leg_at) + " 08 n 01 leg 0 002 %p XXXXXXXX n 0000 %p YYYYYYYY n 0000 | a limb\n";
  const size_t shin_at = leg_at + leg.size();
  shin = off(shin_at) + " 08 n 01 shin 0 000 | front of the leg\n";
  const size_t kneecap_at = shin_at + shin.size();
  kneecap = off(kneecap_at) + " 08 n 02 kneecap 0 patella 0 000 | a bone\n";
  leg.replace(leg.find("XXXXXXXX"), 8, off(shin_at));
  leg.replace(leg.find("YYYYYYYY"), 8, off(kneecap_at));
  std::ofstream(dir / "data.noun") << header << leg << shin << kneecap;
  std::ofstream(dir / "index.noun") << header << "leg n 1 1 %p 1 0 " << off(leg_at) << "  \n";
  for (const char* pos : {"verb", "adj", "adv"}) {
    std::ofstream(dir / (std::string("index.") + pos)) << header;
    std::ofstream(dir / (std::string("data.") + pos)) << header;
  }
  return dir;
}

struct ConceptsRun {
  int code;
  std::string out, err;
};

ConceptsRun Concepts(const std::vector<std::string>& args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  ConceptsRun r;
  r.code = RunConcepts(args, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(RunConceptsTest, ListsConceptsWithTheRulesThatCombineThem) {
  const ConceptsRun r = Concepts({"list"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("lower-limb ("));
  EXPECT_THAT(r.out, HasSubstr("e1-limb-concepts"));
}

TEST(RunConceptsTest, ProposesWordNetWordsAndAddsOnlyTheAcceptedOnes) {
  const fs::path wn = FakeWordNet("backline-wordnet");
  const fs::path root =
      fs::temp_directory_path() / ("backline-concepts-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "knowledge");
  fs::copy(kRoot + "/knowledge", root / "knowledge", fs::copy_options::recursive);

  const ConceptsRun listed = Concepts(
      {"propose", "lower-limb", "--wordnet", wn.string(), "--kb", (root / "knowledge").string()});
  EXPECT_EQ(listed.code, 0) << listed.err;
  // "shin" and "kneecap" are words of the concept already: not proposed.
  EXPECT_EQ(listed.out.find(". shin"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(". kneecap"), std::string::npos) << listed.out;
  EXPECT_THAT(listed.out, HasSubstr("patella  (part of leg)"));
  EXPECT_THAT(listed.out, HasSubstr("Nothing written"));

  // "kneecap" is already there too; the only proposal is "patella": accept it.
  const ConceptsRun added = Concepts({"propose", "lower-limb", "--wordnet", wn.string(), "--kb",
                                      (root / "knowledge").string(), "--review"},
                                     "y\n");
  EXPECT_EQ(added.code, 0) << added.err;
  EXPECT_THAT(added.out, HasSubstr("Added 1 word(s) to 'lower-limb'"));
  std::ifstream f(root / "knowledge" / "concepts.json");
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("\"patella\""));
  EXPECT_THAT(text.str(), HasSubstr("// Concepts for red-flag rules"));  // comments kept
  const CheckRun check =
      Check({"--kb", (root / "knowledge").string(), "--dialogs", kRoot + "/dialogs"});
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  fs::remove_all(root);
  fs::remove_all(wn);
}

TEST(RunConceptsTest, UnknownConceptOrNoWordNetIsAClearError) {
  const ConceptsRun unknown = Concepts({"propose", "elbows"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no concept 'elbows'"));
  const ConceptsRun no_wordnet =
      Concepts({"propose", "lower-limb", "--wordnet", "/nonexistent/wordnet"});
  EXPECT_EQ(no_wordnet.code, 2);
  EXPECT_THAT(no_wordnet.err, HasSubstr("install Debian's wordnet-base"));
  EXPECT_EQ(Concepts({"frobnicate"}).code, 2);
}

}  // namespace
}  // namespace backline::cli
