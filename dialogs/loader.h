// Loads the dialog scripts (this folder's files) into an engine::ContentSpec,
// and the clinic configurations.
//
// Reads flow.json (states, transitions, slots, messages, yes/no answers),
// intents.json (global intents) and clinics/*.json. Every problem is reported
// with file, line and column; loading goes on after an error so one run lists
// them all. Returns false on any error. Graph checks (unreachable states,
// states with no way out) happen in engine::Engine::Compile with the locations
// recorded here.
//
// Thread safety: no shared state; call from any thread.
#ifndef BACKLINE_DIALOGS_LOADER_H_
#define BACKLINE_DIALOGS_LOADER_H_

#include <string>
#include <vector>

#include "engine/content.h"
#include "engine/status.h"

namespace backline::dialogs {

bool LoadDialogs(const std::string& dir, engine::ContentSpec* spec,
                 std::vector<engine::Diagnostic>* diags);

// Loads clinics/*.json; checks ids are unique and a "default" clinic exists.
bool LoadClinics(const std::string& dir, std::vector<engine::Clinic>* clinics,
                 std::vector<engine::Diagnostic>* diags);

}  // namespace backline::dialogs

#endif  // BACKLINE_DIALOGS_LOADER_H_
