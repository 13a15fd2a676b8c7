#include "server/protocol.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "content/reply_json.h"
#include "server/util.h"

namespace backline::server {

using json = nlohmann::json;

namespace {

constexpr uint64_t kEveryByte = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;

uint64_t Load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Whether any byte of `w` is zero / below `n` (n <= 128). Exact about "any" (never a false
// "no"); which byte it was is not needed here.
constexpr uint64_t HasZeroByte(uint64_t w) { return (w - kEveryByte) & ~w & kHighBits; }
constexpr uint64_t HasByteBelow(uint64_t w, uint64_t n) {
  return (w - kEveryByte * n) & ~w & kHighBits;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      // Most text is ASCII: skip it 8 bytes at a time.
      while (i + 8 <= n && (Load8(s.data() + i) & kHighBits) == 0) i += 8;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string NewSessionId() { return RandomHex(16); }

bool IsSessionIdShaped(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

// Appends `s` as a JSON string, escaped as nlohmann::json::dump escapes it (ensure_ascii off):
// the two-character escapes, \u00XX in lower-case hex for other control characters, every
// other byte as it is. REQUIRES: `s` is valid UTF-8.
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t plain = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    // Skip 8 bytes at a time while none needs an escape (a control character, '"', '\\').
    while (i + 8 <= s.size()) {
      const uint64_t w = Load8(s.data() + i);
      if (HasByteBelow(w, 0x20) | HasZeroByte(w ^ (kEveryByte * '"')) |
          HasZeroByte(w ^ (kEveryByte * '\\'))) {
        break;
      }
      i += 8;
    }
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s, plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default: {
        static constexpr char kHexDigits[] = "0123456789abcdef";
        *out += "\\u00";
        out->push_back(kHexDigits[c >> 4]);
        out->push_back(kHexDigits[c & 0xF]);
      }
    }
  }
  out->append(s, plain, std::string_view::npos);
  out->push_back('"');
}

// As ReplyToJson rounds a score.
double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

json StateToJson(const engine::SessionState& s) {
  json offers = json::array();
  for (const auto& o : s.offers) offers.push_back({{"label", o.label}, {"entry", o.entry_id}});
  return {{"v", 1}, {"state", s.state}, {"slots", s.slots}, {"offers", offers}, {"turns", s.turns}};
}

std::string StateJson(const engine::SessionState& s) {
  bool all_valid = IsValidUtf8(s.state);
  for (const auto& [k, v] : s.slots) all_valid = all_valid && IsValidUtf8(k) && IsValidUtf8(v);
  for (const auto& o : s.offers) {
    all_valid = all_valid && IsValidUtf8(o.label) && IsValidUtf8(o.entry_id);
  }
  if (!all_valid) return StateToJson(s).dump(-1, ' ', false, json::error_handler_t::replace);

  // What StateToJson(s).dump() writes, keys in the same (sorted) order, without the tree.
  std::string out = "{\"offers\":[";
  bool first = true;
  for (const auto& o : s.offers) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"entry\":";
    AppendJsonString(&out, o.entry_id);
    out += ",\"label\":";
    AppendJsonString(&out, o.label);
    out.push_back('}');
  }
  out += "],\"slots\":{";
  first = true;
  for (const auto& [k, v] : s.slots) {  // a std::map: already in nlohmann's key order
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonString(&out, v);
  }
  out += "},\"state\":";
  AppendJsonString(&out, s.state);
  out += ",\"turns\":";
  out += std::to_string(s.turns);
  out += ",\"v\":1}";
  return out;
}

bool StateFromJson(const json& j, engine::SessionState* out) {
  // Numbers are checked before they are read: nlohmann::json converts a number that does not
  // fit by a plain cast (undefined behaviour for a float such as 1e300).
  auto whole = [&j](const char* key, int64_t lo, int64_t hi) {
    auto n = j.find(key);
    if (n == j.end()) return false;
    if (n->is_number_unsigned()) {
      const uint64_t u = n->get<uint64_t>();
      return std::cmp_greater_equal(u, lo) && std::cmp_less_equal(u, hi);
    }
    return n->is_number_integer() && n->get<int64_t>() >= lo && n->get<int64_t>() <= hi;
  };
  if (!j.is_object() || !whole("v", 1, 1) || !whole("turns", 0, std::numeric_limits<int>::max())) {
    return false;
  }
  engine::SessionState s;
  try {
    s.state = j.at("state").get<std::string>();
    s.slots = j.at("slots").get<std::map<std::string, std::string>>();
    for (const auto& o : j.at("offers")) {
      s.offers.push_back(
          engine::Offer{o.at("label").get<std::string>(), o.at("entry").get<std::string>()});
    }
    s.turns = j.at("turns").get<int>();
  } catch (const json::exception&) {
    return false;
  }
  *out = std::move(s);
  return true;
}

namespace {

// The frames a chat sends nearly every time, {"type":"message","text":"..."} and the other
// types without fields, read without building a JSON tree. Only an object whose members are
// all strings with no \u escape is read here; anything else, and any frame that needs an
// error, returns false and goes through nlohmann::json (ParseClientFrameWithTree), so that
// every error and every unusual frame is handled in one place. Where both read a frame they
// agree, duplicate keys included (the last one counts): tests/server/protocol_test.cc and
// tests/fuzz/protocol_fuzzer.cc compare the two. REQUIRES: `p` is valid UTF-8.
bool ParseCommonClientFrame(std::string_view p, ClientFrame* f) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < p.size() && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) ++i;
  };
  auto read_string = [&](std::string* out) {
    if (i >= p.size() || p[i] != '"') return false;
    ++i;
    out->clear();
    size_t plain = i;
    while (i < p.size()) {
      const auto c = static_cast<unsigned char>(p[i]);
      if (c == '"') {
        out->append(p, plain, i - plain);
        ++i;
        return true;
      }
      if (c < 0x20) return false;  // not JSON: nlohmann says so
      if (c != '\\') {
        ++i;
        continue;
      }
      out->append(p, plain, i - plain);
      if (i + 1 >= p.size()) return false;
      switch (p[i + 1]) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        default:
          return false;  // \u (surrogates and all) or an invalid escape
      }
      i += 2;
      plain = i;
    }
    return false;
  };
  skip_space();
  if (i >= p.size() || p[i] != '{') return false;
  ++i;
  skip_space();
  bool has_type = false, has_text = false;
  std::string key, value;
  if (i < p.size() && p[i] == '}') {
    ++i;
  } else {
    while (true) {
      if (!read_string(&key)) return false;
      skip_space();
      if (i >= p.size() || p[i] != ':') return false;
      ++i;
      skip_space();
      if (!read_string(&value)) return false;
      if (key == "type") {
        f->type = value;
        has_type = true;
      } else if (key == "text") {
        f->text = value;
        has_text = true;
      }
      skip_space();
      if (i < p.size() && p[i] == ',') {
        ++i;
        skip_space();
        continue;
      }
      if (i < p.size() && p[i] == '}') {
        ++i;
        break;
      }
      return false;
    }
  }
  skip_space();
  if (i != p.size() || !has_type) return false;
  if (f->type == "message") {
    return has_text && f->text.find_first_not_of(" \t\r\n") != std::string::npos;
  }
  if (f->type == "history" || f->type == "delete" || f->type == "ping") {
    f->text.clear();
    return true;
  }
  return false;  // feedback has numbers; anything else is an error
}

}  // namespace

