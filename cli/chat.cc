// backline chat: a conversation on the terminal (cli/commands.h).
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/internal/options.h"
#include "content/reply_json.h"
#include "engine/engine.h"

namespace backline::cli {

using internal::CommonOptions;
using internal::Load;
using internal::ParseOptions;

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
    out << "\nBackline: " << engine::Engine::WithReference(r.text, internal::kReferenceShown)
        << "\n";
    if (r.callback) {
      out << "  (callback request for the clinic: " << r.callback->first_name << ", "
          << r.callback->phone_e164 << ", best time \"" << r.callback->best_time << "\")\n";
    }
    for (const auto& s : r.sources) out << "  source: " << s.title << " <" << s.url << ">\n";
    quick = r.quick_replies;
    for (size_t i = 0; i < quick.size(); ++i) out << "  [" << (i + 1) << "] " << quick[i] << "\n";
    out << "  (" << r.topic << ", urgency " << engine::UrgencyName(r.urgency) << ")\n";
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
    if (o.explain) out << content::ExplanationToJson(turn.explanation).dump(2) << "\n";
  }
  out << "\nGoodbye. In an emergency call " << clinic.emergency_number << ".\n";
  return 0;
}

}  // namespace backline::cli
