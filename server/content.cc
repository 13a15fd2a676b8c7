#include "server/content.h"

#include <cstdlib>
#include <filesystem>

#include "dialogs/loader.h"
#include "knowledge/loader.h"

namespace backline::server {
namespace fs = std::filesystem;

const engine::Clinic& Content::ClinicOrDefault(const std::string& id) const {
  const engine::Clinic* fallback = nullptr;
  for (const auto& c : clinics) {
    if (c.id == id) return c;
    if (c.id == "default") fallback = &c;
  }
  static const engine::Clinic kBuiltIn;
  return fallback ? *fallback : kBuiltIn;
}

ContentPaths DefaultContentPaths() {
  std::error_code ec;
  auto both = [&](const fs::path& root) {
    return fs::is_directory(root / "knowledge", ec) &&
           fs::is_directory(root / "dialogs", ec);
  };
  fs::path root = ".";
  if (!both(root)) {
    if (const char* home = std::getenv("BACKLINE_HOME"); home && both(home)) {
      root = home;
    } else {
#ifdef BACKLINE_SOURCE_DIR
      if (both(BACKLINE_SOURCE_DIR)) root = BACKLINE_SOURCE_DIR;
#endif
    }
  }
  return ContentPaths{(root / "knowledge").lexically_normal().string(),
                      (root / "dialogs").lexically_normal().string()};
}

std::shared_ptr<const Content> LoadContent(
    const ContentPaths& paths, std::vector<engine::Diagnostic>* diags) {
  engine::ContentSpec spec;
  auto content = std::make_shared<Content>();
  bool ok = knowledge::LoadKnowledge(paths.knowledge, &spec, diags);
  ok &= dialogs::LoadDialogs(paths.dialogs, &spec, diags);
  ok &= dialogs::LoadClinics(paths.dialogs, &content->clinics, diags);
  if (!ok) return nullptr;
  content->engine = engine::Engine::Compile(std::move(spec), diags);
  if (!content->engine) return nullptr;
  return content;
}

}  // namespace backline::server
