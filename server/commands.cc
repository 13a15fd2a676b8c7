#include "server/commands.h"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "content/content.h"
#include "content/reply_json.h"
#include "engine/lint.h"
#include "server/config.h"
#include "server/server.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace backline::server {
namespace {

using json = nlohmann::json;

struct CommonOptions {
  content::ContentPaths paths = content::DefaultContentPaths();
  std::string clinic = "default";
  bool explain = false;
  bool strict = false;
};

// Parses the options every subcommand shares; false (with a message on err) on
// a bad one.
bool ParseOptions(const std::vector<std::string>& args, const char* command,
                  bool allow_explain, bool allow_strict, CommonOptions* o,
                  std::ostream& err) {
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
  std::vector<engine::Diagnostic> diags;
  auto content = content::LoadContent(o.paths, &diags);
  if (!content) {
    err << "backline " << command
        << ": the content has errors (run `backline check`):\n";
    for (const auto& d : diags) {
      if (d.severity == engine::Diagnostic::Severity::kError)
        err << "  " << d.ToString() << "\n";
    }
  }
  return content;
}

}  // namespace

int RunAsk(const std::vector<std::string>& args, std::istream& in,
           std::ostream& out, std::ostream& err) {
  CommonOptions o;
  if (!ParseOptions(args, "ask", true, false, &o, err)) return 2;
  auto content = Load(o, "ask", err);
  if (!content) return 2;
  const engine::Clinic& clinic = content->ClinicOrDefault(o.clinic);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    json result;
    json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (req.is_discarded()) {
      result["error"] =
          "invalid JSON: each line must be one object like {\"id\": \"1\", "
          "\"text\": \"...\"}";
    } else if (!req.is_object()) {
      result["error"] = "each line must be a JSON object";
    } else {
      if (req.contains("id")) result["id"] = req["id"];
      auto text = req.find("text");
      if (text == req.end()) {
        result["error"] = "missing field \"text\"";
      } else if (!text->is_string()) {
        result["error"] = "field \"text\" must be a string";
      } else {
        const engine::TurnResult turn = content->engine->Turn(
            engine::SessionState{}, text->get<std::string>(), clinic,
            engine::TurnOptions{.explain = o.explain});
        json reply = content::ReplyToJson(turn.reply);
        for (auto it = reply.begin(); it != reply.end(); ++it)
          result[it.key()] = it.value();
        result["state"] = turn.state.state;
        if (o.explain) result["explain"] = content::ExplanationToJson(turn.explanation);
      }
    }
    out << result.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    out.flush();
  }
  return 0;
}

int RunChat(const std::vector<std::string>& args, std::istream& in,
            std::ostream& out, std::ostream& err) {
  CommonOptions o;
  if (!ParseOptions(args, "chat", true, false, &o, err)) return 2;
  auto content = Load(o, "chat", err);
  if (!content) return 2;
  const engine::Clinic& clinic = content->ClinicOrDefault(o.clinic);
  const engine::Engine& eng = *content->engine;
  engine::SessionState state;
  std::vector<std::string> quick;

  auto show = [&](const engine::Reply& r) {
    if (r.urgency != engine::Urgency::kNone) {
      out << "\n!!! "
          << (r.urgency == engine::Urgency::kEmergency ? "EMERGENCY" : "URGENT")
          << " !!!\n";
    }
    out << "\nBackline: " << r.text << "\n";
    for (const auto& s : r.sources)
      out << "  source: " << s.title << " <" << s.url << ">\n";
    quick = r.quick_replies;
    for (size_t i = 0; i < quick.size(); ++i)
      out << "  [" << (i + 1) << "] " << quick[i] << "\n";
    out << "  (" << r.topic << ", urgency " << engine::UrgencyName(r.urgency)
        << ")\n";
  };

  out << "Backline chat. Type a question; a number picks a suggested reply; "
         "/quit leaves.\n";
  show(eng.Welcome(clinic));
  std::string line;
  while (true) {
    out << "\nyou> " << std::flush;
    if (!std::getline(in, line)) break;
    if (line == "/quit" || line == "/exit") break;
    if (line.empty()) continue;
    if (line == "/state") {
      out << "state: " << state.state << "\n";
      for (const auto& [k, v] : state.slots)
        out << "  slot " << k << " = " << v << "\n";
      continue;
    }
    if (line == "/explain") {
      o.explain = !o.explain;
      out << "explanations " << (o.explain ? "on" : "off") << "\n";
      continue;
    }
    // A bare number picks a quick reply.
    if (line.find_first_not_of("0123456789") == std::string::npos &&
        line.size() < 3) {
      const size_t n = static_cast<size_t>(std::stoi(line));
      if (n >= 1 && n <= quick.size()) {
        line = quick[n - 1];
        out << "you> " << line << "\n";
      }
    }
    engine::TurnResult turn = eng.Turn(state, line, clinic);
    state = turn.state;
    show(turn.reply);
    if (o.explain) out << content::ExplanationToJson(turn.explanation).dump(2) << "\n";
  }
  out << "\nGoodbye. In an emergency call " << clinic.emergency_number << ".\n";
  return 0;
}

