#include "server/commands.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "server/content.h"
#include "server/reply_json.h"

namespace backline::server {
namespace {

using json = nlohmann::json;

struct CommonOptions {
  ContentPaths paths = DefaultContentPaths();
  std::string clinic = "default";
  bool explain = false;
  bool strict = false;
};

// Parses the options every subcommand shares; false (with a message on err) on a bad one.
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

std::shared_ptr<const Content> Load(const CommonOptions& o, const char* command,
                                    std::ostream& err) {
  std::vector<engine::Diagnostic> diags;
  auto content = LoadContent(o.paths, &diags);
  if (!content) {
    err << "backline " << command << ": the content has errors (run `backline check`):\n";
    for (const auto& d : diags) {
      if (d.severity == engine::Diagnostic::Severity::kError) err << "  " << d.ToString() << "\n";
    }
  }
  return content;
}

}  // namespace

int RunAsk(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err) {
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
      result["error"] = "invalid JSON: each line must be one object like {\"id\": \"1\", \"text\": \"...\"}";
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
        const engine::TurnResult turn =
            content->engine->Turn(engine::SessionState{}, text->get<std::string>(), clinic);
        json reply = ReplyToJson(turn.reply);
        for (auto it = reply.begin(); it != reply.end(); ++it) result[it.key()] = it.value();
        result["state"] = turn.state.state;
        if (o.explain) result["explain"] = ExplanationToJson(turn.explanation);
      }
    }
    out << result.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    out.flush();
  }
  return 0;
}

int RunChat(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err) {
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
      out << "\n!!! " << (r.urgency == engine::Urgency::kEmergency ? "EMERGENCY" : "URGENT")
          << " !!!\n";
    }
    out << "\nBackline: " << r.text << "\n";
    for (const auto& s : r.sources) out << "  source: " << s.title << " <" << s.url << ">\n";
    quick = r.quick_replies;
    for (size_t i = 0; i < quick.size(); ++i) out << "  [" << (i + 1) << "] " << quick[i] << "\n";
    out << "  (" << r.topic << ", urgency " << engine::UrgencyName(r.urgency) << ")\n";
  };

  out << "Backline chat. Type a question; a number picks a suggested reply; /quit leaves.\n";
  show(eng.Welcome(clinic));
  std::string line;
  while (true) {
    out << "\nyou> " << std::flush;
    if (!std::getline(in, line)) break;
    if (line == "/quit" || line == "/exit") break;
    if (line.empty()) continue;
    if (line == "/state") {
      out << "state: " << state.state << "\n";
      for (const auto& [k, v] : state.slots) out << "  slot " << k << " = " << v << "\n";
      continue;
    }
    if (line == "/explain") {
      o.explain = !o.explain;
      out << "explanations " << (o.explain ? "on" : "off") << "\n";
      continue;
    }
    // A bare number picks a quick reply.
    if (line.find_first_not_of("0123456789") == std::string::npos && line.size() < 3) {
      const size_t n = static_cast<size_t>(std::stoi(line));
      if (n >= 1 && n <= quick.size()) {
        line = quick[n - 1];
        out << "you> " << line << "\n";
      }
    }
    engine::TurnResult turn = eng.Turn(state, line, clinic);
    state = turn.state;
    show(turn.reply);
    if (o.explain) out << ExplanationToJson(turn.explanation).dump(2) << "\n";
  }
  out << "\nGoodbye. In an emergency call " << clinic.emergency_number << ".\n";
  return 0;
}

int RunCheck(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CommonOptions o;
  if (!ParseOptions(args, "check", false, true, &o, err)) return 2;
  std::vector<engine::Diagnostic> diags;
  auto content = LoadContent(o.paths, &diags);
  size_t errors = 0, warnings = 0;
  for (const auto& d : diags) {
    (d.severity == engine::Diagnostic::Severity::kError ? errors : warnings)++;
  }
  if (errors) {
    out << "errors:\n";
    for (const auto& d : diags) {
      if (d.severity == engine::Diagnostic::Severity::kError) out << "  " << d.ToString() << "\n";
    }
  }
  if (warnings) {
    out << "warnings:\n";
    for (const auto& d : diags) {
      if (d.severity == engine::Diagnostic::Severity::kWarning) out << "  " << d.ToString() << "\n";
    }
  }
  if (content) {
    const auto& spec = content->engine->content();
    out << "checked " << o.paths.knowledge << " and " << o.paths.dialogs << ": "
        << spec.entries.size() << " FAQ entries, " << spec.red_flag_rules.size()
        << " red-flag rules, " << spec.intents.size() << " intents, " << spec.dialog.states.size()
        << " dialog states, " << content->clinics.size() << " clinics\n";
  }
  out << errors << " error(s), " << warnings << " warning(s)\n";
  if (errors || !content) return 1;
  return o.strict && warnings ? 1 : 0;
}

}  // namespace backline::server
