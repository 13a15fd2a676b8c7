#include "dialogs/loader.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "knowledge/json_file.h"

namespace backline::dialogs {
namespace fs = std::filesystem;
using engine::Diagnostic;
using json = nlohmann::json;
using knowledge::CheckKeys;
using knowledge::Error;
using knowledge::GetString;
using knowledge::GetStrings;
using knowledge::IsObjectItem;
using knowledge::JsonFile;
using knowledge::ListUnder;

namespace {

std::string Display(const std::string& dir, const std::string& rel) {
  return (fs::path(dir) / rel).lexically_normal().string();
}

bool ReadTransition(const JsonFile& f, const json& t, const std::string& ptr,
                    engine::Transition* out, std::vector<Diagnostic>* diags) {
  if (!t.is_object()) {
    Error(diags, f.At(ptr), "a transition is an object with \"on\" and \"next\"");
    return false;
  }
  CheckKeys(f, t, ptr,
            {"on", "patterns", "set_slot", "slot_value", "next", "escalate", "escalate_slot",
             "answer", "reply", "callback"},
            diags);
  out->where = f.At(ptr);
  bool ok = GetString(f, t, ptr, "on", true, &out->on, diags);
  ok &= GetStrings(f, t, ptr, "patterns", false, &out->patterns, nullptr, diags);
  ok &= GetString(f, t, ptr, "set_slot", false, &out->set_slot, diags);
  ok &= GetString(f, t, ptr, "slot_value", false, &out->slot_value, diags);
  ok &= GetString(f, t, ptr, "next", false, &out->next, diags);
  ok &= GetString(f, t, ptr, "escalate", false, &out->action.escalate, diags);
  ok &= GetString(f, t, ptr, "escalate_slot", false, &out->action.escalate_slot, diags);
  ok &= GetString(f, t, ptr, "answer", false, &out->action.answer, diags);
  ok &= GetString(f, t, ptr, "reply", false, &out->action.reply, diags);
  if (auto cb = t.find("callback"); cb != t.end()) {
    const std::string cptr = ptr + "/callback";
    if (!cb->is_object()) {
      Error(diags, f.At(cptr),
            "\"callback\" is an object naming the slots the request is made of: \"first_name\", "
            "\"phone\", \"phone_display\", \"best_time\"");
      return false;
    }
    CheckKeys(f, *cb, cptr, {"first_name", "phone", "phone_display", "best_time"}, diags);
    engine::Action& a = out->action;
    a.callback = true;
    ok &= GetString(f, *cb, cptr, "first_name", true, &a.callback_first_name_slot, diags);
    ok &= GetString(f, *cb, cptr, "phone", true, &a.callback_phone_slot, diags);
    ok &= GetString(f, *cb, cptr, "phone_display", false, &a.callback_phone_display_slot, diags);
    ok &= GetString(f, *cb, cptr, "best_time", false, &a.callback_best_time_slot, diags);
  }
  return ok;
}

bool ReadCapture(const JsonFile& f, const json& c, const std::string& ptr, engine::CaptureSpec* out,
                 std::vector<Diagnostic>* diags) {
  if (!c.is_object()) {
    Error(diags, f.At(ptr), "\"capture\" is an object with \"slot\" and \"kind\"");
    return false;
  }
  CheckKeys(f, c, ptr, {"slot", "kind", "display_slot", "next", "reply", "max_length"}, diags);
  out->where = f.At(ptr);
  std::string kind;
  bool ok = GetString(f, c, ptr, "slot", true, &out->slot, diags);
  ok &= GetString(f, c, ptr, "kind", true, &kind, diags);
  ok &= GetString(f, c, ptr, "display_slot", false, &out->display_slot, diags);
  ok &= GetString(f, c, ptr, "next", false, &out->next, diags);
  ok &= GetString(f, c, ptr, "reply", false, &out->reply, diags);
  if (kind == "name") {
    out->kind = engine::CaptureSpec::Kind::kName;
  } else if (kind == "phone") {
    out->kind = engine::CaptureSpec::Kind::kPhone;
  } else if (kind == "text") {
    out->kind = engine::CaptureSpec::Kind::kText;
  } else if (!kind.empty()) {
    Error(diags, f.At(ptr + "/kind"),
          "\"kind\" must be \"name\", \"phone\" or \"text\", not \"" + kind + "\"");
    ok = false;
  }
  if (auto m = c.find("max_length"); m != c.end()) {
    if (!m->is_number_integer() || m->get<long long>() < 1 || m->get<long long>() > 500) {
      Error(diags, f.At(ptr + "/max_length"), "\"max_length\" must be a whole number 1-500");
      ok = false;
    } else {
      out->max_length = m->get<size_t>();
    }
  }
  return ok;
}

bool ReadFlow(const JsonFile& f, engine::DialogSpec* d, std::vector<Diagnostic>* diags) {
  const json& root = f.root();
  if (!root.is_object()) {
    Error(diags, f.At(""), "flow.json is an object");
    return false;
  }
  CheckKeys(f, root, "",
            {"start", "escalated_state", "urgent_escalated_state", "screening_state",
             "screening_slot", "context_slot", "messages", "answers", "slots", "states"},
            diags);
  d->where = f.At("");
  bool ok = GetString(f, root, "", "start", true, &d->start_state, diags);
  ok &= GetString(f, root, "", "escalated_state", false, &d->escalated_state, diags);
  ok &= GetString(f, root, "", "urgent_escalated_state", false, &d->urgent_escalated_state, diags);
  ok &= GetString(f, root, "", "screening_state", false, &d->screening_state, diags);
  ok &= GetString(f, root, "", "context_slot", false, &d->context_slot, diags);
  ok &= GetString(f, root, "", "screening_slot", false, &d->screening_slot, diags);
  if (auto m = root.find("messages"); m != root.end() && m->is_object()) {
    for (auto it = m->begin(); it != m->end(); ++it) {
      if (it.value().is_string()) {
        d->messages[it.key()] = it.value().get<std::string>();
      } else if (it.value().is_array()) {
        std::string joined;  // a list of quick replies is kept as "a|b|c"
        for (const auto& v : it.value()) {
          if (v.is_string()) joined += (joined.empty() ? "" : "|") + v.get<std::string>();
        }
        d->messages[it.key()] = joined;
      } else {
        Error(diags, f.At("/messages/" + it.key()), "a message must be a string or a list");
        ok = false;
      }
    }
  } else {
    Error(diags, f.At(""), "missing object \"messages\"");
    ok = false;
  }
  if (auto a = root.find("answers"); a != root.end()) {
    if (!a->is_object()) {
      Error(diags, f.At("/answers"), "\"answers\" holds \"yes\" and \"no\" pattern lists");
      ok = false;
    } else {
      CheckKeys(f, *a, "/answers", {"yes", "no"}, diags);
      ok &= GetStrings(f, *a, "/answers", "yes", true, &d->yes_patterns, nullptr, diags);
      ok &= GetStrings(f, *a, "/answers", "no", true, &d->no_patterns, nullptr, diags);
    }
  }
  if (auto s = root.find("slots"); s != root.end() && s->is_array()) {
    for (size_t i = 0; i < s->size(); ++i) {
      const std::string ptr = "/slots/" + std::to_string(i);
      const json& sl = (*s)[i];
      if (!sl.is_object()) {
        Error(diags, f.At(ptr), "a slot is an object with \"id\" and \"values\"");
        ok = false;
        continue;
      }
      CheckKeys(f, sl, ptr, {"id", "question", "values", "personal"}, diags);
      engine::SlotSpec slot;
      slot.where = f.At(ptr);
      ok &= GetString(f, sl, ptr, "id", true, &slot.id, diags);
      ok &= GetString(f, sl, ptr, "question", false, &slot.question, diags);
      ok &= GetStrings(f, sl, ptr, "values", false, &slot.values, nullptr, diags);
      if (auto p = sl.find("personal"); p != sl.end()) {
        if (p->is_boolean()) {
          slot.personal = p->get<bool>();
        } else {
          Error(diags, f.At(ptr + "/personal"), "\"personal\" must be true or false");
          ok = false;
        }
      }
      d->slots.push_back(std::move(slot));
    }
  }
  const auto st = root.find("states");
  if (st == root.end() || !st->is_array()) {
    Error(diags, f.At(""), "missing list \"states\"");
    return false;
  }
  for (size_t i = 0; i < st->size(); ++i) {
    const std::string ptr = "/states/" + std::to_string(i);
    const json& s = (*st)[i];
    if (!s.is_object()) {
      Error(diags, f.At(ptr), "a state is an object with an \"id\"");
      ok = false;
      continue;
    }
    CheckKeys(f, s, ptr,
              {"id", "prompt", "topic", "transitions", "skip_if_slot", "terminal", "screening",
               "note", "capture", "personal", "ask_again"},
              diags);
    engine::DialogStateSpec state;
    state.where = f.At(ptr);
    bool good = GetString(f, s, ptr, "id", true, &state.id, diags);
    good &= GetString(f, s, ptr, "prompt", false, &state.prompt, diags);
    good &= GetString(f, s, ptr, "topic", false, &state.topic, diags);
    good &= GetString(f, s, ptr, "skip_if_slot", false, &state.skip_if_slot, diags);
    good &= GetString(f, s, ptr, "ask_again", false, &state.ask_again, diags);
    if (!state.topic.empty()) state.topic_where = f.At(ptr + "/topic");  // checked by Compile
    if (state.topic == "red-flag") {
      Error(diags, f.At(ptr + "/topic"),
            "a state's topic cannot be 'red-flag': only escalations carry it "
            "(use \"escalate\")");
      good = false;
    }
    // An optional true/false field of the state.
    auto flag = [&](const char* key, bool* out) {
      auto it = s.find(key);
      if (it == s.end()) return;
      if (!it->is_boolean()) {
        Error(diags, f.At(ptr + "/" + key), std::string("\"") + key + "\" must be true or false");
        good = false;
      } else {
        *out = it->get<bool>();
      }
    };
    flag("screening", &state.screening);
    flag("terminal", &state.terminal);
    flag("personal", &state.personal);
    if (auto c = s.find("capture"); c != s.end()) {
      engine::CaptureSpec capture;
      if (ReadCapture(f, *c, ptr + "/capture", &capture, diags)) {
        state.capture = std::move(capture);
      } else {
        good = false;
      }
    }
    if (auto ts = s.find("transitions"); ts != s.end()) {
      if (!ts->is_array()) {
        Error(diags, f.At(ptr + "/transitions"), "\"transitions\" must be a list");
        good = false;
      } else {
        for (size_t k = 0; k < ts->size(); ++k) {
          engine::Transition t;
          if (ReadTransition(f, (*ts)[k], ptr + "/transitions/" + std::to_string(k), &t, diags)) {
            state.transitions.push_back(std::move(t));
          } else {
            good = false;
          }
        }
      }
    }
    d->states.push_back(std::move(state));
    ok &= good;
  }
  return ok;
}

bool ReadIntents(const JsonFile& f, std::vector<engine::IntentSpec>* out,
                 std::vector<Diagnostic>* diags) {
  const json* intents = ListUnder(
      f, "intents", "intents.json is an object with an \"intents\" list", {"intents"}, diags);
  if (!intents) return false;
  bool ok = true;
  for (size_t i = 0; i < intents->size(); ++i) {
    const std::string ptr = "/intents/" + std::to_string(i);
    const json& it = (*intents)[i];
    if (!IsObjectItem(f, it, ptr, "an intent", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, it, ptr,
              {"id", "topic", "kind", "patterns", "concepts", "unless", "reply", "quick_replies",
               "next", "question_only", "note"},
              diags);
    engine::IntentSpec intent;
    intent.where = f.At(ptr);
    std::string kind;
    bool good = GetString(f, it, ptr, "id", true, &intent.id, diags);
    good &= GetString(f, it, ptr, "topic", true, &intent.topic, diags);
    good &= GetString(f, it, ptr, "kind", true, &kind, diags);
    good &=
        GetStrings(f, it, ptr, "patterns", false, &intent.patterns, &intent.pattern_where, diags);
    good &=
        GetCombinations(f, it, ptr, "concepts", &intent.concepts, &intent.concepts_where, diags);
    if (it.find("patterns") == it.end() && it.find("concepts") == it.end()) {
      Error(diags, f.At(ptr), "an intent needs \"patterns\", \"concepts\" or both");
      good = false;
    }
    good &= GetStrings(f, it, ptr, "unless", false, &intent.unless, nullptr, diags);
    good &= GetString(f, it, ptr, "reply", false, &intent.reply, diags);
    good &= GetStrings(f, it, ptr, "quick_replies", false, &intent.quick_replies, nullptr, diags);
    good &= GetString(f, it, ptr, "next", false, &intent.next_state, diags);
    if (auto q = it.find("question_only"); q != it.end()) {
      if (q->is_boolean()) {
        intent.question_only = q->get<bool>();
      } else {
        Error(diags, f.At(ptr + "/question_only"), "\"question_only\" must be true or false");
        good = false;
      }
    }
    if (kind == "smalltalk")
      intent.kind = engine::IntentSpec::Kind::kSmallTalk;
    else if (kind == "request")
      intent.kind = engine::IntentSpec::Kind::kRequest;
    else if (kind == "refusal")
      intent.kind = engine::IntentSpec::Kind::kRefusal;
    else if (kind == "flow")
      intent.kind = engine::IntentSpec::Kind::kFlow;
    else if (!kind.empty()) {
      Error(diags, f.At(ptr + "/kind"),
            "\"kind\" must be \"smalltalk\", \"request\", \"refusal\" or "
            "\"flow\", not \"" +
                kind + "\"");
      good = false;
    }
    if (good) out->push_back(std::move(intent));
    ok &= good;
  }
  return ok;
}

// An https origin as CSP writes it: "https://" host [":" port], lowercase, no path. Anything
// else (http:, wildcards, paths, spaces, ';' or ',') could widen the policy or break the
// header it is copied into.
bool IsHttpsOrigin(const std::string& s) {
  static const std::string kScheme = "https://";
  if (s.compare(0, kScheme.size(), kScheme) != 0) return false;
  const std::string rest = s.substr(kScheme.size());
  const size_t colon = rest.find(':');
  const std::string host = rest.substr(0, colon);
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.' ||
      host.front() == '-' || host.find("..") != std::string::npos) {
    return false;
  }
  for (char ch : host) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')) {
      return false;
    }
  }
  if (colon == std::string::npos) return true;
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const long n = std::stol(port);
  return n >= 1 && n <= 65535;
}

