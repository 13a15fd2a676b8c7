#include "server/protocol.h"

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "content/content.h"
#include "content/reply_json.h"
#include "tests/support/build_paths.h"

namespace backline::server {
namespace {

using json = nlohmann::json;

TEST(StateFromJsonTest, ReadsBackWhatStateToJsonWrote) {
  engine::SessionState s;
  s.state = "ask-where";
  s.slots["where"] = "lower back";
  s.offers.push_back(engine::Offer{"Is ibuprofen safe?", "nsaids-bone-pain"});
  s.turns = 7;
  engine::SessionState back;
  ASSERT_TRUE(StateFromJson(StateToJson(s), &back));
  EXPECT_EQ(back, s);
}

// Found while writing tests/fuzz/protocol_fuzzer (tests/fuzz/regressions/protocol_fuzzer/
// replays these under UBSan): "v" and "turns" were read with a plain cast, undefined behaviour
// for a float out of range.
TEST(StateFromJsonTest, RefusesNumbersThatAreNotAWholeNumberInRange) {
  const json good = json::parse(R"({"v":1,"state":"","slots":{},"offers":[],"turns":2})");
  for (const auto& [key, value] : {std::pair<const char*, json>{"v", 1e300},
                                   {"v", 1.0},
                                   {"v", 0},
                                   {"v", -1},
                                   {"turns", 1e300},
                                   {"turns", -1},
                                   {"turns", 2147483648LL},
                                   {"turns", "2"}}) {
    json j = good;
    j[key] = value;
    engine::SessionState state;
    state.turns = 5;
    EXPECT_FALSE(StateFromJson(j, &state)) << j.dump();
    EXPECT_EQ(state.turns, 5) << "left untouched: " << j.dump();
  }
  engine::SessionState state;
  EXPECT_TRUE(StateFromJson(good, &state));
  EXPECT_EQ(state.turns, 2);
}

// ReplyFrame and StateJson write their JSON by hand (a reply per turn); these hold them to the
// bytes nlohmann::json writes for the same values, which is what every other frame uses.
std::string ReferenceReplyFrame(const engine::Reply& reply, int64_t seq) {
  json j = content::ReplyToJson(reply);
  j["type"] = "reply";
  j["seq"] = seq;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Strings that need every kind of escape, and some that need none.
const std::vector<std::string> kAwkwardTexts = {
    "",
    "plain words",
    "a \"quoted\" word and a back\\slash",
    "new\nline, tab\t, return\r, bell\x07, backspace\b, form feed\f, escape\x1b, unit\x1f",
    std::string("a NUL \0 inside", 15),
    "DEL \x7f is left as it is, so is / (a slash)",
    "caf\xc3\xa9, \xe2\x80\x94 a dash, \xf0\x9f\x92\x99 a heart",
    "</script><script>alert(1)</script>",
};

TEST(ReplyFrameTest, WritesTheBytesNlohmannJsonWrites) {
  engine::Reply r;
  r.kind = engine::ReplyKind::kAnswer;
  r.topic = "pain-medicines";
  r.text = "Ask your care team.";
  EXPECT_EQ(ReplyFrame(r, 1), ReferenceReplyFrame(r, 1));  // only the fields always there

  for (const std::string& t : kAwkwardTexts) {
    engine::Reply full;
    full.text = t;
    full.topic = t;
    full.kind = engine::ReplyKind::kEscalation;
    full.urgency = engine::Urgency::kEmergency;
    full.entry_id = t + "-entry";
    full.intent_id = t + "-intent";
    full.red_flag_kind = t + "E1";
    full.tell_them = t + " tell them";
    full.quick_replies = {t, "second", t + "third"};
    full.sources = {{t, "https://example.org/" + t}, {"title", "https://example.org/"}};
    for (double score : {0.0, 1.0, 0.5, 0.72, 0.1234567, 0.0004, 0.0006, 0.9999}) {
      full.score = score;
      for (int64_t seq : {int64_t{1}, int64_t{42}, int64_t{9007199254740993}}) {
        EXPECT_EQ(ReplyFrame(full, seq), ReferenceReplyFrame(full, seq))
            << "text " << json(t).dump() << " score " << score << " seq " << seq;
      }
    }
  }
}

// The reply frame's keys but type, seq, text, topic, urgency and kind; "" when none is left.
std::string ReferenceReplyParts(const engine::Reply& reply) {
  json j = content::ReplyToJson(reply);
  for (const char* core : {"text", "topic", "urgency", "kind"}) j.erase(core);
  return j.empty() ? "" : j.dump(-1, ' ', false, json::error_handler_t::replace);
}

TEST(ReplyPartsTest, AreTheReplyFramesOtherKeysAsNlohmannJsonWritesThem) {
  engine::Reply r;
  r.kind = engine::ReplyKind::kAnswer;
  r.topic = "pain-medicines";
  r.text = "Ask your care team.";
  EXPECT_EQ(ReplyParts(r), "");
  for (const std::string& t : kAwkwardTexts) {
    engine::Reply full;
    full.text = t;
    full.topic = t;
    full.kind = engine::ReplyKind::kEscalation;
    full.urgency = engine::Urgency::kUrgent;
    full.entry_id = t + "-entry";
    full.red_flag_kind = t + "U1";
    full.tell_them = t + " tell them";
    full.quick_replies = {t, "second"};
    full.sources = {{t, "https://example.org/" + t}};
    full.screening = true;
    full.score = 0.72;
    EXPECT_EQ(ReplyParts(full), ReferenceReplyParts(full)) << json(t).dump();
    full.text = "\xff bad";  // the fallback through nlohmann::json
    full.quick_replies = {"\xc0\xaf"};
    EXPECT_EQ(ReplyParts(full), ReferenceReplyParts(full));
  }
}

TEST(HistoryFrameTest, EachTurnCarriesItsPartsButNeverLetsThemReplaceItsOwnFields) {
  store::TurnRecord a;
  a.seq = 1;
  a.user_text = "is it safe during chemo";
  a.reply_text = "Did you mean one of these?";
  a.topic = "exercise";
  a.urgency = "none";
  a.kind = "clarify";
  a.replied_ms = 5;
  a.parts = R"({"quick_replies":["one","two"],"seq":99,"text":"not this","reply":"nor this"})";
  store::TurnRecord b = a;
  b.seq = 2;
  b.parts = "not json";
  store::TurnRecord c = a;
  c.seq = 3;
  c.parts = "[1,2]";
  const json h = json::parse(HistoryFrame({a, b, c}));
  ASSERT_EQ(h["turns"].size(), 3u) << h.dump();
  const json& t = h["turns"][0];
  EXPECT_EQ(t["quick_replies"], json::array({"one", "two"})) << t.dump();
  EXPECT_EQ(t["seq"], 1);
  EXPECT_EQ(t["text"], "is it safe during chemo");
  EXPECT_EQ(t["reply"], "Did you mean one of these?");
  EXPECT_EQ(t["kind"], "clarify");
  for (size_t i : {size_t{1}, size_t{2}}) {
    EXPECT_FALSE(h["turns"][i].contains("quick_replies")) << h["turns"][i].dump();
    EXPECT_EQ(h["turns"][i]["reply"], "Did you mean one of these?");
  }
}

TEST(ReplyFrameTest, BadUtf8IsReplacedAsInEveryOtherFrame) {
  engine::Reply r;
  r.kind = engine::ReplyKind::kAnswer;
  r.topic = "t";
  for (const std::string bad : {"\xff", "ab\xc3", "\xed\xa0\x80 surrogate", "\xc0\xaf overlong"}) {
    r.text = bad;
    const std::string frame = ReplyFrame(r, 3);
    EXPECT_EQ(frame, ReferenceReplyFrame(r, 3)) << json(frame).dump();
    EXPECT_TRUE(IsValidUtf8(frame));
    r.text = "fine";
    r.sources = {{"title", bad}};
    EXPECT_EQ(ReplyFrame(r, 3), ReferenceReplyFrame(r, 3));
    r.sources.clear();
  }
}

TEST(ReplyFrameTest, EveryReplyOfTheShippedContentIsWrittenAsNlohmannJsonWritesIt) {
  std::vector<engine::Diagnostic> diags;
  const auto loaded = content::LoadContent(content::DefaultContentPaths(), &diags);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const auto& content = loaded.value();
  // The bench's mixed messages, then each carried on in one conversation, so that dialog
  // states, slots and offers show up in the state as well.
  std::ifstream in(std::string(build::kSourceDir) + "/bench/messages.txt");
  ASSERT_TRUE(in) << "bench/messages.txt";
  std::vector<std::string> messages;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') messages.push_back(line);
  }
  ASSERT_GE(messages.size(), 30u);
  const engine::Clinic& clinic = content->ClinicOrDefault("default");
  engine::SessionState state;
  int offers_seen = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const engine::TurnResult fresh =
        content->engine->Turn(engine::SessionState{}, messages[i], clinic);
    EXPECT_EQ(ReplyFrame(fresh.reply, 7), ReferenceReplyFrame(fresh.reply, 7)) << messages[i];
    const engine::TurnResult carried = content->engine->Turn(state, messages[i], clinic);
    state = carried.state;
    offers_seen += state.offers.empty() ? 0 : 1;
    EXPECT_EQ(ReplyFrame(carried.reply, static_cast<int64_t>(i) + 1),
              ReferenceReplyFrame(carried.reply, static_cast<int64_t>(i) + 1))
        << messages[i];
    EXPECT_EQ(StateJson(state), StateToJson(state).dump()) << messages[i];
  }
  EXPECT_GT(offers_seen, 0) << "no reply offered quick replies: the state test saw no offers";
}

TEST(StateJsonTest, WritesTheBytesNlohmannJsonWrites) {
  engine::SessionState empty;
  EXPECT_EQ(StateJson(empty), StateToJson(empty).dump());
  for (const std::string& t : kAwkwardTexts) {
    engine::SessionState s;
    s.state = t;
    s.slots[t] = t;
    s.slots["where"] = "lower back";
    s.slots["a"] = "first in order";
    s.offers.push_back(engine::Offer{t, "entry-" + t});
    s.offers.push_back(engine::Offer{"Is ibuprofen safe?", "nsaids-bone-pain"});
    s.turns = 2147483647;
    EXPECT_EQ(StateJson(s), StateToJson(s).dump()) << json(t).dump();
    engine::SessionState back;
    ASSERT_TRUE(StateFromJson(json::parse(StateJson(s)), &back));
    EXPECT_EQ(back, s);
  }
}

TEST(StateJsonTest, BadUtf8IsReplacedNotThrown) {
  engine::SessionState s;
  s.slots["where"] = "\xff\xfe";
  const std::string written = StateJson(s);
  EXPECT_TRUE(IsValidUtf8(written));
  EXPECT_EQ(written, StateToJson(s).dump(-1, ' ', false, json::error_handler_t::replace));
}

// Every place a byte that needs an escape can take in and around an 8-byte block.
TEST(ReplyFrameTest, EscapesAreFoundAtEveryOffset) {
  const std::vector<std::string> specials = {"\"",   "\\",   "\n",      std::string(1, '\0'),
                                             "\x1f", "\x7f", "\xc3\xa9"};
  for (const std::string& special : specials) {
    for (size_t length = 0; length <= 24; ++length) {
      for (size_t at = 0; at <= length; ++at) {
        std::string text(length, 'a');
        text.insert(at, special);
        engine::Reply r;
        r.kind = engine::ReplyKind::kAnswer;
        r.text = text;
        ASSERT_EQ(ReplyFrame(r, 1), ReferenceReplyFrame(r, 1)) << json(text).dump();
      }
    }
  }
}

// IsValidUtf8 skips ASCII 8 bytes at a time: a bad or a good sequence must be seen wherever it
// falls in a block.
TEST(IsValidUtf8Test, SeesASequenceAtEveryOffset) {
  const std::vector<std::string> good = {"\xc3\xa9", "\xe2\x80\x94", "\xf0\x9f\x92\x99", "\x7f",
                                         std::string(1, '\0')};
  const std::vector<std::string> bad = {"\xff",
                                        "\x80",
                                        "\xc3",              // lone continuation, truncated
                                        "\xc0\xaf",          // overlong '/'
                                        "\xed\xa0\x80",      // a surrogate
                                        "\xf4\x90\x80\x80",  // above U+10FFFF
                                        "\xe2\x80",
                                        "\xe2\x28\xa1"};
  for (size_t length = 0; length <= 24; ++length) {
    for (size_t at = 0; at <= length; ++at) {
      for (const std::string& g : good) {
        std::string text(length, 'x');
        text.insert(at, g);
        EXPECT_TRUE(IsValidUtf8(text)) << length << " " << at;
        EXPECT_TRUE(json::accept("\"" + text + "\"") || g[0] == '\0');
      }
      for (const std::string& b : bad) {
        std::string text(length, 'x');
        text.insert(at, b);
        EXPECT_FALSE(IsValidUtf8(text))
            << json(b).dump(-1, ' ', false, json::error_handler_t::replace) << " at " << at
            << " of " << length;
      }
    }
  }
}

void ExpectSameFrame(std::string_view payload) {
  const ClientFrame fast = ParseClientFrame(payload);
  const ClientFrame tree = ParseClientFrameWithTree(payload);
  const std::string shown =
      json(std::string(payload)).dump(-1, ' ', false, json::error_handler_t::replace);
  EXPECT_EQ(fast.type, tree.type) << shown;
  EXPECT_EQ(fast.text, tree.text) << shown;
  EXPECT_EQ(fast.seq, tree.seq) << shown;
  EXPECT_EQ(fast.rating, tree.rating) << shown;
  EXPECT_EQ(fast.comment, tree.comment) << shown;
  EXPECT_EQ(fast.error_code, tree.error_code) << shown;
  EXPECT_EQ(fast.error_message, tree.error_message) << shown;
}

const std::vector<std::string> kClientFrames = {
    R"({"type":"message","text":"my back hurts"})",
    " \t\r\n{ \"type\" : \"message\" ,\n \"text\" : \"my back hurts\" } \n",
    R"({"text":"can I take ibuprofen?","type":"message"})",
    R"({"type":"message","text":"a \"quote\", a \\ back\/slash \b\f\n\r\t"})",
    R"({"type":"message","text":"caf\u00e9 \ud83d\udc99"})",
    "{\"type\":\"message\",\"text\":\"caf\xc3\xa9 \xf0\x9f\x92\x99\"}",
    R"({"type":"message","text":"first","text":"second"})",
    R"({"type":"ping","type":"message","text":"last type counts"})",
    R"({"type":"message","text":"x","extra":"ignored","more":"too"})",
    R"({"type":"message","text":"x","extra":{"nested":[1,2]}})",
    R"({"type":"message","text":"   "})",
    R"({"type":"message","text":" \n\t"})",
    R"({"type":"message"})",
    R"({"type":"message","text":5})",
    R"({"type":"message","text":null})",
    R"({"type":"history"})",
    R"({"type":"history","text":"ignored"})",
    R"({"type":"delete"})",
    R"({"type":"ping"})",
    R"({"type":"feedback","seq":3,"rating":-1,"comment":"thanks"})",
    R"({"type":"feedback","seq":3,"rating":2})",
    R"({"type":"dance"})",
    R"({"type":"Message","text":"case counts"})",
    R"({"type":5})",
    R"({"text":"no type"})",
    R"({})",
    R"([])",
    R"("message")",
    "",
    "   ",
    R"({"type":"message","text":"x"} trailing)",
    R"({"type":"message","text":"x"}})",
    R"({"type":"message","text":"x",})",
    R"({"type":"message" "text":"x"})",
    R"({"type":"message","text":"x")",
    R"({"type":"message","text":"x)",
    R"({'type':'message','text':'x'})",
    R"({"type":"message","text":"bad \x escape"})",
    R"({"type":"message","text":"lone \ud83d surrogate"})",
    "{\"type\":\"message\",\"text\":\"raw\ncontrol\"}",
    "{\"type\":\"message\",\"text\":\"bad \xff utf-8\"}",
    "\xef\xbb\xbf{\"type\":\"message\",\"text\":\"after a BOM\"}",
    R"({"type":"message","te\/xt":"escaped key"})",
    R"({"typ\u0065":"message","text":"\u escaped key"})",
};

