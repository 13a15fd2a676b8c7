// Reading curated JSON files (shared by knowledge/ and dialogs/) with the line
// and column of every value.
//
// nlohmann::json parses (comments allowed) but forgets where values were.
// JsonFile also scans the text once and records the position of every value by
// its JSON pointer ("/entries/3/id"), so a loader can say
// "knowledge/faq/opioids.json:41:7: duplicate entry id".
#ifndef BACKLINE_KNOWLEDGE_JSON_FILE_H_
#define BACKLINE_KNOWLEDGE_JSON_FILE_H_

#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/status.h"

namespace backline::knowledge {

class JsonFile {
 public:
  // Content files are small and shallow (the largest shipped one is under 64 KiB,
  // the deepest 6 levels). Bounds well above both keep a pathological file
  // (a nesting 50,000 deep, a 2 GB file) a located error, not an exhausted
  // stack or memory in a server reloading its content.
  static constexpr size_t kMaxBytes = 8u << 20;
  static constexpr int kMaxDepth = 64;

  // Reads and parses `path`; `display` is the name used in messages (a relative
  // path). A syntax error becomes a Diagnostic with the line and column of the
  // error.
  static bool Load(const std::string& path, const std::string& display, JsonFile* out,
                   std::vector<engine::Diagnostic>* diags);
  // Parses text already in memory (tests, the curator API).
  static bool Parse(std::string text, const std::string& display, JsonFile* out,
                    std::vector<engine::Diagnostic>* diags);

  const nlohmann::json& root() const { return root_; }
  const std::string& name() const { return name_; }

  // The location of the value at `pointer` ("" is the root); the closest known
  // ancestor when the pointer is not found.
  engine::SourceLocation At(const std::string& pointer) const;

 private:
  void Index();

  std::string name_;
  std::string text_;
  nlohmann::json root_;
  std::unordered_map<std::string, std::pair<int, int>> positions_;
};

// Helpers for reading typed fields with located errors. Each reports a problem
// to diags and returns false (leaving *out unchanged) when the field has the
// wrong type; a missing optional field is not an error.
bool GetString(const JsonFile& f, const nlohmann::json& obj, const std::string& pointer,
               const char* key, bool required, std::string* out,
               std::vector<engine::Diagnostic>* diags);
// The optional key `key` of obj: a list of concept combinations, each a list of
// concept ids ([["lower-limb", "loss-of-power"]]), with where each one is.
bool GetCombinations(const JsonFile& f, const nlohmann::json& obj, const std::string& ptr,
                     const char* key, std::vector<std::vector<std::string>>* out,
                     std::vector<engine::SourceLocation>* where,
                     std::vector<engine::Diagnostic>* diags);

bool GetStrings(const JsonFile& f, const nlohmann::json& obj, const std::string& pointer,
                const char* key, bool required, std::vector<std::string>* out,
                std::vector<engine::SourceLocation>* where, std::vector<engine::Diagnostic>* diags);
// Warns about keys not in `known` (a likely typo such as "questoins").
void CheckKeys(const JsonFile& f, const nlohmann::json& obj, const std::string& pointer,
               std::initializer_list<const char*> known, std::vector<engine::Diagnostic>* diags);
void Error(std::vector<engine::Diagnostic>* diags, engine::SourceLocation where, std::string msg);

// The list under `key` of a file shaped {"key": [...]}: nullptr, with the error
// `shape`, when the file is shaped otherwise. Top-level keys other than
// `root_keys` are warned about.
const nlohmann::json* ListUnder(const JsonFile& f, const char* key, const char* shape,
                                std::initializer_list<const char*> root_keys,
                                std::vector<engine::Diagnostic>* diags);
// True when `item` is an object; otherwise reports "<what> must be an object"
// at `pointer`.
bool IsObjectItem(const JsonFile& f, const nlohmann::json& item, const std::string& pointer,
                  const char* what, std::vector<engine::Diagnostic>* diags);

}  // namespace backline::knowledge

#endif  // BACKLINE_KNOWLEDGE_JSON_FILE_H_