// frame_ancestors: 'self', 'none' (alone) or https origins, at least one.
bool CheckFrameAncestors(const std::vector<std::string>& sources,
                         const std::vector<engine::SourceLocation>& where,
                         const engine::SourceLocation& list, std::vector<Diagnostic>* diags) {
  if (sources.empty()) {
    Error(diags, list,
          "\"frame_ancestors\" is empty; use [\"'none'\"] to forbid embedding the pages");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string& s = sources[i];
    if (s == "'none'" && sources.size() > 1) {
      Error(diags, where[i], "\"'none'\" must be the only item of \"frame_ancestors\"");
      ok = false;
    } else if (s != "'self'" && s != "'none'" && !IsHttpsOrigin(s)) {
      Error(diags, where[i],
            "\"" + s.substr(0, 80) +
                "\" is not allowed in \"frame_ancestors\": use \"'self'\", \"'none'\" or an "
                "https origin such as \"https://portal.example.org\" (lowercase, no path, no "
                "wildcard)");
      ok = false;
    }
  }
  return ok;
}

// The events a webhook can subscribe to (schemas/event.schema.json).
const std::set<std::string>& WebhookEventTypes() {
  static const std::set<std::string> types = {"escalation", "callback_request", "feedback",
                                              "handoff_status"};
  return types;
}

