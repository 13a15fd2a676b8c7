// The engine stays a pure library (shared/docs/style.md, "Layout"): engine/ sees only re2 and
// the standard library. This test greps engine/ (like Ada's just_ascii check) so a stray
// include of Boost, SQLite or nlohmann_json fails CI. It has no header under test.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/build_paths.h"

namespace {

namespace fs = std::filesystem;

const fs::path kEngineDir = fs::path(backline::build::kSourceDir) / "engine";

std::vector<fs::path> EngineSources() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kEngineDir)) {
    if (!e.is_regular_file()) continue;
    const std::string ext = e.path().extension().string();
    if (ext == ".h" || ext == ".cc" || ext == ".cpp" || ext == ".hpp" || ext == ".inc") {
      files.push_back(e.path());
    }
  }
  return files;
}

// Every line of `files` that starts with `prefix` (after spaces) and mentions one of
// `needles`, as "file:line: text". Comment lines (# in CMake) are skipped.
std::vector<std::string> Offenders(const std::vector<fs::path>& files,
                                   const std::vector<std::string>& needles,
                                   const std::string& prefix = "") {
  std::vector<std::string> hits;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const size_t first = line.find_first_not_of(" \t");
      if (first == std::string::npos || (line[first] == '#' && prefix.empty())) continue;
      if (line.compare(first, prefix.size(), prefix) != 0) continue;
      for (const auto& needle : needles) {
        if (line.find(needle) != std::string::npos) {
          hits.push_back(fs::relative(f, backline::build::kSourceDir).string() + ":" +
                         std::to_string(n) + ": " + line);
        }
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

TEST(EngineBoundaryTest, FindsTheEngineSources) {
  const auto files = EngineSources();
  EXPECT_GE(files.size(), 10u) << "is the source directory right? " << kEngineDir;
  EXPECT_TRUE(fs::exists(kEngineDir / "engine.h"));
}

TEST(EngineBoundaryTest, NoBoostSqliteOrJsonIncludes) {
  const auto hits = Offenders(
      EngineSources(), {"boost/", "sqlite3.h", "nlohmann", "asio", "beast", "<json"}, "#include");
  EXPECT_TRUE(hits.empty()) << "engine/ must stay a pure library; found:\n" << Lines(hits);
}

TEST(EngineBoundaryTest, IncludesOnlyEngineHeadersFromTheProject) {
  std::vector<std::string> hits;
  for (const auto& line : Offenders(EngineSources(), {"\""}, "#include")) {
    if (line.find("#include \"engine/") == std::string::npos) hits.push_back(line);
  }
  EXPECT_TRUE(hits.empty()) << "engine/ may include only engine/ headers:\n" << Lines(hits);
}

TEST(EngineBoundaryTest, TheCheckSeesAnInclude) {
  // Guard against a check that can never fail: engine/engine.h includes engine/ headers.
  EXPECT_FALSE(Offenders({kEngineDir / "engine.h"}, {"engine/"}, "#include").empty());
}

TEST(EngineBoundaryTest, CMakeTargetLinksOnlyRe2) {
  const auto hits = Offenders({kEngineDir / "CMakeLists.txt"},
                              {"Boost", "SQLite", "sqlite", "nlohmann", "Threads"});
  EXPECT_TRUE(hits.empty()) << Lines(hits);
}

}  // namespace
