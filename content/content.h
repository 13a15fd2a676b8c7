// Loading all content (knowledge base, dialog scripts, clinics) into one
// compiled snapshot.
//
// Used by every subcommand and by reloads: a reload builds a new Content and
// swaps the pointer; a Content that failed to load is never swapped in.
#ifndef BACKLINE_CONTENT_CONTENT_H_
#define BACKLINE_CONTENT_CONTENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/status.h"

namespace backline::content {

// What is loaded: reported by /healthz and after every curator edit.
struct ContentStatus {
  // Lowercase hex SHA-256 over every content file's path (relative to its
  // folder) and bytes, in path order: the same files give the same version.
  std::string version;
  int64_t loaded_ms = 0;  // Unix time, milliseconds, when LoadContent finished
  size_t entries = 0;     // FAQ entries
  size_t topics = 0;      // distinct topics among the FAQ entries
  size_t red_flag_kinds = 0;
  size_t red_flag_rules = 0;
  size_t intents = 0;
  size_t states = 0;  // dialog states
  size_t clinics = 0;
};

struct Content {
  std::shared_ptr<const engine::Engine> engine;
  std::vector<engine::Clinic> clinics;
  ContentStatus status;

  // The clinic with this id, or the default clinic.
  const engine::Clinic& ClinicOrDefault(const std::string& id) const;
};

struct ContentPaths {
  std::string knowledge;  // folder
  std::string dialogs;    // folder
};

// The shipped folders: ./knowledge and ./dialogs when run from the project
// root, else $BACKLINE_HOME/{knowledge,dialogs}, else the source tree the
// binary was built from.
ContentPaths DefaultContentPaths();

// The content version of these folders: a lowercase hex SHA-256 over every *.json file
// under them (recursively), each as its path ("knowledge/faq/sleep.json"), its size and its
// bytes, in path order. Unreadable files count as empty.
std::string ContentVersion(const ContentPaths& paths);

// Lowercase hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// Loads and compiles. Fills Content::status. Every problem found (errors and warnings) is
// appended to `diags` when it is not null. Any error: kDataError, whose message is
// "the content has errors (run `backline check`):" followed by each error on a line of its own
// ("\n  file:line:column: message"), ready to print; a Content that failed never comes back.
engine::StatusOr<std::shared_ptr<const Content>> LoadContent(
    const ContentPaths& paths, std::vector<engine::Diagnostic>* diags = nullptr);

}  // namespace backline::content

#endif  // BACKLINE_CONTENT_CONTENT_H_
