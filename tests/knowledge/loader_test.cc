#include "knowledge/loader.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dialogs/loader.h"
#include "engine/engine.h"
#include "tests/support/build_paths.h"

namespace backline::knowledge {
namespace {

namespace fs = std::filesystem;
using engine::ContentSpec;
using engine::Diagnostic;
using ::testing::EndsWith;
using ::testing::HasSubstr;

std::string Fixture(const std::string& rel) {
  return std::string(build::kSourceDir) + "/tests/knowledge/fixtures/" + rel;
}

std::string Join(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += "  " + d.ToString() + "\n";
  return s;
}

std::vector<Diagnostic> Errors(const std::vector<Diagnostic>& diags) {
  std::vector<Diagnostic> out;
  for (const auto& d : diags) {
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d);
  }
  return out;
}

// The minimal fixture (knowledge + dialogs), parsed but not compiled.
ContentSpec MinimalSpec() {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_TRUE(LoadKnowledge(Fixture("minimal/knowledge"), &spec, &diags)) << Join(diags);
  EXPECT_TRUE(dialogs::LoadDialogs(Fixture("minimal/dialogs"), &spec, &diags)) << Join(diags);
  return spec;
}

// Compiles and returns every diagnostic; *ok says whether an engine came out.
std::vector<Diagnostic> Compile(ContentSpec spec, bool* ok = nullptr) {
  std::vector<Diagnostic> diags;
  auto e = engine::Engine::Compile(std::move(spec), &diags);
  if (ok) *ok = e != nullptr;
  return diags;
}

// ---- The minimal fixture -----------------------------------------------------------------

TEST(KnowledgeLoaderTest, MinimalFixtureLoadsAndCompilesCleanly) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadKnowledge(Fixture("minimal/knowledge"), &spec, &diags)) << Join(diags);
  EXPECT_TRUE(diags.empty()) << Join(diags);
  EXPECT_EQ(spec.entries.size(), 2u);
  EXPECT_EQ(spec.synonyms.size(), 2u);
  ASSERT_EQ(spec.red_flag_kinds.size(), 1u);
  EXPECT_EQ(spec.red_flag_kinds[0].urgency, engine::Urgency::kEmergency);
  ASSERT_EQ(spec.red_flag_rules.size(), 1u);
  EXPECT_EQ(spec.red_flag_rules[0].patterns.size(), 2u);
  EXPECT_EQ(spec.language.negation_window, 5);
  EXPECT_EQ(spec.language.contractions.at("can't"), "cannot");
  // Where things came from, for later errors.
  const engine::FaqEntry& e = spec.entries[0];
  EXPECT_THAT(e.where.file, EndsWith("faq/causes.json"));
  EXPECT_EQ(e.where.line, 6);
  EXPECT_EQ(e.where.column, 5);
  ASSERT_EQ(e.question_where.size(), e.questions.size());
  EXPECT_EQ(e.question_where[1].line, 11);
  EXPECT_EQ(spec.red_flag_rules[0].pattern_where.size(), 2u);

  ASSERT_TRUE(dialogs::LoadDialogs(Fixture("minimal/dialogs"), &spec, &diags)) << Join(diags);
  bool ok = false;
  const auto compiled = Compile(std::move(spec), &ok);
  EXPECT_TRUE(ok) << Join(compiled);
  EXPECT_TRUE(compiled.empty()) << Join(compiled);
}

TEST(KnowledgeLoaderTest, MissingFolderOrFileIsAnError) {
  {
    ContentSpec spec;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(LoadKnowledge(Fixture("no-such-folder"), &spec, &diags));
    ASSERT_EQ(diags.size(), 1u);
    EXPECT_THAT(diags[0].where.file, HasSubstr("no-such-folder"));
  }
  // A copy of the minimal knowledge base without synonyms.json.
  const fs::path tmp =
      fs::temp_directory_path() / ("backline-loader-test-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(Fixture("minimal/knowledge"), tmp, fs::copy_options::recursive);
  fs::remove(tmp / "synonyms.json");
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadKnowledge(tmp.string(), &spec, &diags));
  fs::remove_all(tmp);
  ASSERT_EQ(Errors(diags).size(), 1u) << Join(diags);
  EXPECT_THAT(diags[0].where.file, EndsWith("synonyms.json"));
  EXPECT_THAT(diags[0].message, HasSubstr("missing"));
  EXPECT_EQ(spec.entries.size(), 2u) << "loading goes on after an error";
}

