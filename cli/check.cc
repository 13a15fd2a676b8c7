// backline check: load, compile and lint the content (cli/commands.h).
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/internal/options.h"
#include "content/content.h"
#include "engine/lint.h"

namespace backline::cli {

using internal::CommonOptions;
using internal::ParseOptions;

int RunCheck(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  // --today DATE (YYYY-MM-DD) ages reviews against another day (tests, or to
  // see what falls due next month); the default is today's UTC date.
  std::vector<std::string> rest;
  engine::LintOptions lint;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--today") {
      long days = 0;
      if (i + 1 >= args.size() || !engine::DaysFromCivil(args[i + 1], &days)) {
        err << "backline check: --today needs a date like 2026-11-26\n";
        return 2;
      }
      lint.today = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  CommonOptions o;
  if (!ParseOptions(rest, "check", false, true, &o, err)) return 2;
  if (lint.today.empty()) lint.today = internal::TodayUtc();
  std::vector<engine::Diagnostic> diags;
  auto loaded = content::LoadContent(o.paths, &diags);
  const std::shared_ptr<const content::Content> content =
      loaded.ok() ? std::move(loaded).value() : nullptr;
  // The content lint runs on compiled content only; its findings are counted
  // per check for the summary.
  std::map<std::string, size_t> per_check;
  if (content) {
    for (auto& f : engine::Lint(*content->engine, lint)) {
      ++per_check[f.check];
      diags.push_back(std::move(f.diag));
    }
  }
  size_t errors = 0, warnings = 0;
  for (const auto& d : diags) {
    (d.severity == engine::Diagnostic::Severity::kError ? errors : warnings)++;
  }
  auto group = [&](engine::Diagnostic::Severity sev, const char* title, size_t n) {
    if (!n) return;
    out << "== " << title << " (" << n << ") ==\n";
    for (const auto& d : diags) {
      if (d.severity == sev) out << d.ToString() << "\n";
    }
    out << "\n";
  };
  group(engine::Diagnostic::Severity::kError, "errors", errors);
  group(engine::Diagnostic::Severity::kWarning, "warnings", warnings);
  if (content) {
    const auto& spec = content->engine->content();
    out << "checked " << o.paths.knowledge << " and " << o.paths.dialogs << ": "
        << spec.entries.size() << " FAQ entries, " << spec.red_flag_rules.size()
        << " red-flag rules, " << spec.intents.size() << " intents, " << spec.dialog.states.size()
        << " dialog states, " << content->clinics.size() << " clinics (reviews aged to "
        << lint.today << ")\n";
    if (const auto& cl = spec.classifier; cl.model) {
      out << "red-flag classifier: " << cl.model->version() << ", screens at "
          << cl.screen_threshold << ", escalates at " << cl.escalate_threshold
          << (cl.first_look.empty() ? "" : "; first look: " + cl.first_look) << "\n";
    }
    if (!per_check.empty()) {
      out << "content lint:";
      const char* sep = " ";
      for (const auto& [check, n] : per_check) {
        out << sep << check << " " << n;
        sep = ", ";
      }
      out << "\n";
    }
  } else {
    out << "the content has errors: the content lint did not run\n";
  }
  out << errors << " error(s), " << warnings << " warning(s)\n";
  if (errors || !content) return 1;
  return o.strict && warnings ? 1 : 0;
}

}  // namespace backline::cli