int RunCheck(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
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
  if (lint.today.empty()) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    lint.today = buf;
  }
  std::vector<engine::Diagnostic> diags;
  auto content = content::LoadContent(o.paths, &diags);
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
  auto group = [&](engine::Diagnostic::Severity sev, const char* title,
                   size_t n) {
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
        << " red-flag rules, " << spec.intents.size() << " intents, "
        << spec.dialog.states.size() << " dialog states, "
        << content->clinics.size() << " clinics (reviews aged to "
        << lint.today << ")\n";
    if (const auto& cl = spec.classifier; cl.model) {
      out << "red-flag classifier: " << cl.model->version() << ", screens at "
          << cl.screen_threshold << ", escalates at " << cl.escalate_threshold
          << (cl.first_look.empty() ? "" : "; first look: " + cl.first_look)
          << "\n";
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

int RunServe(const std::vector<std::string>& args, std::ostream& err) {
  Config config;
  std::string config_file;
  // A --config file is read first, then the other options override it.
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") config_file = args[i + 1];
  }
  if (!config_file.empty()) {
    if (engine::Status s = Config::LoadFile(config_file, &config); !s.ok()) {
      err << "backline serve: " << s.message() << "\n";
      return 2;
    }
  }
  if (engine::Status s = Config::ApplyArgs(args, &config_file, &config); !s.ok()) {
    err << "backline serve: " << s.message() << "\n";
    return 2;
  }
  std::unique_ptr<store::Store> store;
  if (config.store == "memory") {
    auto memory = store::MemoryStore::Open();
    if (!memory.ok()) {
      err << "backline serve: " << memory.status().message() << "\n";
      return 2;
    }
    store = std::move(memory).value();
  } else {
    auto sqlite = store::SqliteStore::Open(config.database);
    if (!sqlite.ok()) {
      err << "backline serve: cannot open the database " << config.database << ": "
          << sqlite.status().message() << "\n";
      return 2;
    }
    store = std::move(sqlite).value();
  }
  auto server = Server::Create(config, std::move(store));
  if (!server.ok()) {
    err << "backline serve: " << server.status().message() << "\n";
    return 2;
  }
  return server.value()->Run();
}

int RunEval(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err) {
  CommonOptions o;
  std::vector<std::string> rest;
  std::string file;
  bool misses = false;
  double min_topic = 0, min_recall = 0, max_false_alarm = 100;
  // Reports answered below their tier, and reports answered with neither an
  // escalation nor the screening questions: none allowed unless a set says so.
  double max_under = 0, max_unscreened = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto number = [&](double* v) {
      if (i + 1 >= args.size()) return false;
      try {
        *v = std::stod(args[++i]);
      } catch (const std::exception&) {
        return false;
      }
      return true;
    };
    if (a == "--misses") {
      misses = true;
    } else if (a == "--min-topic" || a == "--min-recall" ||
               a == "--max-false-alarm") {
      double* v = a == "--min-topic"    ? &min_topic
                  : a == "--min-recall" ? &min_recall
                                        : &max_false_alarm;
      if (!number(v)) {
        err << "backline eval: " << a << " needs a number (percent)\n";
        return 2;
      }
    } else if (a == "--max-under-triage" || a == "--max-unscreened") {
      if (!number(a == "--max-under-triage" ? &max_under : &max_unscreened)) {
        err << "backline eval: " << a << " needs a number (reports)\n";
        return 2;
      }
    } else if (a.rfind("--", 0) == 0) {
      rest.push_back(a);
      if (i + 1 < args.size() && (a == "--kb" || a == "--dialogs"))
        rest.push_back(args[++i]);
    } else if (file.empty()) {
      file = a;
    } else {
      err << "backline eval: one labelled file at a time\n";
      return 2;
    }
  }
  if (file.empty()) {
    err << "usage: backline eval FILE.jsonl [--misses] [--min-topic PCT] "
           "[--min-recall PCT] "
           "[--max-false-alarm PCT] [--max-under-triage N] "
           "[--max-unscreened N]\n";
    return 2;
  }
  if (!ParseOptions(rest, "eval", false, false, &o, err)) return 2;
  std::ifstream in(file);
  if (!in) {
    err << "backline eval: cannot open " << file << "\n";
    return 2;
  }
  auto content = Load(o, "eval", err);
  if (!content) return 2;
  const engine::Clinic& clinic = content->ClinicOrDefault("default");

  std::map<std::string, std::pair<int, int>> per_topic;  // right, all
  int n = 0, flagged = 0, caught = 0, exact = 0, under = 0, unscreened = 0, benign = 0,
      false_alarm = 0;
  int topic_right = 0;
  std::vector<std::string> missed;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    json c = json::parse(line, nullptr, false);
    engine::Urgency want_u;
    if (c.is_discarded() || !c.is_object() || !c.contains("text") ||
        !c["text"].is_string() || !c.contains("topic") ||
        !c["topic"].is_string() || !c.contains("urgency") ||
        !c["urgency"].is_string() ||
        !engine::ParseUrgency(c["urgency"].get<std::string>(), &want_u)) {
      err << file << ":" << line_no
          << ": not a labelled case {id, text, topic, urgency}\n";
      return 2;
    }
    const std::string want_t = c["topic"].get<std::string>();
    const engine::TurnResult r = content->engine->Turn(
        engine::SessionState{}, c["text"].get<std::string>(), clinic);
    ++n;
    const bool ok_topic = r.reply.topic == want_t;
    topic_right += ok_topic;
    per_topic[want_t].second++;
    per_topic[want_t].first += ok_topic;
    if (want_u != engine::Urgency::kNone) {
      ++flagged;
      caught += r.reply.urgency != engine::Urgency::kNone;
      exact += r.reply.urgency == want_u;
      under += r.reply.urgency < want_u;
      unscreened +=
          r.reply.urgency == engine::Urgency::kNone && !r.reply.screening;
    } else {
      ++benign;
      false_alarm += r.reply.urgency != engine::Urgency::kNone;
    }
    if (!ok_topic || r.reply.urgency != want_u) {
      std::string id = c.contains("id")
                           ? (c["id"].is_string() ? c["id"].get<std::string>()
                                                  : c["id"].dump())
                           : "";
      missed.push_back(id + ": want " + want_t + "/" +
                       engine::UrgencyName(want_u) + ", got " + r.reply.topic +
                       "/" + engine::UrgencyName(r.reply.urgency) + ": " +
                       c["text"].get<std::string>().substr(0, 110));
    }
  }
  if (n == 0) {
    err << "backline eval: " << file << " has no cases\n";
    return 2;
  }
  for (const auto& [t, rk] : per_topic)
    out << t << " " << rk.first << "/" << rk.second << "\n";
  if (misses) {
    out << "misses:\n";
    for (const auto& m : missed) out << "  " << m << "\n";
  }
  const double topic_pct = 100.0 * topic_right / n;
  const double recall = flagged ? 100.0 * caught / flagged : 100.0;
  const double fa = benign ? 100.0 * false_alarm / benign : 0.0;
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "topic %.1f%% | red-flag recall %.1f%% (%d/%d) | exact tier %d/%d | "
      "under-triage %d (unscreened %d) | false alarms %.1f%% (%d/%d)",
      topic_pct, recall, caught, flagged, exact, flagged, under, unscreened,
      fa, false_alarm, benign);
  out << n << " cases from " << file << "\n" << buf << "\n";
  bool failed = false;
  if (topic_pct < min_topic) {
    out << "FAIL: topic accuracy " << topic_pct << "% < " << min_topic << "%\n";
    failed = true;
  }
  if (recall < min_recall) {
    out << "FAIL: red-flag recall " << recall << "% < " << min_recall << "%\n";
    failed = true;
  }
  if (fa > max_false_alarm) {
    out << "FAIL: false alarms " << fa << "% > " << max_false_alarm << "%\n";
    failed = true;
  }
  if (under > max_under) {
    out << "FAIL: " << under
        << " red flag(s) answered less urgently than labelled (at most "
        << max_under << ")\n";
    failed = true;
  }
  if (unscreened > max_unscreened) {
    out << "FAIL: " << unscreened
        << " red flag(s) answered with neither an escalation nor the screening "
           "questions (at most "
        << max_unscreened << ")\n";
    failed = true;
  }
  return failed ? 1 : 0;
}

}  // namespace backline::server
