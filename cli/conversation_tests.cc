#include "cli/conversation_tests.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <ostream>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli/internal/options.h"
#include "knowledge/json_file.h"

namespace backline::cli {
namespace {

using json = nlohmann::json;
using knowledge::JsonFile;

constexpr std::initializer_list<const char*> kFileKeys = {"$schema", "$comment", "note", "clinic",
                                                          "conversations"};
constexpr std::initializer_list<const char*> kConversationKeys = {"$comment", "note", "name",
                                                                  "clinic", "turns"};
constexpr std::initializer_list<const char*> kTurnKeys = {"$comment",      "note",
                                                          "say",           "topic",
                                                          "urgency",       "kind",
                                                          "state",         "entry",
                                                          "intent",        "red_flag",
                                                          "contains",      "not_contains",
                                                          "quick_replies", "quick_replies_include",
                                                          "slots",         "screening",
                                                          "callback"};
constexpr std::initializer_list<const char*> kCallbackKeys = {"first_name", "phone",
                                                              "phone_display", "best_time"};
// Every Reply::kind a turn produces (engine::ReplyKindName; a welcome is not a turn).
constexpr std::initializer_list<const char*> kKinds = {
    "answer", "clarify", "fallback", "escalation", "intent", "refusal", "prompt"};

std::string EscapePointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool OneOf(const std::string& v, std::initializer_list<const char*> list) {
  for (const char* s : list)
    if (v == s) return true;
  return false;
}

std::string Join(std::initializer_list<const char*> list) {
  std::string out;
  for (const char* s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string Quoted(const std::string& s) { return json(s).dump(); }

std::string ListText(const std::vector<std::string>& v) {
  return json(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Reads the file's structure; values that name content are checked by Validate.
class Reader {
 public:
  Reader(const JsonFile& f, const content::Content& content, std::vector<engine::Diagnostic>* diags)
      : f_(f), content_(content), diags_(diags) {
    for (const auto& k : content.engine->content().red_flag_kinds) kinds_.insert(k.id);
    const auto& dialog = content.engine->content().dialog;
    for (const auto& s : dialog.states) {
      states_.insert(s.id);
      for (const auto& t : s.transitions)
        if (!t.set_slot.empty()) slots_.insert(t.set_slot);
    }
    for (const auto& s : dialog.slots) slots_.insert(s.id);
    for (const auto& i : content.engine->content().intents) intents_.insert(i.id);
    for (const auto& c : content.clinics) clinics_.insert(c.id);
  }

  bool Read(ConversationTestFile* out) {
    const json& root = f_.root();
    if (!root.is_object()) {
      Fail("",
           "a conversation test file must be an object "
           "{\"conversations\": [...]}");
      return false;
    }
    Keys(root, "", kFileKeys);
    std::string file_clinic = "default";
    String(root, "", "clinic", &file_clinic);
    CheckClinic(root, "", file_clinic);
    auto it = root.find("conversations");
    if (it == root.end() || !it->is_array() || it->empty()) {
      Fail(it == root.end() ? "" : "/conversations",
           "\"conversations\" must be a non-empty list of conversations");
      return false;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string p = "/conversations/" + std::to_string(i);
      const json& c = (*it)[i];
      if (!c.is_object()) {
        Fail(p, "a conversation must be an object {\"name\", \"turns\"}");
        continue;
      }
      Keys(c, p, kConversationKeys);
      Conversation conv;
      conv.where = f_.At(p);
      conv.clinic = file_clinic;
      if (!c.contains("name")) {
        Fail(p, "missing field \"name\"");
      } else if (String(c, p, "name", &conv.name)) {
        if (conv.name.empty()) Fail(p + "/name", "\"name\" must not be empty");
        if (!names.insert(conv.name).second)
          Fail(p + "/name", "two conversations are named " + Quoted(conv.name));
      }
      if (String(c, p, "clinic", &conv.clinic) && c.contains("clinic"))
        CheckClinic(c, p, conv.clinic);
      auto turns = c.find("turns");
      if (turns == c.end() || !turns->is_array() || turns->empty()) {
        Fail(turns == c.end() ? p : p + "/turns", "\"turns\" must be a non-empty list of turns");
        continue;
      }
      for (size_t j = 0; j < turns->size(); ++j) {
        ConversationTurn t;
        if (ReadTurn((*turns)[j], p + "/turns/" + std::to_string(j), &t))
          conv.turns.push_back(std::move(t));
      }
      out->conversations.push_back(std::move(conv));
    }
    return errors_ == 0;
  }

 private:
  bool ReadTurn(const json& t, const std::string& p, ConversationTurn* out) {
    if (!t.is_object()) {
      Fail(p, "a turn must be an object {\"say\": \"...\", expectations...}");
      return false;
    }
    const int before = errors_;
    Keys(t, p, kTurnKeys);
    out->where = f_.At(p);
    if (!t.contains("say")) {
      Fail(p, "missing field \"say\" (what the person types)");
    } else if (String(t, p, "say", &out->say) && out->say.empty()) {
      Fail(p + "/say", "\"say\" must not be empty");
    }
    Optional(t, p, "topic", &out->topic);
    if (out->topic && !content_.engine->FindTopic(*out->topic))
      Fail(p + "/topic", "unknown topic " + Quoted(*out->topic) + " (knowledge/topics.json)");
    Optional(t, p, "urgency", &out->urgency);
    if (out->urgency && !OneOf(*out->urgency, {"none", "urgent", "emergency"}))
      Fail(p + "/urgency", "\"urgency\" must be one of none, urgent, emergency");
    Optional(t, p, "kind", &out->kind);
    if (out->kind && !OneOf(*out->kind, kKinds))
      Fail(p + "/kind", "unknown kind " + Quoted(*out->kind) + " (one of " + Join(kKinds) + ")");
    Optional(t, p, "state", &out->state);
    if (out->state && !states_.count(*out->state))
      Fail(p + "/state", "unknown dialog state " + Quoted(*out->state) + " (dialogs/flow.json)");
    Optional(t, p, "entry", &out->entry);
    if (out->entry && !out->entry->empty() && !content_.engine->FindEntry(*out->entry))
      Fail(p + "/entry", "unknown FAQ entry " + Quoted(*out->entry));
    Optional(t, p, "intent", &out->intent);
    if (out->intent && !out->intent->empty() && !intents_.count(*out->intent))
      Fail(p + "/intent", "unknown intent " + Quoted(*out->intent) + " (dialogs/intents.json)");
    Optional(t, p, "red_flag", &out->red_flag);
    if (out->red_flag && !out->red_flag->empty() && !kinds_.count(*out->red_flag))
      Fail(p + "/red_flag",
           "unknown red-flag kind " + Quoted(*out->red_flag) + " (knowledge/escalations.json)");
    if (auto scr = t.find("screening"); scr != t.end()) {
      if (scr->is_boolean()) {
        out->screening = scr->get<bool>();
      } else {
        Fail(p + "/screening", "\"screening\" must be true or false");
      }
    }
    StringOrList(t, p, "contains", &out->contains);
    StringOrList(t, p, "not_contains", &out->not_contains);
    if (t.contains("quick_replies")) {
      std::vector<std::string> q;
      if (List(t, p, "quick_replies", &q)) out->quick_replies = std::move(q);
    }
    List(t, p, "quick_replies_include", &out->quick_replies_include);
    if (auto s = t.find("slots"); s != t.end()) {
      if (!s->is_object()) {
        Fail(p + "/slots", "\"slots\" must be an object {\"slot\": \"value\" or null}");
      } else {
        for (auto it = s->begin(); it != s->end(); ++it) {
          const std::string sp = p + "/slots/" + EscapePointer(it.key());
          if (!slots_.count(it.key())) {
            Fail(sp + "#key", "unknown slot " + Quoted(it.key()) + " (dialogs/flow.json)");
          } else if (it->is_null()) {
            out->slots[it.key()] = std::nullopt;
          } else if (it->is_string()) {
            out->slots[it.key()] = it->get<std::string>();
          } else {
            Fail(sp,
                 "a slot's expected value must be a string, or null for "
                 "\"not set\"");
          }
        }
      }
    }
    if (auto cb = t.find("callback"); cb != t.end()) {
      out->check_callback = true;
      if (cb->is_object()) {
        Keys(*cb, p + "/callback", kCallbackKeys);
        std::map<std::string, std::string> want;
        for (auto it = cb->begin(); it != cb->end(); ++it) {
          if (it->is_string()) {
            want[it.key()] = it->get<std::string>();
          } else {
            Fail(p + "/callback/" + EscapePointer(it.key()), "a callback field must be a string");
          }
        }
        out->callback = std::move(want);
      } else if (!cb->is_null()) {
        Fail(p + "/callback",
             "\"callback\" must be null (no request) or an object of the request's fields");
      }
    }
    return errors_ == before;
  }

  void Fail(const std::string& pointer, std::string msg) {
    knowledge::Error(diags_, f_.At(pointer), std::move(msg));
    ++errors_;
  }

  void Keys(const json& obj, const std::string& p, std::initializer_list<const char*> known) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (OneOf(it.key(), known)) continue;
      Fail(p + "/" + EscapePointer(it.key()) + "#key",
           "unknown key " + Quoted(it.key()) + " (known keys: " + Join(known) + ")");
    }
  }

  bool String(const json& obj, const std::string& p, const char* key, std::string* out) {
    auto it = obj.find(key);
    if (it == obj.end()) return true;
    if (!it->is_string()) {
      Fail(p + "/" + key, std::string("\"") + key + "\" must be a string");
      return false;
    }
    *out = it->get<std::string>();
    return true;
  }

  void Optional(const json& obj, const std::string& p, const char* key,
                std::optional<std::string>* out) {
    if (!obj.contains(key)) return;
    std::string v;
    if (String(obj, p, key, &v)) *out = std::move(v);
  }

  bool List(const json& obj, const std::string& p, const char* key, std::vector<std::string>* out) {
    auto it = obj.find(key);
    if (it == obj.end()) return false;
    bool ok = it->is_array();
    if (ok) {
      for (const json& v : *it) ok &= v.is_string();
    }
    if (!ok) {
      Fail(p + "/" + key, std::string("\"") + key + "\" must be a list of strings");
      return false;
    }
    for (const json& v : *it) out->push_back(v.get<std::string>());
    return true;
  }

  void StringOrList(const json& obj, const std::string& p, const char* key,
                    std::vector<std::string>* out) {
    auto it = obj.find(key);
    if (it == obj.end()) return;
    if (it->is_string()) {
      out->push_back(it->get<std::string>());
    } else if (!List(obj, p, key, out)) {
      return;
    }
    for (const auto& s : *out) {
      if (s.empty()) {
        Fail(p + "/" + key, std::string("\"") + key +
                                "\" must not hold an empty string (it "
                                "would match every reply)");
        break;
      }
    }
  }

  void CheckClinic(const json& obj, const std::string& p, const std::string& id) {
    if (clinics_.count(id)) return;
    Fail(obj.contains("clinic") ? p + "/clinic" : p,
         "unknown clinic " + Quoted(id) + " (dialogs/clinics/)");
  }

  const JsonFile& f_;
  const content::Content& content_;
  std::vector<engine::Diagnostic>* diags_;
  int errors_ = 0;
  std::set<std::string> kinds_, states_, slots_, intents_, clinics_;
};

const engine::Clinic* FindClinic(const content::Content& content, const std::string& id) {
  for (const auto& c : content.clinics)
    if (c.id == id) return &c;
  return nullptr;
}

// "name: expected X, got Y" lines for every expectation the reply misses.
std::vector<std::string> Check(const ConversationTurn& t, const engine::TurnResult& r,
                               const std::string& start_state) {
  std::vector<std::string> fails;
  auto field = [&](const char* name, const std::optional<std::string>& want,
                   const std::string& got) {
    if (want && *want != got) {
      fails.push_back(std::string(name) + ": expected " + (want->empty() ? "none" : *want) +
                      ", got " + (got.empty() ? "none" : got));
    }
  };
  const engine::Reply& reply = r.reply;
  field("topic", t.topic, reply.topic);
  field("urgency", t.urgency, engine::UrgencyName(reply.urgency));
  field("kind", t.kind, engine::ReplyKindName(reply.kind));
  field("state", t.state, r.state.state.empty() ? start_state : r.state.state);
  field("entry", t.entry, reply.entry_id);
  field("intent", t.intent, reply.intent_id);
  field("red_flag", t.red_flag, reply.red_flag_kind);
  if (t.screening && *t.screening != reply.screening) {
    fails.push_back(std::string("screening: expected ") + (*t.screening ? "true" : "false") +
                    ", got " + (reply.screening ? "true" : "false"));
  }
  const std::string text = Lower(reply.text);
  for (const auto& s : t.contains) {
    if (text.find(Lower(s)) == std::string::npos)
      fails.push_back("contains: expected the reply to contain " + Quoted(s) +
                      ", got a reply without it");
  }
  for (const auto& s : t.not_contains) {
    if (text.find(Lower(s)) != std::string::npos)
      fails.push_back("not_contains: expected the reply not to contain " + Quoted(s) +
                      ", got a reply with it");
  }
  if (t.quick_replies && *t.quick_replies != reply.quick_replies) {
    fails.push_back("quick_replies: expected " + ListText(*t.quick_replies) + ", got " +
                    ListText(reply.quick_replies));
  }
  for (const auto& q : t.quick_replies_include) {
    if (std::find(reply.quick_replies.begin(), reply.quick_replies.end(), q) ==
        reply.quick_replies.end()) {
      fails.push_back("quick_replies_include: expected " + Quoted(q) +
                      " among the quick replies, got " + ListText(reply.quick_replies));
    }
  }
  if (t.check_callback) {
    const auto& cb = reply.callback;
    if (!t.callback && cb) {
      fails.push_back("callback: expected no callback request, got one");
    } else if (t.callback && !cb) {
      fails.push_back("callback: expected a callback request, got none");
    } else if (t.callback) {
      const std::map<std::string, std::string> got = {{"first_name", cb->first_name},
                                                      {"phone", cb->phone_e164},
                                                      {"phone_display", cb->phone_display},
                                                      {"best_time", cb->best_time}};
      for (const auto& [key, want] : *t.callback) {
        const auto it = got.find(key);
        if (it != got.end() && it->second != want)
          fails.push_back("callback." + key + ": expected " + Quoted(want) + ", got " +
                          Quoted(it->second));
      }
    }
  }
  for (const auto& [slot, want] : t.slots) {
    auto it = r.state.slots.find(slot);
    const std::optional<std::string> got =
        it == r.state.slots.end() ? std::nullopt : std::optional<std::string>(it->second);
    if (got != want) {
      fails.push_back("slots." + slot + ": expected " +
                      (want ? Quoted(*want) : std::string("not set")) + ", got " +
                      (got ? Quoted(*got) : std::string("not set")));
    }
  }
  return fails;
}

}  // namespace

bool ParseConversationTestFile(std::string text, const std::string& display,
                               const content::Content& content, ConversationTestFile* out,
                               std::vector<engine::Diagnostic>* diags) {
  JsonFile f;
  if (!JsonFile::Parse(std::move(text), display, &f, diags)) return false;
  out->display = display;
  return Reader(f, content, diags).Read(out);
}

bool LoadConversationTestFile(const std::string& path, const std::string& display,
                              const content::Content& content, ConversationTestFile* out,
                              std::vector<engine::Diagnostic>* diags) {
  JsonFile f;
  if (!JsonFile::Load(path, display, &f, diags)) return false;
  out->display = display;
  return Reader(f, content, diags).Read(out);
}

ConversationResult RunConversation(const content::Content& content,
                                   const ConversationTestFile& file,
                                   const Conversation& conversation, std::ostream& out) {
  ConversationResult result;
  const engine::Engine& eng = *content.engine;
  const engine::Clinic* clinic = FindClinic(content, conversation.clinic);
  if (!clinic) clinic = &content.ClinicOrDefault(conversation.clinic);
  const std::string& start = eng.content().dialog.start_state;
  // A fresh conversation, as the server starts one: an empty session state
  // (the welcome is sent before any turn and changes no state).
  engine::SessionState state;
  for (size_t i = 0; i < conversation.turns.size(); ++i) {
    const ConversationTurn& t = conversation.turns[i];
    engine::TurnResult r = eng.Turn(state, t.say, *clinic);
    // As `backline chat` shows it: the server fills in a callback request's reference.
    r.reply.text = engine::Engine::WithReference(r.reply.text, internal::kReferenceShown);
    ++result.turns_run;
    const std::vector<std::string> fails = Check(t, r, start);
    if (!fails.empty()) {
      result.passed = false;
      out << "FAIL " << t.where.ToString() << ": " << conversation.name << ", turn " << (i + 1)
          << " of " << conversation.turns.size() << "\n";
      out << "  said:  " << Quoted(t.say) << "\n";
      for (const auto& f : fails) out << "  " << f << "\n";
      out << "  reply: [" << engine::ReplyKindName(r.reply.kind) << ", " << r.reply.topic << ", "
          << engine::UrgencyName(r.reply.urgency);
      if (!r.reply.entry_id.empty()) out << ", entry " << r.reply.entry_id;
      if (!r.reply.red_flag_kind.empty()) out << ", red flag " << r.reply.red_flag_kind;
      out << ", state " << (r.state.state.empty() ? start : r.state.state) << "]\n";
      // The whole reply, every line indented under the failure.
      out << "  ";
      for (char c : r.reply.text) {
        out << c;
        if (c == '\n') out << "  ";
      }
      out << "\n";
      if (!r.reply.quick_replies.empty())
        out << "  quick replies: " << ListText(r.reply.quick_replies) << "\n";
      if (i + 1 < conversation.turns.size())
        out << "  (the " << conversation.turns.size() - i - 1
            << " later turn(s) of this conversation were not run)\n";
      return result;
    }
    state = std::move(r.state);
  }
  out << "ok   " << file.display << ": " << conversation.name << " (" << conversation.turns.size()
      << " turn" << (conversation.turns.size() == 1 ? "" : "s") << ")\n";
  return result;
}

std::vector<std::string> ExpandTestPaths(const std::vector<std::string>& paths,
                                         std::vector<std::string>* missing) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file(ec) && e.path().extension() == ".json")
          in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) missing->push_back(p + " (no *.json files in it)");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      missing->push_back(p);
    }
  }
  return files;
}