// Splits `url` into `w`'s tls, host, port and target. https to a DNS name or an IPv4
// address; plain http only to localhost, 127.0.0.1 or [::1] (a receiver on the same host).
// No user info, no fragment, no whitespace. Returns "" or what is wrong.
std::string ParseWebhookUrl(const std::string& url, engine::WebhookEndpoint* w) {
  if (url.size() > 2000) return "is longer than 2000 characters";
  for (unsigned char ch : url) {
    if (ch <= 0x20 || ch >= 0x7f) return "has a space, a control character or a non-ASCII byte";
  }
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    w->tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    w->tls = false;
    rest = url.substr(7);
  } else {
    return "is not an https:// URL";
  }
  if (rest.find('#') != std::string::npos) return "has a fragment (#...)";
  const size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  w->target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (w->target[0] == '?') w->target = "/" + w->target;
  if (authority.find('@') != std::string::npos) {
    return "has user info (user@host): put credentials in the secret, not the URL";
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return "has an unclosed '['";
    w->host = authority.substr(1, close - 1);
    if (w->host != "::1") return "names an IPv6 address other than [::1]";
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return "has something after ']' that is not a port";
      port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.find(':');
    w->host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
    if (w->host.empty()) return "has no host";
    for (char ch : w->host) {
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')) {
        return "has a host that is not lowercase letters, digits, '.' and '-'";
      }
    }
  }
  if (!port.empty() || authority.back() == ':') {
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stol(port) < 1 ||
        std::stol(port) > 65535) {
      return "has a port that is not 1-65535";
    }
    w->port = std::to_string(std::stol(port));
  } else {
    w->port = w->tls ? "443" : "80";
  }
  if (!w->tls && w->host != "localhost" && w->host != "127.0.0.1" && w->host != "::1") {
    return "is plain http to another host: use https (plain http only to localhost, "
           "127.0.0.1 or [::1])";
  }
  return "";
}

