#include "knowledge/json_file.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace backline::knowledge {
namespace {

using engine::Diagnostic;
using ::testing::HasSubstr;

struct ParseResult {
  bool ok;
  std::vector<Diagnostic> diags;
  JsonFile file;
};

ParseResult Parse(const std::string& text) {
  ParseResult r;
  r.ok = JsonFile::Parse(text, "faq/test.json", &r.file, &r.diags);
  return r;
}

// ---- Syntax errors: file, line and column of the offending character ------------------

TEST(JsonFileParseTest, SyntaxErrorReportsLineAndColumn) {
  const auto r = Parse("{\n  \"a\": 1,\n  \"b\": ]\n}");
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diags.size(), 1u);
  const Diagnostic& d = r.diags[0];
  EXPECT_EQ(d.severity, Diagnostic::Severity::kError);
  EXPECT_EQ(d.where.file, "faq/test.json");
  EXPECT_EQ(d.where.line, 3);
  EXPECT_EQ(d.where.column, 8);
  EXPECT_THAT(d.message, HasSubstr("invalid JSON"));
  EXPECT_THAT(d.ToString(), HasSubstr("faq/test.json:3:8: error: invalid JSON"));
}

// Well-formed JSON whose number does not fit a double: an error at the number, not a crash
// (the content fuzzer found the uncaught exception).
TEST(JsonFileParseTest, ANumberTooLargeIsAnErrorAtTheNumber) {
  for (const std::string number : {"1e999", "-1e999", "2E+400"}) {
    const auto r = Parse("{\n  // a comment\n  \"threshold\": " + number + "\n}");
    EXPECT_FALSE(r.ok) << number;
    ASSERT_EQ(r.diags.size(), 1u) << number;
    const Diagnostic& d = r.diags[0];
    EXPECT_EQ(d.severity, Diagnostic::Severity::kError);
    EXPECT_EQ(d.where.line, 3) << number;
    EXPECT_EQ(d.where.column, 16) << number;
    EXPECT_THAT(d.message, HasSubstr("invalid JSON: number overflow parsing '" + number + "'"));
  }
}

// A valid file nested 50,000 deep used to exhaust memory in the position scanner (its
// paths grow with the depth) and end a server reloading it: now a located error.
TEST(JsonFileParseTest, ANestingTooDeepIsAnErrorWhereItGoesTooDeep) {
  const std::string deep =
      std::string("{\"a\":\n") + std::string(50000, '[') + std::string(50000, ']') + "}";
  const auto r = Parse(deep);
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].where.line, 2);
  EXPECT_EQ(r.diags[0].where.column, JsonFile::kMaxDepth);  // the first '[' past the bound
  EXPECT_THAT(r.diags[0].message, HasSubstr("nested more than 64 levels"));
  // Brackets inside strings and comments are not nesting.
  const auto fine = Parse("{\"a\": \"" + std::string(1000, '[') + "\" // [[[[[[\n}");
  EXPECT_TRUE(fine.ok) << (fine.diags.empty() ? "" : fine.diags[0].ToString());
  // At the bound itself, still fine.
  const auto edge =
      Parse(std::string(JsonFile::kMaxDepth, '[') + std::string(JsonFile::kMaxDepth, ']'));
  EXPECT_TRUE(edge.ok);
}

TEST(JsonFileParseTest, AnOversizedFileIsRefusedBeforeParsing) {
  const auto r = Parse("[\"" + std::string(JsonFile::kMaxBytes, 'x') + "\"]");
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_THAT(r.diags[0].message, HasSubstr("at most 8 MiB"));
}

TEST(JsonFileParseTest, MissingCommaPointsAtTheNextKey) {
  const auto r = Parse("{\n  \"a\": 1\n  \"b\": 2\n}");
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].where.line, 3);
  // On the unexpected token "b" (columns 3 to 5).
  EXPECT_GE(r.diags[0].where.column, 3);
  EXPECT_LE(r.diags[0].where.column, 5);
}

TEST(JsonFileParseTest, TrailingCommaIsAnError) {
  const auto r = Parse("{\n  \"a\": [1, 2,]\n}");
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].where.line, 2);
  EXPECT_EQ(r.diags[0].where.column, 14);
}

TEST(JsonFileParseTest, UnexpectedEndOfInput) {
  const auto r = Parse("{\n  \"a\": 1,\n");
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].where.line, 3);
  EXPECT_THAT(r.diags[0].message, HasSubstr("end of input"));
}

TEST(JsonFileParseTest, ColumnsCountCharactersNotBytes) {
  const auto r = Parse("{\"k\": \"caf\xc3\xa9\", \"n\": }");
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].where.line, 1);
  EXPECT_EQ(r.diags[0].where.column, 20);
}

TEST(JsonFileParseTest, CommentsAreAllowedAndCounted) {
  const auto good = Parse("// a comment\n{\n  /* block\n  comment */ \"a\": 1 // trailing\n}");
  EXPECT_TRUE(good.ok);
  EXPECT_TRUE(good.diags.empty());
  EXPECT_EQ(good.file.root()["a"], 1);
  const auto bad = Parse("// comment\n{\n  \"a\": 1 /* x */,\n  \"b\": @\n}");
  ASSERT_EQ(bad.diags.size(), 1u);
  EXPECT_EQ(bad.diags[0].where.line, 4);
  EXPECT_EQ(bad.diags[0].where.column, 8);
}

TEST(JsonFileParseTest, EmptyTextIsAnError) {
  const auto r = Parse("");
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].where.file, "faq/test.json");
}

