#include "content/reply_json.h"

#include <cmath>

namespace backline::content {

using json = nlohmann::json;

namespace {
double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }
}  // namespace

json ReplyToJson(const engine::Reply& r) {
  json j;
  j["topic"] = r.topic;
  j["urgency"] = engine::UrgencyName(r.urgency);
  j["text"] = r.text;
  j["kind"] = engine::ReplyKindName(r.kind);
  if (!r.entry_id.empty()) j["entry"] = r.entry_id;
  if (!r.intent_id.empty()) j["intent"] = r.intent_id;
  if (!r.red_flag_kind.empty()) j["red_flag"] = r.red_flag_kind;
  if (!r.tell_them.empty()) j["tell_them"] = r.tell_them;
  if (r.score > 0) j["score"] = Round3(r.score);
  if (!r.quick_replies.empty()) j["quick_replies"] = r.quick_replies;
  if (r.screening) j["screening"] = true;
  // Only that a request was made: its name and number go to the clinic through the server's
  // own record of it, never into the reply's copies (the wire, the transcript).
  if (r.callback) j["callback_request"] = true;
  if (!r.sources.empty()) {
    json sources = json::array();
    for (const auto& s : r.sources) sources.push_back({{"title", s.title}, {"url", s.url}});
    j["sources"] = std::move(sources);
  }
  return j;
}

json ExplanationToJson(const engine::Explanation& ex) {
  json j;
  j["normalized"] = ex.folded;
  j["canonical"] = ex.canonical;
  json repairs = json::array();
  for (const auto& [from, to] : ex.repairs) repairs.push_back({{"from", from}, {"to", to}});
  j["spelling"] = std::move(repairs);
  json syn = json::array();
  for (const auto& [from, to] : ex.synonyms) syn.push_back({{"from", from}, {"to", to}});
  j["synonyms"] = std::move(syn);
  j["terms"] = ex.terms;
  if (!ex.classifier.empty()) j["classifier"] = ex.classifier;
  json flags = json::array();
  for (const auto& m : ex.red_flags) {
    json f = {{"rule", m.rule},
              {"kind", m.kind},
              {"urgency", engine::UrgencyName(m.urgency)},
              {"matched", m.text},
              {"affirmed", m.affirmed()}};
    if (!m.combination.empty()) f["concepts"] = m.combination;
    if (m.negated)
      f["cancelled_by"] = "negation";
    else if (m.hypothetical)
      f["cancelled_by"] = "hypothetical or general question";
    else if (m.resolved)
      f["cancelled_by"] = "resolved in the past";
    else if (m.figurative)
      f["cancelled_by"] = "a figure of speech";
    else if (m.other)
      f["cancelled_by"] = "about an animal";
    else if (m.excepted)
      f["cancelled_by"] = "an 'unless' pattern, or no 'requires' pattern";
    flags.push_back(std::move(f));
  }
  j["red_flags"] = std::move(flags);
  json cands = json::array();
  for (const auto& [id, c] : ex.candidates) {
    cands.push_back({{"entry", id}, {"score", Round3(c.score)}, {"coverage", Round3(c.coverage)}});
  }
  j["candidates"] = std::move(cands);
  j["state_before"] = ex.state_before;
  j["state_after"] = ex.state_after;
  j["decision"] = ex.decision;
  return j;
}

}  // namespace backline::content