// ---- Syntax errors -------------------------------------------------------------------------

TEST(KnowledgeLoaderTest, InvalidJsonReportsFileLineAndColumn) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadKnowledge(Fixture("broken-json/knowledge"), &spec, &diags));
  const auto errors = Errors(diags);
  ASSERT_EQ(errors.size(), 1u) << Join(diags);
  EXPECT_THAT(errors[0].where.file, EndsWith("broken-json/knowledge/faq/causes.json"));
  EXPECT_EQ(errors[0].where.line, 11);
  EXPECT_EQ(errors[0].where.column, 45);
  EXPECT_THAT(errors[0].message, HasSubstr("invalid JSON"));
  // The other files were still read.
  EXPECT_EQ(spec.red_flag_rules.size(), 1u);
}

TEST(KnowledgeLoaderTest, InvalidJsonInTextReportsLineAndColumn) {
  std::vector<engine::FaqEntry> out;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(
      LoadFaqText("{\n  \"entries\": [\n    {\"id\": \"a\",}\n  ]\n}", "faq/x.json", &out, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.ToString(), "faq/x.json:3:16");
}

// ---- One FAQ file at a time: fields, types, dates ---------------------------------------------

// An FAQ file with one entry whose body is `fields` (placed from line 5 on).
std::string OneEntry(const std::string& fields) {
  return "{\n"
         "  \"topic\": \"sleep\",\n"
         "  \"entries\": [\n"
         "    {\n" +
         fields +
         "\n    }\n"
         "  ]\n"
         "}\n";
}

const char* const kGoodFields =
    "      \"id\": \"sleep-positions\",\n"                                            // 5
    "      \"topic\": \"sleep\",\n"                                                   // 6
    "      \"questions\": [\"a b\", \"c d\", \"e f\", \"g h\", \"i j\"],\n"           // 7
    "      \"answer\": \"Lie on your side.\",\n"                                      // 8
    "      \"sources\": [{\"title\": \"NHS\", \"url\": \"https://www.nhs.uk/\"}],\n"  // 9
    "      \"reviewed\": \"2026-01-15\"";                                             // 10

struct Loaded {
  bool ok;
  std::vector<engine::FaqEntry> entries;
  std::vector<Diagnostic> diags;
};

Loaded Load(const std::string& fields) {
  Loaded l;
  l.ok = LoadFaqText(OneEntry(fields), "faq/sleep.json", &l.entries, &l.diags);
  return l;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

TEST(FaqTextTest, GoodEntryLoads) {
  const Loaded l = Load(kGoodFields);
  EXPECT_TRUE(l.ok) << Join(l.diags);
  EXPECT_TRUE(l.diags.empty()) << Join(l.diags);
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].id, "sleep-positions");
  EXPECT_EQ(l.entries[0].questions.size(), 5u);
  EXPECT_EQ(l.entries[0].sources.at(0).url, "https://www.nhs.uk/");
  EXPECT_EQ(l.entries[0].reviewed, "2026-01-15");
  EXPECT_EQ(l.entries[0].where.ToString(), "faq/sleep.json:4:5");
}

