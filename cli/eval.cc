// backline eval: score the content on a labelled message set (cli/commands.h).
#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/internal/options.h"
#include "engine/engine.h"

namespace backline::cli {

using internal::CommonOptions;
using internal::Load;
using internal::ParseOptions;
using json = nlohmann::json;

int RunEval(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
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
    } else if (a == "--min-topic" || a == "--min-recall" || a == "--max-false-alarm") {
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
      if (i + 1 < args.size() && (a == "--kb" || a == "--dialogs")) rest.push_back(args[++i]);
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
    if (c.is_discarded() || !c.is_object() || !c.contains("text") || !c["text"].is_string() ||
        !c.contains("topic") || !c["topic"].is_string() || !c.contains("urgency") ||
        !c["urgency"].is_string() ||
        !engine::ParseUrgency(c["urgency"].get<std::string>(), &want_u)) {
      err << file << ":" << line_no << ": not a labelled case {id, text, topic, urgency}\n";
      return 2;
    }
    const std::string want_t = c["topic"].get<std::string>();
    const engine::TurnResult r =
        content->engine->Turn(engine::SessionState{}, c["text"].get<std::string>(), clinic);
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
      unscreened += r.reply.urgency == engine::Urgency::kNone && !r.reply.screening;
    } else {
      ++benign;
      false_alarm += r.reply.urgency != engine::Urgency::kNone;
    }
    if (!ok_topic || r.reply.urgency != want_u) {
      std::string id = c.contains("id")
                           ? (c["id"].is_string() ? c["id"].get<std::string>() : c["id"].dump())
                           : "";
      missed.push_back(id + ": want " + want_t + "/" + engine::UrgencyName(want_u) + ", got " +
                       r.reply.topic + "/" + engine::UrgencyName(r.reply.urgency) + ": " +
                       c["text"].get<std::string>().substr(0, 110));
    }
  }
  if (n == 0) {
    err << "backline eval: " << file << " has no cases\n";
    return 2;
  }
  for (const auto& [t, rk] : per_topic) out << t << " " << rk.first << "/" << rk.second << "\n";
  if (misses) {
    out << "misses:\n";
    for (const auto& m : missed) out << "  " << m << "\n";
  }
  const double topic_pct = 100.0 * topic_right / n;
  const double recall = flagged ? 100.0 * caught / flagged : 100.0;
  const double fa = benign ? 100.0 * false_alarm / benign : 0.0;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "topic %.1f%% | red-flag recall %.1f%% (%d/%d) | exact tier %d/%d | "
                "under-triage %d (unscreened %d) | false alarms %.1f%% (%d/%d)",
                topic_pct, recall, caught, flagged, exact, flagged, under, unscreened, fa,
                false_alarm, benign);
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
    out << "FAIL: " << under << " red flag(s) answered less urgently than labelled (at most "
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

}  // namespace backline::cli