// A secret shorter than this is refused: `openssl rand -hex 32` gives 64 characters.
constexpr size_t kMinWebhookSecret = 32;

// Reads the secret named by `w->secret_file` or `w->secret_env` into `w->secret`. Returns ""
// or what is wrong (never the secret).
std::string ResolveWebhookSecret(engine::WebhookEndpoint* w) {
  std::string secret;
  if (!w->secret_file.empty()) {
    const fs::path p(w->secret_file);
    if (!p.is_absolute()) {
      return "\"secret_file\" must be an absolute path outside the repository (e.g. "
             "/etc/backline/secrets/clinic-webhook)";
    }
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (ec || !fs::is_regular_file(st)) {
      return "\"secret_file\" " + w->secret_file + " is not a readable file";
    }
    const fs::perms group_other = fs::perms::group_all | fs::perms::others_all;
    if ((st.permissions() & group_other) != fs::perms::none) {
      return "\"secret_file\" " + w->secret_file +
             " may be read or written by other users: chmod 600 it";
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return "\"secret_file\" " + w->secret_file + " cannot be read";
    secret.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    const char* v = std::getenv(w->secret_env.c_str());
    if (v == nullptr) return "the environment variable " + w->secret_env + " is not set";
    secret = v;
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.size() < kMinWebhookSecret) {
    return "the secret is shorter than " + std::to_string(kMinWebhookSecret) +
           " characters (make one with `openssl rand -hex 32`)";
  }
  w->secret = std::move(secret);
  return "";
}

// "webhooks": [{"id", "url", "events", "secret_file" | "secret_env"}].
bool ReadWebhooks(const JsonFile& f, const json& root, engine::Clinic* c,
                  std::vector<Diagnostic>* diags) {
  const auto list = root.find("webhooks");
  if (list == root.end()) return true;
  if (!list->is_array()) {
    Error(diags, f.At("/webhooks"), "\"webhooks\" is a list of endpoints");
    return false;
  }
  bool ok = true;
  std::set<std::string> ids;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string ptr = "/webhooks/" + std::to_string(i);
    const json& item = (*list)[i];
    if (!item.is_object()) {
      Error(diags, f.At(ptr),
            "a webhook is an object with \"id\", \"url\", \"events\" and "
            "\"secret_file\" or \"secret_env\"");
      ok = false;
      continue;
    }
    CheckKeys(f, item, ptr, {"id", "url", "events", "secret_file", "secret_env", "secret"}, diags);
    engine::WebhookEndpoint w;
    w.where = f.At(ptr);
    bool item_ok = GetString(f, item, ptr, "id", true, &w.id, diags);
    item_ok &= GetString(f, item, ptr, "url", true, &w.url, diags);
    std::vector<engine::SourceLocation> where;
    item_ok &= GetStrings(f, item, ptr, "events", true, &w.events, &where, diags);
    item_ok &= GetString(f, item, ptr, "secret_file", false, &w.secret_file, diags);
    item_ok &= GetString(f, item, ptr, "secret_env", false, &w.secret_env, diags);
    if (!item_ok) {
      ok = false;
      continue;
    }
    if (w.id.empty() || w.id.size() > 64 ||
        w.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
      Error(diags, f.At(ptr + "/id"),
            "a webhook id is 1-64 lowercase letters, digits, '-' and '_'");
      item_ok = false;
    } else if (!ids.insert(w.id).second) {
      Error(diags, f.At(ptr + "/id"), "duplicate webhook id '" + w.id + "'");
      item_ok = false;
    }
    if (const std::string why = ParseWebhookUrl(w.url, &w); !why.empty()) {
      Error(diags, f.At(ptr + "/url"), "webhook url \"" + w.url.substr(0, 80) + "\" " + why);
      item_ok = false;
    }
    if (w.events.empty()) {
      Error(diags, f.At(ptr + "/events"), "\"events\" names at least one event");
      item_ok = false;
    }
    std::set<std::string> seen;
    for (size_t j = 0; j < w.events.size(); ++j) {
      if (!WebhookEventTypes().count(w.events[j])) {
        Error(diags, where[j],
              "unknown event \"" + w.events[j].substr(0, 40) +
                  "\": use \"escalation\", \"callback_request\", \"feedback\" or "
                  "\"handoff_status\"");
        item_ok = false;
      } else if (!seen.insert(w.events[j]).second) {
        Error(diags, where[j], "event \"" + w.events[j] + "\" is listed twice");
        item_ok = false;
      }
    }
    if (item.contains("secret")) {
      Error(diags, f.At(ptr + "/secret"),
            "a secret never goes in a clinic file (it is shipped in git): put it in a file "
            "named by \"secret_file\" (mode 0600) or an environment variable named by "
            "\"secret_env\"");
      item_ok = false;
    } else if (w.secret_file.empty() == w.secret_env.empty()) {
      Error(diags, f.At(ptr),
            "a webhook names its secret with exactly one of \"secret_file\" (an absolute path, "
            "mode 0600) and \"secret_env\" (an environment variable); never the secret itself");
      item_ok = false;
    } else if (!w.secret_env.empty() &&
               (w.secret_env.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                    std::string::npos ||
                (w.secret_env[0] >= '0' && w.secret_env[0] <= '9'))) {
      Error(diags, f.At(ptr + "/secret_env"),
            "\"secret_env\" is an environment variable name: capitals, digits and '_'");
      item_ok = false;
    } else if (const std::string why = ResolveWebhookSecret(&w); !why.empty()) {
      Error(diags, f.At(ptr + (w.secret_file.empty() ? "/secret_env" : "/secret_file")), why);
      item_ok = false;
    }
    if (item_ok) {
      c->webhooks.push_back(std::move(w));
    } else {
      ok = false;
    }
  }
  return ok;
}