TEST(FaqTextTest, MissingRequiredFieldIsAnErrorAtTheEntry) {
  for (const char* field : {"id", "topic", "questions", "answer", "reviewed"}) {
    std::string fields = kGoodFields;
    // Drop the line holding the field.
    const size_t at = fields.find(std::string("\"") + field + "\"");
    ASSERT_NE(at, std::string::npos);
    const size_t start = fields.rfind('\n', at);
    const size_t end = fields.find('\n', at);
    fields.erase(start == std::string::npos ? 0 : start,
                 end == std::string::npos ? std::string::npos : end - start);
    if (fields.back() == ',') fields.pop_back();
    const Loaded l = Load(fields);
    EXPECT_FALSE(l.ok) << field;
    EXPECT_TRUE(l.entries.empty()) << field;
    const auto errors = Errors(l.diags);
    ASSERT_EQ(errors.size(), 1u) << field << "\n" << Join(l.diags);
    EXPECT_THAT(errors[0].message, HasSubstr(std::string("missing field \"") + field + "\""));
    EXPECT_EQ(errors[0].where.ToString(), "faq/sleep.json:4:5") << field;
  }
}

TEST(FaqTextTest, WrongTypeIsAnErrorAtTheValue) {
  const struct {
    const char* from;
    const char* to;
    const char* message;
    int line;
    int column;
  } cases[] = {
      {"\"id\": \"sleep-positions\"", "\"id\": 42", "\"id\" must be a string", 5, 13},
      {"\"questions\": [\"a b\",", "\"questions\": \"a b\", \"x\": [",
       "\"questions\" must be a list", 7, 20},
      {"[\"a b\", \"c d\"", "[\"a b\", 7", "items of \"questions\" must be strings", 7, 28},
      {"\"answer\": \"Lie on your side.\"", "\"answer\": [\"Lie\"]", "\"answer\" must be a string",
       8, 17},
      {"[{\"title\": \"NHS\", \"url\": \"https://www.nhs.uk/\"}]", "\"NHS\"",
       "\"sources\" must be a list", 9, 18},
  };
  for (const auto& c : cases) {
    const Loaded l = Load(Replace(kGoodFields, c.from, c.to));
    EXPECT_FALSE(l.ok) << c.to;
    const auto errors = Errors(l.diags);
    ASSERT_FALSE(errors.empty()) << c.to;
    EXPECT_THAT(errors[0].message, HasSubstr(c.message)) << c.to;
    EXPECT_EQ(errors[0].where.line, c.line) << c.to;
    EXPECT_EQ(errors[0].where.column, c.column) << c.to;
  }
}

// An answer over 8 KiB is an error at the answer (a 10 MB answer used to pass `check` with
// only the answer-length warning); one of exactly 8 KiB loads.
TEST(FaqTextTest, AnAnswerOver8KiBIsAnErrorAtTheAnswer) {
  const Loaded big = Load(
      Replace(kGoodFields, "\"Lie on your side.\"", "\"" + std::string(8 * 1024 + 1, 'a') + "\""));
  EXPECT_FALSE(big.ok);
  const auto errors = Errors(big.diags);
  ASSERT_EQ(errors.size(), 1u) << Join(big.diags);
  EXPECT_THAT(errors[0].message, HasSubstr("8193 bytes"));
  EXPECT_THAT(errors[0].message, HasSubstr("at most 8192 bytes"));
  EXPECT_EQ(errors[0].where.line, 8);
  EXPECT_EQ(errors[0].where.column, 17);
  const Loaded limit =
      Load(Replace(kGoodFields, "\"Lie on your side.\"", "\"" + std::string(8 * 1024, 'a') + "\""));
  EXPECT_TRUE(limit.ok) << Join(limit.diags);
  EXPECT_TRUE(Errors(limit.diags).empty()) << Join(limit.diags);
}

