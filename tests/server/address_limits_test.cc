#include "server/internal/address_limits.h"

#include <string>

#include <gtest/gtest.h>

namespace backline::server::internal {
namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kNoon = 20000 * kDay + kDay / 2;  // a UTC noon

AddressLimits::Settings Small() {
  AddressLimits::Settings s;
  s.connections = 2;
  s.messages_per_minute = 6;
  s.turns_per_day = 10;
  s.bytes_per_day = 1000;
  s.unanswered_per_day = 2;
  s.feedback_per_day = 1;
  s.capacity = 160;
  return s;
}

TEST(AddressLimitsTest, KeysIPv6ByItsSlash64AndMappedIPv4AsIPv4) {
  EXPECT_EQ(AddressLimits::Key("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(AddressLimits::Key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressLimits::Key("2001:db8:1:2::1"), AddressLimits::Key("2001:db8:1:2:ffff::9"));
  EXPECT_NE(AddressLimits::Key("2001:db8:1:2::1"), AddressLimits::Key("2001:db8:1:3::1"));
  EXPECT_EQ(AddressLimits::Key("::ffff:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(AddressLimits::Key("not an address"), "not an address");
}

TEST(AddressLimitsTest, ConnectionsAreCountedPerAddress) {
  AddressLimits limits(Small());
  EXPECT_TRUE(limits.Connect("10.0.0.1", kNoon));
  EXPECT_TRUE(limits.Connect("10.0.0.1", kNoon));
  EXPECT_FALSE(limits.Connect("10.0.0.1", kNoon));
  EXPECT_TRUE(limits.Connect("10.0.0.2", kNoon));
  limits.Disconnect("10.0.0.1");
  EXPECT_TRUE(limits.Connect("10.0.0.1", kNoon));
  // Two addresses of one /64 are one.
  EXPECT_TRUE(limits.Connect("2001:db8::1", kNoon));
  EXPECT_TRUE(limits.Connect("2001:db8::2", kNoon));
  EXPECT_FALSE(limits.Connect("2001:db8::3", kNoon));
}

TEST(AddressLimitsTest, TheMessageRateRefillsOverTheMinute) {
  AddressLimits limits(Small());
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, kNoon), AddressLimits::Verdict::kOk) << i;
  }
  EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, kNoon), AddressLimits::Verdict::kRateLimited);
  EXPECT_EQ(limits.ChargeMessage("10.0.0.2", 10, kNoon), AddressLimits::Verdict::kOk);
  // Six a minute: one more every 10 s.
  EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, kNoon + 9000),
            AddressLimits::Verdict::kRateLimited);
  EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, kNoon + 10000), AddressLimits::Verdict::kOk);
}

TEST(AddressLimitsTest, TurnsAndBytesAreBoundedPerUtcDay) {
  AddressLimits limits(Small());
  int64_t t = kNoon;
  for (int i = 0; i < 10; ++i, t += 60000) {
    EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, t), AddressLimits::Verdict::kOk) << i;
  }
  EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, t), AddressLimits::Verdict::kDailyLimit);
  EXPECT_EQ(limits.ChargeMessage("10.0.0.1", 10, kNoon + kDay), AddressLimits::Verdict::kOk);
  // Bytes: 1000 a day.
  EXPECT_EQ(limits.ChargeMessage("10.0.0.3", 900, kNoon), AddressLimits::Verdict::kOk);
  EXPECT_EQ(limits.ChargeMessage("10.0.0.3", 200, kNoon), AddressLimits::Verdict::kDailyLimit);
  EXPECT_EQ(limits.ChargeMessage("10.0.0.3", 100, kNoon), AddressLimits::Verdict::kOk);
}

TEST(AddressLimitsTest, UnansweredAndFeedbackHaveDailyQuotas) {
  AddressLimits limits(Small());
  EXPECT_TRUE(limits.ChargeUnanswered("10.0.0.1", kNoon));
  EXPECT_TRUE(limits.ChargeUnanswered("10.0.0.1", kNoon));
  EXPECT_FALSE(limits.ChargeUnanswered("10.0.0.1", kNoon));
  EXPECT_TRUE(limits.ChargeFeedback("10.0.0.1", kNoon));
  EXPECT_FALSE(limits.ChargeFeedback("10.0.0.1", kNoon));
  EXPECT_TRUE(limits.ChargeFeedback("10.0.0.1", kNoon + kDay));
  EXPECT_TRUE(limits.ChargeUnanswered("10.0.0.1", kNoon + kDay));
}

TEST(AddressLimitsTest, TheTableIsBoundedAndKeepsAddressesWithConnections) {
  AddressLimits limits(Small());  // 160: 10 per shard
  ASSERT_TRUE(limits.Connect("10.9.9.9", kNoon));
  ASSERT_TRUE(limits.Connect("10.9.9.9", kNoon));
  for (int i = 0; i < 100000; ++i) {
    limits.ChargeMessage("10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) +
                             "." + std::to_string(i % 256),
                         1, kNoon);
  }
  EXPECT_LE(limits.size(), 170u);
  // The address with open connections was not forgotten: it is still at its limit.
  EXPECT_FALSE(limits.Connect("10.9.9.9", kNoon));
}

}  // namespace
}  // namespace backline::server::internal
