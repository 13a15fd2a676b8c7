// backline ask: JSON Lines in, one reply per line out (cli/commands.h).
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/internal/options.h"
#include "content/reply_json.h"
#include "engine/engine.h"

namespace backline::cli {

using internal::CommonOptions;
using internal::Load;
using internal::ParseOptions;
using json = nlohmann::json;

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
        const engine::TurnResult turn =
            content->engine->Turn(engine::SessionState{}, text->get<std::string>(), clinic,
                                  engine::TurnOptions{.explain = o.explain});
        json reply = content::ReplyToJson(turn.reply);
        reply["text"] = engine::Engine::WithReference(turn.reply.text, internal::kReferenceShown);
        for (auto it = reply.begin(); it != reply.end(); ++it) result[it.key()] = it.value();
        result["state"] = turn.state.state;
        if (o.explain) result["explain"] = content::ExplanationToJson(turn.explanation);
      }
    }
    out << result.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    out.flush();
  }
  return 0;
}

}  // namespace backline::cli