TEST(FaqTextTest, UnknownFieldIsOnlyAWarningAtTheKey) {
  const Loaded l = Load(std::string(kGoodFields) + ",\n      \"notes\": \"check with Dr A\"");
  EXPECT_TRUE(l.ok) << Join(l.diags);
  ASSERT_EQ(l.entries.size(), 1u);
  ASSERT_EQ(l.diags.size(), 1u);
  EXPECT_EQ(l.diags[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_THAT(l.diags[0].message, HasSubstr("\"notes\""));
  EXPECT_EQ(l.diags[0].where.ToString(), "faq/sleep.json:11:7");
}

TEST(FaqTextTest, MisspeltFieldNameWarnsAndTheMissingFieldErrs) {
  const Loaded l = Load(Replace(kGoodFields, "\"questions\"", "\"questoins\""));
  EXPECT_FALSE(l.ok);
  bool warned = false, erred = false;
  for (const auto& d : l.diags) {
    warned |= d.severity == Diagnostic::Severity::kWarning &&
              d.message.find("questoins") != std::string::npos && d.where.line == 7;
    erred |= d.severity == Diagnostic::Severity::kError &&
             d.message.find("missing field \"questions\"") != std::string::npos;
  }
  EXPECT_TRUE(warned) << Join(l.diags);
  EXPECT_TRUE(erred) << Join(l.diags);
}

TEST(FaqTextTest, BadDateIsAnErrorAtTheValue) {
  for (const char* date : {"2026-13-01", "2026-00-10", "2026-01-32", "26-11-2026", "2026/01/15",
                           "2026-1-5", "yesterday"}) {
    const Loaded l = Load(Replace(kGoodFields, "2026-01-15", date));
    EXPECT_FALSE(l.ok) << date;
    const auto errors = Errors(l.diags);
    ASSERT_EQ(errors.size(), 1u) << date << "\n" << Join(l.diags);
    EXPECT_THAT(errors[0].message, HasSubstr("\"reviewed\"")) << date;
    EXPECT_EQ(errors[0].where.ToString(), "faq/sleep.json:10:19") << date;
  }
}

// "reviewed" must be a real calendar date (month lengths, leap years) and not empty.
TEST(FaqTextTest, ImpossibleOrEmptyReviewDateIsRejected) {
  for (const char* date : {"2026-02-30", "2026-04-31", "2025-02-29", ""}) {
    const Loaded l = Load(Replace(kGoodFields, "2026-01-15", date));
    EXPECT_FALSE(l.ok) << "\"" << date << "\" was accepted";
  }
  EXPECT_TRUE(Load(Replace(kGoodFields, "2026-01-15", "2028-02-29")).ok) << "a leap day";
}

TEST(FaqTextTest, BadIdAndUrlAreErrors) {
  Loaded l = Load(Replace(kGoodFields, "\"sleep-positions\"", "\"Sleep Positions\""));
  EXPECT_FALSE(l.ok);
  ASSERT_FALSE(Errors(l.diags).empty());
  EXPECT_EQ(Errors(l.diags)[0].where.ToString(), "faq/sleep.json:5:13");
  l = Load(Replace(kGoodFields, "https://www.nhs.uk/", "www.nhs.uk"));
  EXPECT_FALSE(l.ok);
  ASSERT_FALSE(Errors(l.diags).empty());
  EXPECT_THAT(Errors(l.diags)[0].message, HasSubstr("https://"));
}

TEST(FaqTextTest, EntryTopicDifferentFromTheFilesIsAWarning) {
  const Loaded l = Load(Replace(kGoodFields, "\"topic\": \"sleep\"", "\"topic\": \"massage\""));
  EXPECT_TRUE(l.ok);
  ASSERT_EQ(l.diags.size(), 1u);
  EXPECT_EQ(l.diags[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(l.diags[0].where.line, 6);
}

TEST(FaqTextTest, NotAnFaqFile) {
  for (const char* text : {"[]", "{}", "{\"entries\": 3}", "42"}) {
    std::vector<engine::FaqEntry> out;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(LoadFaqText(text, "faq/x.json", &out, &diags)) << text;
    ASSERT_EQ(diags.size(), 1u) << text;
    EXPECT_EQ(diags[0].where.file, "faq/x.json");
  }
}

TEST(FaqTextTest, OneBadEntryDoesNotHideTheOthers) {
  const std::string text =
      "{\"entries\": [\n"
      "  {\"id\": 1},\n"
      "  {\"id\": \"b\", \"topic\": \"sleep\", \"questions\": [\"q\"], \"answer\": \"a\", "
      "\"reviewed\": \"2026-01-01\"},\n"
      "  {\"id\": \"c\"}\n"
      "]}";
  std::vector<engine::FaqEntry> out;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadFaqText(text, "faq/x.json", &out, &diags));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, "b");
  std::set<int> lines;
  for (const auto& d : Errors(diags)) lines.insert(d.where.line);
  EXPECT_EQ(lines, (std::set<int>{2, 4})) << Join(diags);
}

// ---- Checks that need the whole content (Engine::Compile, with the loader's locations) -------

TEST(KnowledgeCompileTest, UnknownTopicIsAnErrorAtTheEntry) {
  ContentSpec spec = MinimalSpec();
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadFaqText(
      OneEntry(Replace(Replace(kGoodFields, "\"topic\": \"sleep\"", "\"topic\": \"astrology\""),
                       "sleep-positions", "stars")),
      "faq/sleep.json", &spec.entries, &diags));
  bool ok = true;
  const auto errors = Errors(Compile(std::move(spec), &ok));
  EXPECT_FALSE(ok);
  ASSERT_EQ(errors.size(), 1u) << Join(errors);
  EXPECT_THAT(errors[0].message, HasSubstr("unknown topic 'astrology'"));
  EXPECT_EQ(errors[0].where.ToString(), "faq/sleep.json:4:5");
}

TEST(KnowledgeCompileTest, DuplicateEntryIdAcrossTwoFilesNamesBothPlaces) {
  ContentSpec spec = MinimalSpec();
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(
      LoadFaqFile(Fixture("duplicate-id-first.json"), "faq/first.json", &spec.entries, &diags));
  ASSERT_TRUE(
      LoadFaqFile(Fixture("duplicate-id-second.json"), "faq/second.json", &spec.entries, &diags));
  ASSERT_TRUE(diags.empty()) << Join(diags);
  bool ok = true;
  const auto errors = Errors(Compile(std::move(spec), &ok));
  EXPECT_FALSE(ok);
  ASSERT_EQ(errors.size(), 1u) << Join(errors);
  EXPECT_THAT(errors[0].message, HasSubstr("duplicate entry id 'sleep-positions'"));
  EXPECT_EQ(errors[0].where.ToString(), "faq/second.json:8:5");
  EXPECT_THAT(errors[0].message, HasSubstr("faq/first.json:7:5"));
}

TEST(KnowledgeCompileTest, SameParaphraseUnderTwoEntriesNamesBoth) {
  ContentSpec spec = MinimalSpec();
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(
      LoadFaqFile(Fixture("duplicate-question.json"), "faq/massage.json", &spec.entries, &diags))
      << Join(diags);
  bool ok = true;
  const auto errors = Errors(Compile(std::move(spec), &ok));
  EXPECT_FALSE(ok);
  ASSERT_EQ(errors.size(), 1u) << Join(errors);
  EXPECT_EQ(errors[0].where.ToString(), "faq/massage.json:16:42");
  EXPECT_THAT(errors[0].message, HasSubstr("is massage safe during chemo"));
  EXPECT_THAT(errors[0].message, HasSubstr("massage-benefits"));
  EXPECT_THAT(errors[0].message, HasSubstr("massage-safety"));
  EXPECT_THAT(errors[0].message, HasSubstr("faq/massage.json:8:44"));
}

// Paraphrases are compared as words: the same question with other case or punctuation under
// two entries is a duplicate (the matcher cannot tell them apart).
TEST(KnowledgeCompileTest, SameParaphraseWithOtherPunctuationIsADuplicate) {
  ContentSpec spec = MinimalSpec();
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(
      LoadFaqFile(Fixture("duplicate-question.json"), "faq/massage.json", &spec.entries, &diags));
  ASSERT_GE(spec.entries.size(), 4u);
  spec.entries[2].questions[1] = "Is massage safe during chemo?";
  bool ok = true;
  const auto errors = Errors(Compile(std::move(spec), &ok));
  EXPECT_FALSE(ok) << "\"Is massage safe during chemo?\" and \"is massage safe during chemo\" "
                      "under two entries were accepted";
}

TEST(KnowledgeCompileTest, BadRedFlagPatternCarriesRe2ErrorAndThePatternsLine) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadKnowledge(Fixture("bad-pattern/knowledge"), &spec, &diags)) << Join(diags);
  ASSERT_TRUE(dialogs::LoadDialogs(Fixture("minimal/dialogs"), &spec, &diags));
  bool ok = true;
  const auto errors = Errors(Compile(std::move(spec), &ok));
  EXPECT_FALSE(ok);
  ASSERT_EQ(errors.size(), 1u) << Join(errors);
  EXPECT_THAT(errors[0].where.file, EndsWith("bad-pattern/knowledge/red_flags.json"));
  EXPECT_EQ(errors[0].where.line, 10);
  EXPECT_EQ(errors[0].where.column, 9);
  EXPECT_THAT(errors[0].message, HasSubstr("e1-legs"));
  EXPECT_THAT(errors[0].message, HasSubstr("missing )"));  // re2's own words
}

