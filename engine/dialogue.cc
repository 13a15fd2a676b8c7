#include "engine/dialogue.h"

#include <algorithm>
#include <deque>
#include <set>

namespace backline::engine {

std::unique_ptr<DialogGraph> DialogGraph::Build(
    const DialogSpec& spec, const Analyzer& analyzer,
    const std::vector<std::string>& reachable_from_outside,
    const std::vector<std::string>& known_entries, const std::vector<std::string>& known_kinds,
    std::vector<Diagnostic>* diags) {
  std::unique_ptr<DialogGraph> g(new DialogGraph());
  g->spec_ = spec;
  DiagnosticSink sink(diags);

  std::set<std::string> ids;
  for (const auto& s : g->spec_.states) {
    if (!ids.insert(s.id).second) sink.Error(s.where, "duplicate state id '" + s.id + "'");
  }
  if (!ids.count(g->spec_.start_state)) {
    sink.Error(g->spec_.where, "start state '" + g->spec_.start_state + "' is not defined");
  }
  if (!g->spec_.escalated_state.empty() && !ids.count(g->spec_.escalated_state)) {
    sink.Error(g->spec_.where, "escalated_state '" + g->spec_.escalated_state + "' is not defined");
  }
  if (!g->spec_.urgent_escalated_state.empty() && !ids.count(g->spec_.urgent_escalated_state)) {
    sink.Error(g->spec_.where,
               "urgent_escalated_state '" + g->spec_.urgent_escalated_state + "' is not defined");
  }
  if (!g->spec_.screening_state.empty() && !ids.count(g->spec_.screening_state)) {
    sink.Error(g->spec_.where, "screening_state '" + g->spec_.screening_state + "' is not defined");
  }
  std::set<std::string> slot_ids, personal;
  for (const auto& sl : g->spec_.slots) {
    slot_ids.insert(sl.id);
    if (sl.personal) personal.insert(sl.id);
  }
  g->personal_slots_.assign(personal.begin(), personal.end());
  // {slot.NAME} in a text the person is shown must name a declared slot.
  auto check_slot_refs = [&](const std::string& text, const SourceLocation& where) {
    constexpr std::string_view kSlot = "{slot.";
    for (size_t at = text.find(kSlot); at != std::string::npos; at = text.find(kSlot, at + 1)) {
      const size_t close = text.find('}', at);
      const std::string id = close == std::string::npos
                                 ? std::string()
                                 : text.substr(at + kSlot.size(), close - at - kSlot.size());
      if (!slot_ids.count(id)) {
        sink.Error(where, "\"" + text.substr(at, close == std::string::npos ? 6 : close - at + 1) +
                              "\" names no declared slot");
      }
    }
  };
  if (!g->spec_.screening_slot.empty() && !slot_ids.count(g->spec_.screening_slot)) {
    sink.Error(g->spec_.where,
               "screening_slot '" + g->spec_.screening_slot + "' is not a declared slot");
  }
  if (!g->spec_.context_slot.empty() && !slot_ids.count(g->spec_.context_slot)) {
    sink.Error(g->spec_.where,
               "context_slot '" + g->spec_.context_slot + "' is not a declared slot");
  }
  const std::set<std::string> entries(known_entries.begin(), known_entries.end());
  const std::set<std::string> kinds(known_kinds.begin(), known_kinds.end());

  if (!g->spec_.yes_patterns.empty()) {
    auto p = Pattern::CompileAny(g->spec_.yes_patterns);
    if (p.ok())
      g->yes_ = std::move(p).value();
    else
      sink.Error(g->spec_.where, "a yes pattern does not compile: " + p.status().message());
  }
  if (!g->spec_.no_patterns.empty()) {
    auto p = Pattern::CompileAny(g->spec_.no_patterns);
    if (p.ok())
      g->no_ = std::move(p).value();
    else
      sink.Error(g->spec_.where, "a no pattern does not compile: " + p.status().message());
  }

  for (const auto& s : g->spec_.states) {
    State st;
    st.spec = &s;
    if (!s.skip_if_slot.empty() && !slot_ids.count(s.skip_if_slot)) {
      sink.Error(s.where, "state '" + s.id + "' skips on unknown slot '" + s.skip_if_slot + "'");
    }
    check_slot_refs(s.prompt, s.where);
    check_slot_refs(s.ask_again, s.where);
    if (s.capture) {
      const CaptureSpec& c = *s.capture;
      if (!slot_ids.count(c.slot)) {
        sink.Error(c.where, "state '" + s.id + "' captures into unknown slot '" + c.slot + "'");
      }
      if (!c.display_slot.empty() && !slot_ids.count(c.display_slot)) {
        sink.Error(c.where, "state '" + s.id + "' keeps the display form in unknown slot '" +
                                c.display_slot + "'");
      }
      if (!c.display_slot.empty() && c.kind != CaptureSpec::Kind::kPhone) {
        sink.Error(c.where, "state '" + s.id + "': only a \"phone\" capture has a display_slot");
      }
      for (const std::string* id : {&c.slot, &c.display_slot}) {
        if (personal.count(*id) && !s.personal) {
          sink.Error(c.where, "state '" + s.id + "' captures the personal slot '" + *id +
                                  "' but is not marked \"personal\": the slot would outlive "
                                  "the flow");
        }
      }
      if (!c.next.empty() && !ids.count(c.next)) {
        sink.Error(c.where,
                   "the capture of state '" + s.id + "' leads to unknown state '" + c.next + "'");
      }
      if (s.ask_again.empty()) {
        sink.Error(c.where, "state '" + s.id +
                                "' captures an answer but has no \"ask_again\": what to say "
                                "when a message is not one");
      }
      check_slot_refs(c.reply, c.where);
    }
    if (s.transitions.empty() && !s.capture && !s.terminal && s.id != g->spec_.start_state) {
      sink.Error(s.where, "state '" + s.id +
                              "' has no way out: give it transitions or mark "
                              "it \"terminal\": true");
    }
    for (const auto& t : s.transitions) {
      if (!t.next.empty() && !ids.count(t.next)) {
        sink.Error(t.where, "transition '" + t.on + "' of state '" + s.id +
                                "' leads to unknown state '" + t.next + "'");
      }
      if (!t.set_slot.empty() && !slot_ids.count(t.set_slot)) {
        sink.Error(t.where, "transition '" + t.on + "' sets unknown slot '" + t.set_slot + "'");
      }
      if (personal.count(t.set_slot) && !s.personal) {
        sink.Error(t.where, "transition '" + t.on + "' sets the personal slot '" + t.set_slot +
                                "' in state '" + s.id + "', which is not marked \"personal\"");
      }
      check_slot_refs(t.action.reply, t.where);
      if (t.action.callback) {
        if (t.action.callback_first_name_slot.empty() || t.action.callback_phone_slot.empty()) {
          sink.Error(t.where, "the callback of transition '" + t.on +
                                  "' needs a \"first_name\" and a \"phone\" slot");
        }
        for (const std::string* id :
             {&t.action.callback_first_name_slot, &t.action.callback_phone_slot,
              &t.action.callback_phone_display_slot, &t.action.callback_best_time_slot}) {
          if (!id->empty() && !slot_ids.count(*id)) {
            sink.Error(t.where, "the callback of transition '" + t.on + "' reads unknown slot '" +
                                    *id + "'");
          }
        }
        if (t.on != "yes") {
          sink.Error(t.where, "a callback is made only by the answer \"yes\" (consent), not by '" +
                                  t.on + "'");
        }
      }
      if (!t.action.answer.empty() && !entries.count(t.action.answer)) {
        sink.Error(t.where, "transition '" + t.on + "' answers with unknown entry '" +
                                t.action.answer + "'");
      }
      if (!t.action.escalate_slot.empty() && !slot_ids.count(t.action.escalate_slot)) {
        sink.Error(t.where, "transition '" + t.on + "' escalates to the kind in unknown slot '" +
                                t.action.escalate_slot + "'");
      }
      if (!t.action.escalate.empty() && !kinds.count(t.action.escalate)) {
        sink.Error(t.where, "transition '" + t.on + "' escalates to unknown red-flag kind '" +
                                t.action.escalate + "'");
      }
      if (t.on.empty()) sink.Error(t.where, "a transition of state '" + s.id + "' has no \"on\"");
      std::unique_ptr<Pattern> extra;
      if (!t.patterns.empty()) {
        auto p = Pattern::CompileAny(t.patterns);
        if (p.ok())
          extra = std::move(p).value();
        else
          sink.Error(t.where, "a pattern of transition '" + t.on +
                                  "' does not compile: " + p.status().message());
      }
      st.extra.push_back(std::move(extra));
      st.label_canonical.push_back(analyzer.Analyze(t.on).canonical);
    }
    g->states_.emplace(s.id, std::move(st));
  }

  // Reachability from the start state, the escalated state and states entered
  // by intents.
  std::set<std::string> seen;
  std::deque<std::string> queue;
  auto push = [&](const std::string& id) {
    if (!id.empty() && ids.count(id) && seen.insert(id).second) queue.push_back(id);
  };
  push(g->spec_.start_state);
  push(g->spec_.escalated_state);
  push(g->spec_.urgent_escalated_state);
  push(g->spec_.screening_state);
  for (const auto& id : reachable_from_outside) push(id);
  while (!queue.empty()) {
    const std::string id = queue.front();
    queue.pop_front();
    for (const auto& s : g->spec_.states) {
      if (s.id != id) continue;
      for (const auto& t : s.transitions) push(t.next.empty() ? g->spec_.start_state : t.next);
      if (s.capture) push(s.capture->next.empty() ? g->spec_.start_state : s.capture->next);
    }
  }
  for (const auto& s : g->spec_.states) {
    if (!seen.count(s.id)) {
      sink.Error(s.where,
                 "state '" + s.id + "' is unreachable: no transition or intent leads to it");
    }
  }
  for (const auto& sl : g->spec_.slots) {
    // The screening slot is filled by the engine's safety net.
    // The screening and context slots are filled by the engine.
    bool used = sl.id == g->spec_.screening_slot || sl.id == g->spec_.context_slot;
    for (const auto& s : g->spec_.states) {
      for (const auto& t : s.transitions) used |= t.set_slot == sl.id;
      if (s.capture) used |= s.capture->slot == sl.id || s.capture->display_slot == sl.id;
    }
    if (!used) sink.Warning(sl.where, "slot '" + sl.id + "' is never filled by any transition");
  }
  if (sink.failed()) return nullptr;
  return g;
}

bool DialogGraph::IsPersonal(const std::string& slot) const {
  return std::binary_search(personal_slots_.begin(), personal_slots_.end(), slot);
}

const DialogGraph::State* DialogGraph::Find(const std::string& id) const {
  auto it = states_.find(id.empty() ? spec_.start_state : id);
  return it == states_.end() ? nullptr : &it->second;
}

int DialogGraph::MatchAnswer(const State& state, const Analysis& a) const {
  const auto& ts = state.spec->transitions;
  // An exact label first ("Pain medicines"), then extra patterns, then yes /
  // no.
  for (size_t i = 0; i < ts.size(); ++i) {
    if (!state.label_canonical[i].empty() && a.canonical == state.label_canonical[i]) {
      return static_cast<int>(i);
    }
  }
  // Of the transitions whose patterns match, the longest match wins: "not new"
  // is the answer "no" even though "new" alone would mean "yes".
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (!state.extra[i]) continue;
    for (const auto& [b, e] : state.extra[i]->FindAll(a.canonical)) {
      if (e - b > best_len) {
        best_len = e - b;
        best = static_cast<int>(i);
      }
    }
  }
  if (best >= 0) return best;
  auto find = [&ts](std::string_view on) {
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].on == on) return static_cast<int>(i);
    }
    return -1;
  };
  const int yes_at = find("yes");
  const int no_at = find("no");
  // Most states take no yes or no: then the two patterns would decide nothing,
  // and a turn need not scan its text with them.
  if (yes_at < 0 && no_at < 0) return -1;
  const bool yes = yes_ && yes_->Matches(a.canonical);
  const bool no = no_ && no_->Matches(a.canonical);
  if (yes == no) return -1;  // neither, or both ("yes and no")
  return yes ? yes_at : no_at;
}

}  // namespace backline::engine
