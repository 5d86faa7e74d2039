#include "common/util/retry_after.h"

#include <gtest/gtest.h>

namespace cosp::common {
namespace {

TEST(RetryAfter, ReadsDeltaSecondsOnly) {
  EXPECT_EQ(parseRetryAfterSeconds("0"), 0);
  EXPECT_EQ(parseRetryAfterSeconds("30"), 30);
  EXPECT_EQ(parseRetryAfterSeconds("\t30 "), 30);
  EXPECT_FALSE(parseRetryAfterSeconds("").has_value());
  EXPECT_FALSE(parseRetryAfterSeconds("-1").has_value());
  EXPECT_FALSE(parseRetryAfterSeconds("1.5").has_value());
  EXPECT_FALSE(parseRetryAfterSeconds("99999999999").has_value());
  EXPECT_FALSE(parseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
}

}  // namespace
}  // namespace cosp::common