// ---- All the shipped content ---------------------------------------------------------------

// knowledge/topics.json holds exactly the topic ids of the outside contract
// (../shared/docs/topics.md, beside the checkout when the team's shared folder is there):
// the evaluation sets and the clinics' reports use those ids.
TEST(ShippedContentTest, TopicsAreTheContractsTopics) {
  const std::string contract = std::string(build::kSourceDir) + "/../shared/docs/topics.md";
  std::ifstream in(contract);
  if (!in) GTEST_SKIP() << contract << " is not beside this checkout";
  std::set<std::string> want;
  std::string line;
  while (std::getline(in, line)) {
    // Table rows: "| id | meaning |"; the header and its rule are not ids.
    if (line.rfind("| ", 0) != 0) continue;
    const std::string id = line.substr(2, line.find(' ', 2) - 2);
    if (id.empty() || id == "topic" ||
        id.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos)
      continue;
    want.insert(id);
  }
  ASSERT_GE(want.size(), 20u) << "could not read the topic table of " << contract;
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  LoadKnowledge(std::string(build::kSourceDir) + "/knowledge", &spec, &diags);
  std::set<std::string> have;
  for (const auto& t : spec.topics) have.insert(t.id);
  EXPECT_EQ(have, want);
}

TEST(ShippedKnowledgeTest, LoadsWithNoErrorsOrWarningsAndIsComplete) {
  const std::string root = build::kSourceDir;
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_TRUE(LoadKnowledge(root + "/knowledge", &spec, &diags));
  EXPECT_TRUE(dialogs::LoadDialogs(root + "/dialogs", &spec, &diags));
  std::vector<engine::Clinic> clinics;
  EXPECT_TRUE(dialogs::LoadClinics(root + "/dialogs", &clinics, &diags));
  const ContentSpec copy = spec;
  auto engine = engine::Engine::Compile(std::move(spec), &diags);
  EXPECT_NE(engine, nullptr);
  EXPECT_TRUE(diags.empty()) << "backline check would print:\n" << Join(diags);
  spec = copy;

  EXPECT_GE(spec.entries.size(), 60u);
  std::map<std::string, int> per_topic;
  for (const auto& e : spec.entries) {
    ++per_topic[e.topic];
    EXPECT_GE(e.questions.size(), 5u) << e.id << " (" << e.where.ToString() << ")";
    EXPECT_FALSE(e.sources.empty()) << e.id;
    for (const auto& s : e.sources) {
      EXPECT_EQ(s.url.rfind("https://", 0), 0u) << e.id << ": " << s.url;
    }
  }
  std::set<std::string> faq_topics;
  for (const auto& t : spec.topics) {
    if (t.faq) faq_topics.insert(t.id);
  }
  EXPECT_EQ(faq_topics.size(), 18u);
  for (const auto& topic : faq_topics) {
    EXPECT_GE(per_topic[topic], 2) << "topic " << topic << " has too few entries";
  }
  for (const auto& [topic, n] : per_topic) {
    EXPECT_TRUE(faq_topics.count(topic)) << topic;
  }
  std::set<std::string> kinds_with_rules;
  for (const auto& r : spec.red_flag_rules) kinds_with_rules.insert(r.kind);
  std::set<std::string> kinds;
  for (const auto& k : spec.red_flag_kinds) {
    kinds.insert(k.id);
    EXPECT_TRUE(kinds_with_rules.count(k.id)) << "red-flag kind " << k.id << " has no rule";
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"E1", "E2", "E3", "E4", "E5", "E6", "E7", "U1", "U2",
                                          "U3", "U4", "U5", "U6", "U7"}));
  ASSERT_EQ(clinics.size(), 3u);
  // A UK example beside the US demo: 999, and A&E in replies.
  const auto uk = std::find_if(clinics.begin(), clinics.end(),
                               [](const engine::Clinic& c) { return c.id == "uk-example"; });
  ASSERT_NE(uk, clinics.end());
  EXPECT_EQ(uk->country, "GB");
  EXPECT_EQ(uk->emergency_number, "999");
  EXPECT_EQ(engine::Engine::Render("go to the nearest {emergency_department}", *uk),
            "go to the nearest A&E");
}

