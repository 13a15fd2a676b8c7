// backline report unanswered: the questions that went unanswered, grouped (server/
// unanswered_report.h). Reads the database file directly, so it shows patient text to
// whoever can read that file (operator access).
#include <ctime>
#include <filesystem>
#include <future>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "content/content.h"
#include "curator/unanswered_report.h"
#include "store/sqlite_store.h"

namespace backline::cli {
namespace {

// "2026-11-01" -> Unix milliseconds at 00:00 UTC; false unless a real date.
bool ParseDate(const std::string& s, int64_t* ms) {
  int y = 0, m = 0, d = 0;
  char extra = 0;
  if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3) {
    return false;
  }
  if (m < 1 || m > 12 || d < 1 || y < 1970) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  *ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  return true;
}

int RunReportUnanswered(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err) {
  content::ContentPaths paths = content::DefaultContentPaths();
  std::string database = "backline.db";
  int64_t since_ms = 0;
  size_t limit = 50;
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= args.size()) {
        err << "backline report unanswered: " << a << " needs a value\n";
        return false;
      }
      *v = args[++i];
      return true;
    };
    std::string v;
    if (a == "--database" || a == "--db") {
      if (!value(&database)) return 2;
    } else if (a == "--since") {
      if (!value(&v)) return 2;
      if (!ParseDate(v, &since_ms)) {
        err << "backline report unanswered: --since wants a date YYYY-MM-DD, not '" << v << "'\n";
        return 2;
      }
    } else if (a == "--limit") {
      if (!value(&v)) return 2;
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1) {
        err << "backline report unanswered: --limit wants a number >= 1, not '" << v << "'\n";
        return 2;
      }
      limit = static_cast<size_t>(n);
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--kb") {
      if (!value(&paths.knowledge)) return 2;
    } else if (a == "--dialogs") {
      if (!value(&paths.dialogs)) return 2;
    } else {
      err << "backline report unanswered: unknown option '" << a << "'\n";
      return 2;
    }
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(database, ec)) {
    err << "backline report unanswered: no database at " << database
        << " (--database FILE: the one `backline serve --db` writes)\n";
    return 2;
  }
  // The analyser of the content, so grouping normalises exactly as a turn does.
  auto loaded = content::LoadContent(paths);
  if (!loaded.ok()) {
    err << "backline report unanswered: the content has errors (run `backline check`)\n";
    return 2;
  }
  const std::shared_ptr<const content::Content> content = std::move(loaded).value();
  auto store = store::SqliteStore::Open(database);
  if (!store.ok()) {
    err << "backline report unanswered: " << store.status().ToString() << "\n";
    return 2;
  }
  std::promise<engine::StatusOr<std::vector<store::UnansweredRecord>>> got;
  store.value()->Unanswered(since_ms, 1000000,
                            [&got](auto result) { got.set_value(std::move(result)); });
  auto records = got.get_future().get();
  if (!records.ok()) {
    err << "backline report unanswered: " << records.status().ToString() << "\n";
    return 2;
  }
  const auto groups = curator::GroupUnanswered(content->engine->analyzer(), records.value(), limit);
  if (as_json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& g : groups) {
      j.push_back({{"count", g.count},
                   {"example", g.example},
                   {"variants", g.variants},
                   {"key", g.key},
                   {"first_ms", g.first_ms},
                   {"last_ms", g.last_ms}});
    }
    out << j.dump(2) << "\n";
  } else {
    out << curator::FormatUnansweredTable(groups);
  }
  return 0;
}

}  // namespace

int RunReport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "unanswered") {
    err << "usage: backline report unanswered [--since YYYY-MM-DD] [--database FILE] "
           "[--limit N] [--json] [--kb DIR] [--dialogs DIR]\n";
    return 2;
  }
  return RunReportUnanswered(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
}

}  // namespace backline::cli