TEST(JsonFileLoadTest, MissingFileIsAnErrorNamingIt) {
  JsonFile f;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(JsonFile::Load("/nonexistent/backline/x.json", "faq/x.json", &f, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.file, "faq/x.json");
  EXPECT_THAT(diags[0].message, HasSubstr("cannot open"));
}

// ---- Where values are ------------------------------------------------------------------

const char* const kEntries =
    "{\n"                                     // 1
    "  \"entries\": [\n"                      // 2
    "    {\"id\": \"x\", \"questions\": [\n"  // 3
    "      \"one\",\n"                        // 4
    "      \"two\"\n"                         // 5
    "    ]},\n"                               // 6
    "    {\"id\": \"y\"}\n"                   // 7
    "  ],\n"                                  // 8
    "  \"k\": \"caf\xc3\xa9\", \"n\": 5\n"    // 9
    "}\n";

TEST(JsonFileAtTest, LocatesValuesByJsonPointer) {
  const auto r = Parse(kEntries);
  ASSERT_TRUE(r.ok);
  const auto at = [&](const std::string& p) {
    const auto loc = r.file.At(p);
    return std::to_string(loc.line) + ":" + std::to_string(loc.column);
  };
  EXPECT_EQ(at(""), "1:1");
  EXPECT_EQ(at("/entries"), "2:14");
  EXPECT_EQ(at("/entries/0"), "3:5");
  EXPECT_EQ(at("/entries/0/id"), "3:12");
  EXPECT_EQ(at("/entries/0/questions/0"), "4:7");
  EXPECT_EQ(at("/entries/0/questions/1"), "5:7");
  EXPECT_EQ(at("/entries/1/id"), "7:12");
  EXPECT_EQ(at("/n"), "9:21");  // after a two-byte character
  EXPECT_EQ(r.file.At("/entries/1").file, "faq/test.json");
}

TEST(JsonFileAtTest, UnknownPointerFallsBackToTheClosestAncestor) {
  const auto r = Parse(kEntries);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.file.At("/entries/0/answer").line, 3);  // the entry
  EXPECT_EQ(r.file.At("/entries/7").line, 2);         // the list
  EXPECT_EQ(r.file.At("/nothing/here").line, 1);      // the root
}

TEST(JsonFileAtTest, KeysAreLocatedToo) {
  const auto r = Parse(kEntries);
  ASSERT_TRUE(r.ok);
  const auto loc = r.file.At("/entries/0/questions#key");
  EXPECT_EQ(loc.line, 3);
  EXPECT_EQ(loc.column, 17);
}

TEST(JsonFileAtTest, EscapedKeysAndStrings) {
  const auto r = Parse("{\"a/b\": 1, \"q\": \"say \\\"hi\\\"\", \"t~x\": 2}");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.file.At("/a~1b").column, 9);
  EXPECT_EQ(r.file.At("/t~0x").column, 38);
}

// ---- Typed field helpers ----------------------------------------------------------------

TEST(JsonFieldTest, GetStringReportsMissingAndWrongType) {
  const auto r = Parse("{\n  \"obj\": {\n    \"id\": 5,\n    \"name\": \"n\"\n  }\n}");
  ASSERT_TRUE(r.ok);
  const auto& obj = r.file.root()["obj"];
  std::vector<Diagnostic> diags;
  std::string out = "unchanged";
  EXPECT_TRUE(GetString(r.file, obj, "/obj", "name", true, &out, &diags));
  EXPECT_EQ(out, "n");
  EXPECT_TRUE(GetString(r.file, obj, "/obj", "optional", false, &out, &diags));
  EXPECT_EQ(out, "n");
  EXPECT_TRUE(diags.empty());

  out = "unchanged";
  EXPECT_FALSE(GetString(r.file, obj, "/obj", "id", true, &out, &diags));
  EXPECT_EQ(out, "unchanged");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.line, 3);  // the value
  EXPECT_EQ(diags[0].where.column, 11);
  EXPECT_THAT(diags[0].message, HasSubstr("\"id\" must be a string"));

  EXPECT_FALSE(GetString(r.file, obj, "/obj", "answer", true, &out, &diags));
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[1].where.line, 2);  // the object that lacks it
  EXPECT_THAT(diags[1].message, HasSubstr("missing field \"answer\""));
}

TEST(JsonFieldTest, GetStringsReportsEachBadItem) {
  const auto r = Parse("{\"o\": {\"q\": [\"a\", 2, \"c\", null], \"s\": \"x\"}}");
  ASSERT_TRUE(r.ok);
  const auto& obj = r.file.root()["o"];
  std::vector<Diagnostic> diags;
  std::vector<std::string> out;
  std::vector<engine::SourceLocation> where;
  EXPECT_FALSE(GetStrings(r.file, obj, "/o", "q", true, &out, &where, &diags));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "c"}));
  ASSERT_EQ(where.size(), 2u);
  EXPECT_EQ(where[1].column, 22);
  EXPECT_EQ(diags.size(), 2u);
  out.clear();
  diags.clear();
  EXPECT_FALSE(GetStrings(r.file, obj, "/o", "s", true, &out, nullptr, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("list of strings"));
}

TEST(JsonFieldTest, CheckKeysWarnsAboutUnknownKeysAtTheKey) {
  const auto r = Parse("{\n  \"id\": \"a\",\n  \"questoins\": [],\n  \"$comment\": \"ok\"\n}");
  ASSERT_TRUE(r.ok);
  std::vector<Diagnostic> diags;
  CheckKeys(r.file, r.file.root(), "", {"id", "questions"}, &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(diags[0].where.line, 3);
  EXPECT_EQ(diags[0].where.column, 3);
  EXPECT_THAT(diags[0].message, HasSubstr("questoins"));
}

}  // namespace
}  // namespace backline::knowledge