TEST(ShippedKnowledgeTest, RepliesFollowTheWritingRules) {
  const std::string root = build::kSourceDir;
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadKnowledge(root + "/knowledge", &spec, &diags)) << Join(diags);
  ASSERT_TRUE(dialogs::LoadDialogs(root + "/dialogs", &spec, &diags)) << Join(diags);
  const std::set<std::string> placeholders = {
      "clinic_name", "care_team_phone", "after_hours_phone",   "emergency_number",
      "crisis_line", "retention_days",  "emergency_department"};
  const std::regex brace("\\{([^{}]*)\\}");
  auto check_placeholders = [&](const std::string& text, const std::string& what) {
    for (std::sregex_iterator it(text.begin(), text.end(), brace), end; it != end; ++it) {
      EXPECT_TRUE(placeholders.count((*it)[1].str()))
          << what << " uses an unknown placeholder " << (*it)[0].str();
    }
  };
  for (const auto& e : spec.entries) {
    check_placeholders(e.answer, "entry " + e.id);
    if (e.topic == "emotional-support") {
      EXPECT_THAT(e.answer, HasSubstr("{crisis_line}"))
          << "every emotional-support answer names a crisis line: " << e.id;
    }
  }
  for (const auto& k : spec.red_flag_kinds) {
    check_placeholders(k.reply, "kind " + k.id);
    if (k.urgency == engine::Urgency::kEmergency) {
      // red-flags.md 6.4: the action first, in the first line.
      EXPECT_THAT(k.reply.substr(0, k.reply.find('.')), HasSubstr("{emergency_number}")) << k.id;
      EXPECT_FALSE(k.tell_them.empty()) << k.id;
    } else {
      // 6.5: "Contact your cancer care team today", with the clinic's numbers.
      EXPECT_THAT(k.reply, HasSubstr("care team today")) << k.id;
      EXPECT_THAT(k.reply, HasSubstr("{care_team_phone}")) << k.id;
      EXPECT_THAT(k.reply, HasSubstr("{emergency_number}")) << k.id;
    }
    if (k.id == "E6" || k.id == "U5") {
      EXPECT_THAT(k.reply, HasSubstr("{crisis_line}")) << k.id;
    }
  }
  for (const auto& i : spec.intents) check_placeholders(i.reply, "intent " + i.id);
  for (const auto& [key, text] : spec.dialog.messages) check_placeholders(text, "message " + key);
}