bool ReadClinic(const JsonFile& f, engine::Clinic* c, std::vector<Diagnostic>* diags) {
  const json& root = f.root();
  if (!root.is_object()) {
    Error(diags, f.At(""), "a clinic file is an object");
    return false;
  }
  CheckKeys(f, root, "",
            {"webhooks", "id", "name", "care_team_phone", "after_hours_phone", "emergency_number",
             "crisis_line", "allowed_origins", "frame_ancestors", "retention_days", "country",
             "remember_conversation_hours", "callback_response_time"},
            diags);
  c->where = f.At("");
  bool ok = GetString(f, root, "", "id", true, &c->id, diags);
  ok &= GetString(f, root, "", "name", true, &c->name, diags);
  ok &= GetString(f, root, "", "care_team_phone", false, &c->care_team_phone, diags);
  ok &= GetString(f, root, "", "after_hours_phone", false, &c->after_hours_phone, diags);
  ok &= GetString(f, root, "", "emergency_number", true, &c->emergency_number, diags);
  ok &= GetString(f, root, "", "crisis_line", false, &c->crisis_line, diags);
  ok &= GetString(f, root, "", "country", false, &c->country, diags);
  ok &= GetString(f, root, "", "callback_response_time", false, &c->callback_response_time, diags);
  if (root.contains("callback_response_time") && c->callback_response_time.empty()) {
    Error(diags, f.At("/callback_response_time"),
          "\"callback_response_time\" is empty: say how soon the team calls back, like "
          "\"within one working day\" (or leave the key out)");
    ok = false;
  }
  if (c->country.size() != 2 || c->country[0] < 'A' || c->country[0] > 'Z' || c->country[1] < 'A' ||
      c->country[1] > 'Z') {
    Error(diags, f.At("/country"),
          "\"country\" must be a two-letter ISO 3166 code in capitals, like \"GB\" or \"US\"");
    ok = false;
  }
  ok &= GetStrings(f, root, "", "allowed_origins", false, &c->allowed_origins, nullptr, diags);
  if (root.contains("frame_ancestors")) {
    std::vector<std::string> sources;
    std::vector<engine::SourceLocation> where;
    if (GetStrings(f, root, "", "frame_ancestors", false, &sources, &where, diags)) {
      ok &= CheckFrameAncestors(sources, where, f.At("/frame_ancestors"), diags);
      c->frame_ancestors = std::move(sources);
    } else {
      ok = false;
    }
  }
  ok &= ReadWebhooks(f, root, c, diags);
  if (auto r = root.find("retention_days"); r != root.end()) {
    if (!r->is_number_integer() || r->get<long long>() < 1 || r->get<long long>() > 3650) {
      Error(diags, f.At("/retention_days"), "\"retention_days\" must be a whole number 1-3650");
      ok = false;
    } else {
      c->retention_days = r->get<int>();
    }
  }
  if (auto r = root.find("remember_conversation_hours"); r != root.end()) {
    if (!r->is_number_integer() || r->get<long long>() < 0 || r->get<long long>() > 168) {
      Error(diags, f.At("/remember_conversation_hours"),
            "\"remember_conversation_hours\" must be a whole number 0-168 (0: this browser tab "
            "only)");
      ok = false;
    } else {
      c->remember_conversation_hours = r->get<int>();
    }
  }
  return ok;
}

}  // namespace

