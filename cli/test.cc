// backline test: runs the curators' golden conversation tests.
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/conversation_tests.h"
#include "content/content.h"

namespace backline::cli {

int RunTest(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  content::ContentPaths paths = content::DefaultContentPaths();
  std::vector<std::string> targets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--kb" || a == "--dialogs") {
      if (i + 1 >= args.size()) {
        err << "backline test: " << a << " needs a value\n";
        return 2;
      }
      (a == "--kb" ? paths.knowledge : paths.dialogs) = args[++i];
    } else if (a.rfind("--", 0) == 0) {
      err << "backline test: unknown option '" << a
          << "'\nusage: backline test [--kb DIR] [--dialogs DIR] "
             "[FILE_OR_DIR...]\n";
      return 2;
    } else {
      targets.push_back(a);
    }
  }
  if (targets.empty()) targets.push_back(paths.dialogs + "/tests");

  auto loaded = content::LoadContent(paths);
  if (!loaded.ok()) {
    err << "backline test: " << loaded.status().message() << "\n";
    return 2;
  }
  const std::shared_ptr<const content::Content> content = std::move(loaded).value();
  std::vector<std::string> missing;
  const std::vector<std::string> files = ExpandTestPaths(targets, &missing);
  for (const auto& m : missing) err << "backline test: no conversation test file at " << m << "\n";
  const int code = RunConversationTestFiles(*content, files, out);
  return missing.empty() ? code : 2;
}

}  // namespace backline::cli
