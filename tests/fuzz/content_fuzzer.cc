// libFuzzer target: the content loaders on arbitrary file contents.
//
// The first byte chooses which kind of content file the rest of the input is (see kKinds):
// an FAQ file, synonyms.json, language.json, escalations.json, red_flags.json, the dialog
// flow, the intents or a clinic. The bytes are written as that one file into an otherwise
// empty temporary content folder and the folder is loaded with the real loader (the other,
// missing files are reported; that is expected). When the file itself loads without an error,
// what it held replaces its part of the shipped content, which is then compiled
// (Engine::Compile: patterns, the dialog graph, cross references) and, when that succeeds,
// asked a few messages. A clinic is used with the shipped engine instead.
// Invariants: no crash, no sanitizer report, and a load that fails says why (an error
// diagnostic).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "content/content.h"
#include "dialogs/loader.h"
#include "engine/content.h"
#include "engine/engine.h"
#include "knowledge/loader.h"

namespace {

namespace fs = std::filesystem;
using backline::engine::ContentSpec;
using backline::engine::Diagnostic;

enum class Part { kFaq, kSynonyms, kLanguage, kEscalations, kRedFlags, kFlow, kIntents, kClinic };

struct Kind {
  Part part;
  const char* folder;  // "knowledge" or "dialogs"
  const char* file;    // relative to the folder
};

constexpr Kind kKinds[] = {
    {Part::kFaq, "knowledge", "faq/fuzz.json"},
    {Part::kSynonyms, "knowledge", "synonyms.json"},
    {Part::kLanguage, "knowledge", "language.json"},
    {Part::kEscalations, "knowledge", "escalations.json"},
    {Part::kRedFlags, "knowledge", "red_flags.json"},
    {Part::kFlow, "dialogs", "flow.json"},
    {Part::kIntents, "dialogs", "intents.json"},
    {Part::kClinic, "dialogs", "clinics/fuzz.json"},
};
constexpr size_t kKindCount = sizeof(kKinds) / sizeof(kKinds[0]);

// The shipped content, loaded once: the parts a fuzzed file replaces, and an engine for clinics.
ContentSpec* g_shipped = nullptr;
std::shared_ptr<const backline::content::Content> g_content;
fs::path g_root;  // the temporary folder; one subfolder per kind

const char* kMessages[] = {
    "can i take ibuprofen with chemo",
    "i suddenly can't feel my legs and wet myself",
    "yes",
    "hello",
};

void Check(bool ok) {
  if (!ok) std::abort();
}

bool HasError(const std::vector<Diagnostic>& diags, const std::string& file) {
  for (const auto& d : diags) {
    if (d.severity == Diagnostic::Severity::kError && (file.empty() || d.where.file == file)) {
      return true;
    }
  }
  return false;
}

void RemoveTree() {
  std::error_code ec;
  if (!g_root.empty()) fs::remove_all(g_root, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const backline::content::ContentPaths paths = backline::content::DefaultContentPaths();
  std::vector<Diagnostic> diags;
  g_shipped = new ContentSpec;
  bool ok = backline::knowledge::LoadKnowledge(paths.knowledge, g_shipped, &diags);
  ok &= backline::dialogs::LoadDialogs(paths.dialogs, g_shipped, &diags);
  // The dictionaries' words (some 200,000) only keep spelling repair off real words; copying
  // and indexing them for every input would make this target a hundred times slower, and the
  // checks Compile makes do not depend on them.
  g_shipped->known_words.clear();
  auto loaded = backline::content::LoadContent(paths, &diags);
  if (loaded.ok()) g_content = std::move(loaded).value();
  if (!ok || !g_content) {
    for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::fprintf(stderr, "content_fuzzer: the shipped content did not load\n");
    std::abort();
  }
  std::string tmpl = (fs::temp_directory_path() / "backline-content-fuzz-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("content_fuzzer: mkdtemp");
    std::abort();
  }
  g_root = tmpl;
  std::atexit(RemoveTree);
  for (size_t i = 0; i < kKindCount; ++i) {
    fs::create_directories(g_root / std::to_string(i) / kKinds[i].folder /
                           fs::path(kKinds[i].file).parent_path());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t index = data[0] % kKindCount;
  const Kind& kind = kKinds[index];
  const fs::path folder = g_root / std::to_string(index) / kind.folder;
  const fs::path file = folder / kind.file;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    Check(static_cast<bool>(out));
  }
  const std::string display = file.lexically_normal().string();

  // 1. The file alone, through the real loader.
  std::vector<Diagnostic> diags;
  ContentSpec part;
  std::vector<backline::engine::Clinic> clinics;
  bool ok;
  if (kind.part == Part::kClinic) {
    ok = backline::dialogs::LoadClinics(folder.string(), &clinics, &diags);
  } else if (std::string(kind.folder) == "knowledge") {
    ok = backline::knowledge::LoadKnowledge(folder.string(), &part, &diags);
  } else {
    ok = backline::dialogs::LoadDialogs(folder.string(), &part, &diags);
  }
  if (!ok) Check(HasError(diags, ""));
  if (HasError(diags, display)) return 0;

  // 2. A clinic: the shipped engine greets and escalates with its details.
  if (kind.part == Part::kClinic) {
    Check(clinics.size() == 1);
    const backline::engine::Engine& engine = *g_content->engine;
    Check(!engine.Welcome(clinics[0]).text.empty());
    for (const char* m : kMessages) {
      Check(!engine.Turn(backline::engine::SessionState{}, m, clinics[0]).reply.text.empty());
    }
    return 0;
  }

  // 3. The part in place of the shipped one, compiled and asked a few messages.
  ContentSpec spec = *g_shipped;
  switch (kind.part) {
    case Part::kFaq:
      spec.entries.insert(spec.entries.end(), part.entries.begin(), part.entries.end());
      break;
    case Part::kSynonyms:
      spec.synonyms = std::move(part.synonyms);
      break;
    case Part::kLanguage:
      spec.language = std::move(part.language);
      spec.retrieval = std::move(part.retrieval);
      break;
    case Part::kEscalations:
      spec.red_flag_kinds = std::move(part.red_flag_kinds);
      break;
    case Part::kRedFlags:
      spec.red_flag_rules = std::move(part.red_flag_rules);
      break;
    case Part::kFlow:
      spec.dialog = std::move(part.dialog);
      break;
    case Part::kIntents:
      spec.intents = std::move(part.intents);
      break;
    case Part::kClinic:
      break;
  }
  std::vector<Diagnostic> compile_diags;
  auto engine = backline::engine::Engine::Compile(std::move(spec), &compile_diags);
  if (!engine) {
    Check(HasError(compile_diags, ""));
    return 0;
  }
  const backline::engine::Clinic& clinic = g_content->ClinicOrDefault("default");
  backline::engine::SessionState state;
  for (const char* m : kMessages) {
    const backline::engine::TurnResult r = engine->Turn(state, m, clinic);
    Check(!r.reply.text.empty());
    state = r.state;
  }
  return 0;
}
