// Loading all content (knowledge base, dialog scripts, clinics) into one
// compiled snapshot.
//
// Used by every subcommand and by reloads: a reload builds a new Content and
// swaps the pointer; a Content that failed to load is never swapped in.
#ifndef BACKLINE_SERVER_CONTENT_H_
#define BACKLINE_SERVER_CONTENT_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace backline::server {

struct Content {
  std::shared_ptr<const engine::Engine> engine;
  std::vector<engine::Clinic> clinics;

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

// Loads and compiles. All problems go to diags (errors and warnings). Returns
// nullptr when any is an error.
std::shared_ptr<const Content> LoadContent(
    const ContentPaths& paths, std::vector<engine::Diagnostic>* diags);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_CONTENT_H_
