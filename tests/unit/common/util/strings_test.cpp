#include "common/util/strings.h"

#include <gtest/gtest.h>

#include <string>

TEST(ClearAndTrim, GivesBackLargeBuffersAndKeepsSmallOnes) {
  std::string small(100, 'a');
  const auto small_capacity = small.capacity();
  cosp::common::clearAndTrim(small);
  EXPECT_TRUE(small.empty());
  EXPECT_EQ(small.capacity(), small_capacity);
  std::string large(64 * 1024, 'b');
  cosp::common::clearAndTrim(large);
  EXPECT_TRUE(large.empty());
  EXPECT_LE(large.capacity(), 2048u);
}
