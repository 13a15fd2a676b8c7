#include "cli/internal/options.h"

#include <ctime>
#include <vector>

namespace backline::cli::internal {

bool ParseOptions(const std::vector<std::string>& args, const char* command, bool allow_explain,
                  bool allow_strict, CommonOptions* o, std::ostream& err) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        err << "backline " << command << ": " << a << " needs a value\n";
        return false;
      }
      *out = args[++i];
      return true;
    };
    if (a == "--kb") {
      if (!value(&o->paths.knowledge)) return false;
    } else if (a == "--dialogs") {
      if (!value(&o->paths.dialogs)) return false;
    } else if (a == "--clinic" && allow_explain) {
      if (!value(&o->clinic)) return false;
    } else if (a == "--explain" && allow_explain) {
      o->explain = true;
    } else if (a == "--strict" && allow_strict) {
      o->strict = true;
    } else {
      err << "backline " << command << ": unknown option '" << a << "'\n";
      return false;
    }
  }
  return true;
}

std::shared_ptr<const content::Content> Load(const CommonOptions& o, const char* command,
                                             std::ostream& err) {
  auto content = content::LoadContent(o.paths);
  if (!content.ok()) {
    err << "backline " << command << ": " << content.status().message() << "\n";
    return nullptr;
  }
  return std::move(content).value();
}

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace backline::cli::internal
