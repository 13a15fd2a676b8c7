// What the subcommands that load the content share: the content options (--kb, --dialogs,
// --clinic, --explain, --strict) and loading with the errors printed. CLI-private.
#ifndef BACKLINE_CLI_INTERNAL_OPTIONS_H_
#define BACKLINE_CLI_INTERNAL_OPTIONS_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "content/content.h"

namespace backline::cli::internal {

// What the commands show where a reply holds a callback request's reference
// (engine::Engine::kReferencePlaceholder): only the server assigns references, once the
// request is stored.
inline constexpr std::string_view kReferenceShown = "(your reference will be shown here)";

struct CommonOptions {
  content::ContentPaths paths = content::DefaultContentPaths();
  std::string clinic = "default";
  bool explain = false;
  bool strict = false;
};

// Parses the options every subcommand shares; false (with a message on err) on
// a bad one.
bool ParseOptions(const std::vector<std::string>& args, const char* command, bool allow_explain,
                  bool allow_strict, CommonOptions* o, std::ostream& err);

// The content of `o.paths`, or null after printing its errors on err as
// "backline <command>: the content has errors ...".
std::shared_ptr<const content::Content> Load(const CommonOptions& o, const char* command,
                                             std::ostream& err);

// Today's date in UTC as YYYY-MM-DD: what --today defaults to (check, export review).
std::string TodayUtc();

}  // namespace backline::cli::internal

#endif  // BACKLINE_CLI_INTERNAL_OPTIONS_H_
