#include "server/internal/throttled_log.h"

#include <gtest/gtest.h>

namespace backline::server::internal {
namespace {

TEST(ThrottledLogTest, LogsTheFirstThenCountsOncePerInterval) {
  ThrottledLog log(60'000);
  int64_t suppressed = -1;
  ASSERT_TRUE(log.Note(1'000, &suppressed));  // the first: at once
  EXPECT_EQ(suppressed, 0);
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(log.Note(2'000 + i * 1'000, &suppressed));
  EXPECT_FALSE(log.Note(60'999, &suppressed));  // 59.999 s after the line: still counted
  ASSERT_TRUE(log.Note(61'000, &suppressed));   // a minute on: one line with the count
  EXPECT_EQ(suppressed, 8);
  EXPECT_FALSE(log.Note(61'001, &suppressed));
  ASSERT_TRUE(log.Note(500'000, &suppressed));  // after a quiet spell: the one it missed
  EXPECT_EQ(suppressed, 1);
  ASSERT_TRUE(log.Note(600'000, &suppressed));
  EXPECT_EQ(suppressed, 0);
}

}  // namespace
}  // namespace backline::server::internal
