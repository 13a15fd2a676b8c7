// The folders are the architecture (README.md, "Layout"): each may include only the folders
// below it, and never another folder's internal/ headers. This test greps every source file
// of content/, store/, server/, curator/, clinic/ and cli/ (like tests/engine/boundary_test.cc does
// for engine/), so an include that points the wrong way fails CI with its file and line. It
// has no header under test.
//
//   content/  -> engine, knowledge, dialogs
//   store/    -> engine (its Status type)
//   server/   -> content, store, engine; Boost
//   curator/  -> server, store, content, engine
//   clinic/   -> server, store, engine
//   cli/      -> everything above, but no folder's internal/ headers
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/build_paths.h"

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::path(backline::build::kSourceDir);

struct Rule {
  std::vector<std::string> may;       // project folders it may include ("engine")
  std::vector<std::string> must_not;  // system headers it must not include ("boost/")
};

// What each folder may include besides itself.
const std::map<std::string, Rule>& Rules() {
  static const auto* rules = new std::map<std::string, Rule>{
      {"content", {{"engine", "knowledge", "dialogs"}, {"boost/", "sqlite3.h"}}},
      {"store", {{"engine"}, {"boost/", "nlohmann/"}}},
      {"server", {{"content", "store", "engine"}, {"sqlite3.h"}}},
      {"curator", {{"server", "store", "content", "engine"}, {"sqlite3.h"}}},
      {"clinic", {{"server", "store", "engine"}, {"sqlite3.h"}}},
      {"cli",
       {{"curator", "clinic", "server", "store", "content", "engine", "knowledge", "dialogs"},
        {"boost/", "sqlite3.h"}}},
  };
  return *rules;
}

std::vector<fs::path> Sources(const std::string& folder) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kRoot / folder)) {
    if (!e.is_regular_file()) continue;
    const std::string ext = e.path().extension().string();
    if (ext == ".h" || ext == ".cc") files.push_back(e.path());
  }
  return files;
}

// The path inside an include line: `#include "a/b.h"` -> a/b.h, `#include <a/b.h>` -> a/b.h.
bool IncludedPath(const std::string& line, std::string* path, bool* quoted) {
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string::npos || line.compare(first, 8, "#include") != 0) return false;
  const size_t open = line.find_first_of("\"<", first + 8);
  if (open == std::string::npos) return false;
  *quoted = line[open] == '"';
  const size_t close = line.find(*quoted ? '"' : '>', open + 1);
  if (close == std::string::npos) return false;
  *path = line.substr(open + 1, close - open - 1);
  return true;
}

// Every include in `folder` that its rule does not allow, as "file:line: text".
std::vector<std::string> Offenders(const std::string& folder, const Rule& rule) {
  std::vector<std::string> hits;
  for (const auto& f : Sources(folder)) {
    std::ifstream in(f);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::string path;
      bool quoted = false;
      if (!IncludedPath(line, &path, &quoted)) continue;
      bool bad = false;
      if (quoted) {
        const std::string top = path.substr(0, path.find('/'));
        const bool internal = path.find("/internal/") != std::string::npos;
        bool allowed = top == folder;
        for (const auto& m : rule.may) allowed = allowed || top == m;
        // The tests' helpers are not sources; anything else outside the rule is wrong, and so
        // is another folder's internal/ header.
        bad = !allowed || (internal && top != folder);
      } else {
        for (const auto& m : rule.must_not) bad = bad || path.rfind(m, 0) == 0;
      }
      if (bad) {
        hits.push_back(fs::relative(f, kRoot).string() + ":" + std::to_string(n) + ": " + line);
      }
    }
  }
  return hits;
}

std::string Lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += "  " + l + "\n";
  return s;
}

TEST(FolderBoundariesTest, FindsEveryFolder) {
  for (const auto& [folder, rule] : Rules()) {
    EXPECT_GE(Sources(folder).size(), 2u) << "is the source directory right? " << kRoot / folder;
    EXPECT_TRUE(fs::exists(kRoot / folder / "README.md")) << folder << "/ needs a README.md";
  }
}

TEST(FolderBoundariesTest, EachFolderIncludesOnlyWhatItMay) {
  for (const auto& [folder, rule] : Rules()) {
    const auto hits = Offenders(folder, rule);
    EXPECT_TRUE(hits.empty()) << folder << "/ includes what it must not (see " << folder
                              << "/README.md):\n"
                              << Lines(hits);
  }
}

TEST(FolderBoundariesTest, TheCheckSeesAWrongInclude) {
  // Guard against a check that can never fail: server/ includes content/ headers, which
  // store/'s rule does not allow, and Boost, which content/'s rule does not allow.
  EXPECT_FALSE(Offenders("server", Rules().at("store")).empty());
  EXPECT_FALSE(Offenders("server", Rules().at("content")).empty());
}

}  // namespace
