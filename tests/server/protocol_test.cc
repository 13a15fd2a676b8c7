#include "server/protocol.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace backline::server