bool LoadDialogs(const std::string& dir, engine::ContentSpec* spec,
                 std::vector<Diagnostic>* diags) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    Error(diags, engine::SourceLocation{dir, 0, 0}, "dialogs folder not found");
    return false;
  }
  bool ok = true;
  JsonFile flow;
  if (JsonFile::Load((fs::path(dir) / "flow.json").string(), Display(dir, "flow.json"), &flow,
                     diags)) {
    ok &= ReadFlow(flow, &spec->dialog, diags);
  } else {
    ok = false;
  }
  JsonFile intents;
  if (JsonFile::Load((fs::path(dir) / "intents.json").string(), Display(dir, "intents.json"),
                     &intents, diags)) {
    ok &= ReadIntents(intents, &spec->intents, diags);
  } else {
    ok = false;
  }
  return ok;
}

bool LoadClinics(const std::string& dir, std::vector<engine::Clinic>* clinics,
                 std::vector<Diagnostic>* diags) {
  std::error_code ec;
  const fs::path cdir = fs::path(dir) / "clinics";
  std::vector<fs::path> files;
  if (fs::is_directory(cdir, ec)) {
    for (const auto& e : fs::directory_iterator(cdir, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  bool ok = true;
  std::set<std::string> ids;
  for (const auto& p : files) {
    JsonFile f;
    const std::string display = Display(dir, "clinics/" + p.filename().string());
    if (!JsonFile::Load(p.string(), display, &f, diags)) {
      ok = false;
      continue;
    }
    engine::Clinic c;
    if (!ReadClinic(f, &c, diags)) {
      ok = false;
      continue;
    }
    if (!ids.insert(c.id).second) {
      Error(diags, f.At("/id"), "duplicate clinic id '" + c.id + "'");
      ok = false;
      continue;
    }
    clinics->push_back(std::move(c));
  }
  if (!ids.count("default")) {
    Error(diags, engine::SourceLocation{Display(dir, "clinics"), 0, 0},
          "no clinic with id \"default\" (used when a page names none)");
    ok = false;
  }
  return ok;
}

}  // namespace backline::dialogs