// ---- language.json "lint", red-flag notes and examples, "$schema" ---------------------------

// Loads a copy of the minimal knowledge base whose language.json or red_flags.json has
// `extra` inserted just after its opening brace.
bool LoadWith(const std::string& file, const std::string& extra, ContentSpec* spec,
              std::vector<Diagnostic>* diags) {
  const fs::path tmp =
      fs::temp_directory_path() / ("backline-loader-lint-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(Fixture("minimal/knowledge"), tmp, fs::copy_options::recursive);
  std::ifstream in(tmp / file);
  std::stringstream ss;
  ss << in.rdbuf();
  in.close();
  std::string text = ss.str();
  text.insert(text.find('{') + 1, extra);
  std::ofstream(tmp / file, std::ios::trunc) << text;
  const bool ok = LoadKnowledge(tmp.string(), spec, diags);
  fs::remove_all(tmp);
  return ok;
}

TEST(KnowledgeLoaderTest, LintThresholdsAreReadAndValidated) {
  {
    ContentSpec spec;
    std::vector<Diagnostic> diags;
    ASSERT_TRUE(LoadWith("language.json",
                         "\"$schema\": \"../schemas/language.schema.json\", \"lint\": "
                         "{\"max_grade\": 7.5, \"max_answer_chars\": 600, "
                         "\"max_review_age_days\": 180, \"max_paraphrase_overlap\": 0.9},",
                         &spec, &diags))
        << Join(diags);
    EXPECT_TRUE(diags.empty()) << Join(diags);  // "$schema" is no unknown field
    EXPECT_EQ(spec.lint.max_grade, 7.5);
    EXPECT_EQ(spec.lint.max_answer_chars, 600);
    EXPECT_EQ(spec.lint.max_review_age_days, 180);
    EXPECT_EQ(spec.lint.max_paraphrase_overlap, 0.9);
  }
  {
    // Unknown keys are errors here (a misspelt threshold would silently keep its default),
    // and so are values out of range or of the wrong type.
    ContentSpec spec;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(LoadWith("language.json",
                          "\"lint\": {\"max_grades\": 9, \"max_answer_chars\": 12.5, "
                          "\"max_paraphrase_overlap\": 2, \"max_review_age_days\": \"a year\"},",
                          &spec, &diags));
    const std::string all = Join(Errors(diags));
    EXPECT_EQ(Errors(diags).size(), 4u) << Join(diags);
    EXPECT_THAT(all, HasSubstr("language.json:1:11: error: unknown lint threshold \"max_grades\""));
    EXPECT_THAT(all, HasSubstr("\"max_answer_chars\" must be a whole number from 100 to 10000"));
    EXPECT_THAT(all, HasSubstr("\"max_paraphrase_overlap\" must be a number from 0 to 1"));
    EXPECT_THAT(all, HasSubstr("\"max_review_age_days\" must be a whole number from 1 to 3650"));
  }
  {
    ContentSpec spec;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(LoadWith("language.json", "\"lint\": [8],", &spec, &diags));
    EXPECT_THAT(Join(diags), HasSubstr("\"lint\" is an object of thresholds"));
  }
}

TEST(KnowledgeLoaderTest, RedFlagRulesKeepTheirNoteAndExamples) {
  // The shipped rules: every one has a note and examples, with their locations.
  ContentSpec shipped;
  std::vector<Diagnostic> shipped_diags;
  ASSERT_TRUE(
      LoadKnowledge(std::string(build::kSourceDir) + "/knowledge", &shipped, &shipped_diags))
      << Join(shipped_diags);
  ASSERT_GT(shipped.red_flag_rules.size(), 30u);
  for (const auto& r : shipped.red_flag_rules) {
    EXPECT_FALSE(r.note.empty()) << r.id;
    EXPECT_FALSE(r.examples.empty()) << r.id;
    ASSERT_EQ(r.example_where.size(), r.examples.size()) << r.id;
    EXPECT_GT(r.example_where[0].line, 0) << r.id;
  }
}

}  // namespace
}  // namespace backline::knowledge