int RunConversationTestFiles(const content::Content& content, const std::vector<std::string>& files,
                             std::ostream& out, ConversationTestSummary* summary) {
  ConversationTestSummary s;
  for (const auto& path : files) {
    ++s.files;
    ConversationTestFile file;
    std::vector<engine::Diagnostic> diags;
    if (!LoadConversationTestFile(path, path, content, &file, &diags)) {
      ++s.malformed;
      out << "ERROR " << path << ": not a valid conversation test file:\n";
      std::stable_sort(diags.begin(), diags.end(),
                       [](const engine::Diagnostic& a, const engine::Diagnostic& b) {
                         return std::pair(a.where.line, a.where.column) <
                                std::pair(b.where.line, b.where.column);
                       });
      for (const auto& d : diags) out << "  " << d.ToString() << "\n";
      continue;
    }
    for (const auto& conv : file.conversations) {
      ConversationResult r = RunConversation(content, file, conv, out);
      ++s.conversations;
      s.turns += r.turns_run;
      if (!r.passed) ++s.failed;
    }
  }
  out << s.conversations << " conversations, " << s.turns << " turns, " << s.failed << " failed";
  if (s.malformed) out << ", " << s.malformed << " malformed file(s)";
  out << "\n";
  if (summary) *summary = s;
  if (s.malformed) return 2;
  return s.failed ? 1 : 0;
}

}  // namespace backline::cli