ClientFrame ParseClientFrame(std::string_view payload) {
  if (IsValidUtf8(payload)) {
    ClientFrame f;
    if (ParseCommonClientFrame(payload, &f)) return f;
  }
  return ParseClientFrameWithTree(payload);
}

ClientFrame ParseClientFrameWithTree(std::string_view payload) {
  ClientFrame f;
  auto fail = [&](const char* code, std::string message) {
    f.type.clear();
    f.error_code = code;
    f.error_message = std::move(message);
    return f;
  };
  if (!IsValidUtf8(payload)) return fail("invalid_utf8", "The message is not valid UTF-8 text.");
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail("invalid_json",
                "The message is not valid JSON. Send {\"type\": \"message\", \"text\": \"...\"}.");
  }
  if (!j.is_object()) return fail("invalid_json", "A message must be a JSON object.");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    return fail("missing_type", "Every message needs a \"type\" field.");
  }
  f.type = type->get<std::string>();
  if (f.type == "message") {
    auto text = j.find("text");
    if (text == j.end() || !text->is_string()) {
      return fail("bad_field", "A \"message\" needs a \"text\" string.");
    }
    f.text = text->get<std::string>();
    if (f.text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return fail("empty_message", "The message is empty.");
    }
  } else if (f.type == "feedback") {
    auto seq = j.find("seq");
    auto rating = j.find("rating");
    // Checked before any narrowing: as an int, 4294967297 would be 1, and as an int64_t the
    // unsigned 18446744073709551615 would be -1.
    auto is_rating = [](const json& r) {
      if (r.is_number_unsigned()) return r.get<uint64_t>() == 1;
      return r.is_number_integer() && (r.get<int64_t>() == 1 || r.get<int64_t>() == -1);
    };
    if (seq == j.end() || !seq->is_number_integer() || rating == j.end() || !is_rating(*rating)) {
      return fail("bad_field",
                  "\"feedback\" needs \"seq\" (a turn number) and \"rating\" (1 or -1).");
    }
    f.seq = seq->get<int64_t>();
    f.rating = static_cast<int>(rating->get<int64_t>());
    if (auto c = j.find("comment"); c != j.end() && c->is_string()) {
      f.comment = c->get<std::string>().substr(0, 1000);
    }
  } else if (f.type == "resume") {
    auto session = j.find("session");
    if (session == j.end() || !session->is_string()) {
      return fail("bad_field", "A \"resume\" needs a \"session\" string.");
    }
    // Longer than any id we give is not ours; cut, so that nothing big is kept.
    f.session = session->get<std::string>().substr(0, 64);
  } else if (f.type != "history" && f.type != "delete" && f.type != "ping") {
    const std::string t = f.type.substr(0, 40);
    return fail("unknown_type", "Unknown message type \"" + t + "\".");
  }
  return f;
}

