#include "server/protocol.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/content.h"
#include "server/reply_json.h"
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
  for (const auto& [key, value] :
       {std::pair<const char*, json>{"v", 1e300}, {"v", 1.0}, {"v", 0}, {"v", -1},
        {"turns", 1e300}, {"turns", -1}, {"turns", 2147483648LL}, {"turns", "2"}}) {
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
  json j = ReplyToJson(reply);
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
  r.kind = "answer";
  r.topic = "pain-medicines";
  r.text = "Ask your care team.";
  EXPECT_EQ(ReplyFrame(r, 1), ReferenceReplyFrame(r, 1));  // only the fields always there

  for (const std::string& t : kAwkwardTexts) {
    engine::Reply full;
    full.text = t;
    full.topic = t;
    full.kind = t;
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

TEST(ReplyFrameTest, BadUtf8IsReplacedAsInEveryOtherFrame) {
  engine::Reply r;
  r.kind = "answer";
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
  const auto content = LoadContent(DefaultContentPaths(), &diags);
  ASSERT_NE(content, nullptr);
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
    const engine::TurnResult fresh = content->engine->Turn(engine::SessionState{}, messages[i], clinic);
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
  const std::vector<std::string> specials = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f",
                                             "\x7f", "\xc3\xa9"};
  for (const std::string& special : specials) {
    for (size_t length = 0; length <= 24; ++length) {
      for (size_t at = 0; at <= length; ++at) {
        std::string text(length, 'a');
        text.insert(at, special);
        engine::Reply r;
        r.kind = "answer";
        r.text = text;
        ASSERT_EQ(ReplyFrame(r, 1), ReferenceReplyFrame(r, 1)) << json(text).dump();
      }
    }
  }
}

// IsValidUtf8 skips ASCII 8 bytes at a time: a bad or a good sequence must be seen wherever it
// falls in a block.
TEST(IsValidUtf8Test, SeesASequenceAtEveryOffset) {
  const std::vector<std::string> good = {"\xc3\xa9", "\xe2\x80\x94", "\xf0\x9f\x92\x99",
                                         "\x7f", std::string(1, '\0')};
  const std::vector<std::string> bad = {
      "\xff",         "\x80",         "\xc3",  // lone continuation, truncated
      "\xc0\xaf",                               // overlong '/'
      "\xed\xa0\x80",                           // a surrogate
      "\xf4\x90\x80\x80",                       // above U+10FFFF
      "\xe2\x80",     "\xe2\x28\xa1"};
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
        EXPECT_FALSE(IsValidUtf8(text)) << json(b).dump(-1, ' ', false,
                                                       json::error_handler_t::replace)
                                        << " at " << at << " of " << length;
      }
    }
  }
}

}  // namespace
}  // namespace backline::server