// The common frames are read without a JSON tree; every frame must come out exactly as the
// tree reads it, errors included.
TEST(ParseClientFrameTest, ReadsEveryFrameAsTheTreeReadsIt) {
  for (const std::string& payload : kClientFrames) ExpectSameFrame(payload);
  EXPECT_EQ(ParseClientFrame(kClientFrames[0]).text, "my back hurts");
  EXPECT_EQ(ParseClientFrame(kClientFrames[6]).text, "second");
  EXPECT_EQ(ParseClientFrame(kClientFrames[7]).type, "message");
  EXPECT_EQ(ParseClientFrame(kClientFrames[3]).text, "a \"quote\", a \\ back/slash \b\f\n\r\t");
  EXPECT_EQ(ParseClientFrame(kClientFrames[10]).error_code, "empty_message");
}

// The same over many small random edits of those frames (a fixed seed: the same edits every
// run), which reach the corners a list does not.
TEST(ParseClientFrameTest, ReadsEditedFramesAsTheTreeReadsThem) {
  std::mt19937 rng(20261127);
  const std::string alphabet =
      "{}[]:,\"\\/ \t\nbfnrtu0123456789abcdefmessagetypext\x01\x7f\xc3\xa9";
  auto pick = [&rng](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  size_t usable = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string p = kClientFrames[pick(kClientFrames.size())];
    const size_t edits = 1 + pick(3);
    for (size_t e = 0; e < edits; ++e) {
      const size_t at = pick(p.size() + 1);
      const char c = alphabet[pick(alphabet.size())];
      switch (pick(3)) {
        case 0:
          p.insert(p.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 1:
          if (at < p.size()) p.erase(at, 1);
          break;
        default:
          if (at < p.size()) p[at] = c;
      }
    }
    ExpectSameFrame(p);
    usable += ParseClientFrame(p).error_code.empty();
    if (HasFailure()) break;
  }
  EXPECT_GT(usable, 1000u);  // the edits must not all make frames unusable
}

}  // namespace
}  // namespace backline::server