std::string ErrorFrame(std::string_view code, std::string_view message) {
  // A message may quote the client's own bytes (an unknown type, cut to a length that can
  // split a UTF-8 sequence): dump() would throw on invalid UTF-8 and take the server down, so
  // invalid bytes become U+FFFD. (Found by tests/fuzz/protocol_fuzzer.)
  return json{{"type", "error"}, {"code", code}, {"message", message}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

std::string WelcomeFrame(const std::string& session, bool resumed, const engine::Clinic& clinic,
                         const engine::Reply& welcome, int64_t turns) {
  json j = content::ReplyToJson(welcome);
  j["type"] = "welcome";
  j["session"] = session;
  j["resumed"] = resumed;
  j["protocol"] = kProtocolVersion;
  j["clinic"] = {{"id", clinic.id},
                 {"name", clinic.name},
                 {"emergency_number", clinic.emergency_number},
                 {"care_team_phone", clinic.care_team_phone},
                 {"after_hours_phone", clinic.after_hours_phone},
                 {"crisis_line", clinic.crisis_line},
                 {"remember_conversation_hours", clinic.remember_conversation_hours}};
  j["turns"] = turns;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The keys of a reply frame that are not its parts (ReplyParts).
bool IsCoreReplyKey(std::string_view key) {
  return key == "type" || key == "seq" || key == "text" || key == "topic" || key == "urgency" ||
         key == "kind";
}

// The reply frame, or (parts_only) the object of its parts, "" if that would be empty.
std::string WriteReply(const engine::Reply& reply, int64_t seq, bool parts_only) {
  // Every text of a reply comes from the content or the engine, and is valid UTF-8 after the
  // content checks; should one not be, nlohmann::json replaces its bad bytes as the other
  // frames do.
  bool all_valid = IsValidUtf8(reply.text) && IsValidUtf8(reply.topic) &&
                   IsValidUtf8(reply.entry_id) && IsValidUtf8(reply.intent_id) &&
                   IsValidUtf8(reply.red_flag_kind) && IsValidUtf8(reply.tell_them);
  for (const auto& q : reply.quick_replies) all_valid = all_valid && IsValidUtf8(q);
  for (const auto& src : reply.sources) {
    all_valid = all_valid && IsValidUtf8(src.title) && IsValidUtf8(src.url);
  }
  if (!all_valid) {
    json j = content::ReplyToJson(reply);
    if (parts_only) {
      for (auto it = j.begin(); it != j.end();) {
        it = IsCoreReplyKey(it.key()) ? j.erase(it) : std::next(it);
      }
      return j.empty() ? "" : j.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    j["type"] = "reply";
    j["seq"] = seq;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // The bytes ReplyToJson(reply) plus "type" and "seq" would dump to (keys in std::map order,
  // as nlohmann::json writes them), without building the tree: a reply per turn made that
  // tree a real part of a turn's cost. tests/server/protocol_test.cc holds the two equal.
  std::string out;
  out.reserve(160 + reply.text.size() + reply.tell_them.size());
  char sep = '{';
  const auto key = [&](std::string_view k) {
    out.push_back(sep);
    sep = ',';
    AppendJsonString(&out, k);
    out.push_back(':');
  };
  if (!reply.entry_id.empty()) {
    key("entry");
    AppendJsonString(&out, reply.entry_id);
  }
  if (!reply.intent_id.empty()) {
    key("intent");
    AppendJsonString(&out, reply.intent_id);
  }
  if (!parts_only) {
    key("kind");
    AppendJsonString(&out, engine::ReplyKindName(reply.kind));
  }
  if (!reply.quick_replies.empty()) {
    key("quick_replies");
    char item = '[';
    for (const auto& q : reply.quick_replies) {
      out.push_back(item);
      item = ',';
      AppendJsonString(&out, q);
    }
    out.push_back(']');
  }
  if (!reply.red_flag_kind.empty()) {
    key("red_flag");
    AppendJsonString(&out, reply.red_flag_kind);
  }
  if (reply.score > 0) {
    key("score");
    out += json(Round3(reply.score)).dump();  // nlohmann's shortest form of a double
  }
  if (reply.screening) {
    key("screening");
    out += "true";
  }
  if (!parts_only) {
    key("seq");
    out += std::to_string(seq);
  }
  if (!reply.sources.empty()) {
    key("sources");
    char item = '[';
    for (const auto& src : reply.sources) {
      out.push_back(item);
      item = ',';
      out += "{\"title\":";
      AppendJsonString(&out, src.title);
      out += ",\"url\":";
      AppendJsonString(&out, src.url);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (!reply.tell_them.empty()) {
    key("tell_them");
    AppendJsonString(&out, reply.tell_them);
  }
  if (parts_only) {
    if (sep == '{') return "";  // no part at all
    out.push_back('}');
    return out;
  }
  key("text");
  AppendJsonString(&out, reply.text);
  key("topic");
  AppendJsonString(&out, reply.topic);
  key("type");
  out += "\"reply\"";
  key("urgency");
  AppendJsonString(&out, engine::UrgencyName(reply.urgency));
  out.push_back('}');
  return out;
}

}  // namespace

std::string ReplyFrame(const engine::Reply& reply, int64_t seq) {
  return WriteReply(reply, seq, /*parts_only=*/false);
}

std::string ReplyParts(const engine::Reply& reply) {
  return WriteReply(reply, 0, /*parts_only=*/true);
}

std::string HistoryFrame(const std::vector<store::TurnRecord>& turns) {
  json list = json::array();
  for (const auto& t : turns) {
    json turn = {{"seq", t.seq},      {"text", t.user_text},  {"reply", t.reply_text},
                 {"topic", t.topic},  {"urgency", t.urgency}, {"kind", t.kind},
                 {"at", t.replied_ms}};
    if (!t.parts.empty()) {
      // Written by ReplyParts; whatever else the database holds never replaces a turn's own
      // fields and never fails the history.
      json parts = json::parse(t.parts, nullptr, /*allow_exceptions=*/false);
      if (parts.is_object()) {
        for (auto& [key, value] : parts.items()) {
          if (!turn.contains(key)) turn[key] = std::move(value);
        }
      }
    }
    list.push_back(std::move(turn));
  }
  return json{{"type", "history"}, {"turns", list}}.dump(-1, ' ', false,
                                                         json::error_handler_t::replace);
}

}  // namespace backline::server
