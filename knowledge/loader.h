// Loads the curated knowledge base (this folder's files) into an
// engine::ContentSpec.
//
//   std::vector<engine::Diagnostic> diags;
//   engine::ContentSpec spec;
//   bool ok = knowledge::LoadKnowledge("knowledge", &spec, &diags);
//
// Reads faq/*.json (in name order), synonyms.json, language.json,
// red_flags.json and escalations.json. Every problem is reported with file,
// line and column; loading goes on after an error so one run lists them all.
// Returns false when any error was found (the spec is then incomplete and must
// not be compiled). Semantic checks that need the whole content (duplicate ids
// across files, patterns that do not compile) happen in
// engine::Engine::Compile, with the locations recorded here.
//
// Thread safety: no shared state; call from any thread.
#ifndef BACKLINE_KNOWLEDGE_LOADER_H_
#define BACKLINE_KNOWLEDGE_LOADER_H_

#include <string>
#include <vector>

#include "engine/content.h"
#include "engine/status.h"

namespace backline::knowledge {

bool LoadKnowledge(const std::string& dir, engine::ContentSpec* spec,
                   std::vector<engine::Diagnostic>* diags);

// The parts, for tests and for the curator API's validation of one edited file.
bool LoadFaqFile(const std::string& path, const std::string& display,
                 std::vector<engine::FaqEntry>* out, std::vector<engine::Diagnostic>* diags);
bool LoadFaqText(std::string text, const std::string& display, std::vector<engine::FaqEntry>* out,
                 std::vector<engine::Diagnostic>* diags);

}  // namespace backline::knowledge

#endif  // BACKLINE_KNOWLEDGE_LOADER_H_
