#include "supervisor/respawn_policy.h"

#include <gtest/gtest.h>

#include <chrono>

using namespace std::chrono_literals;

TEST(RespawnPolicy, ImmediateThenExponentialThenReset) {
  cosp::supervisor::RespawnPolicy policy;
  EXPECT_EQ(policy.onExit(500ms).count(), 0);
  EXPECT_EQ(policy.onExit(500ms).count(), 100);
  EXPECT_EQ(policy.onExit(500ms).count(), 200);
  EXPECT_EQ(policy.onExit(500ms).count(), 400);
  for (int i = 0; i < 30; ++i) policy.onExit(10ms);
  EXPECT_EQ(policy.onExit(10ms).count(), 10000);  // capped
  EXPECT_EQ(policy.onExit(60s).count(), 0);       // a worker that lived a while: at once again
  EXPECT_EQ(policy.consecutiveFailures(), 1);
}
