#include "common/ipc/messages.h"

#include <gtest/gtest.h>

using namespace cosp::common;

TEST(Messages, CredentialsUsability) {
  WorkerCredentials c;
  EXPECT_FALSE(c.usable(1000));
  c.access_token = "t";
  c.state = CredentialState::Ok;
  EXPECT_TRUE(c.usable(1000));
  c.expires_at_ms = 999;
  EXPECT_FALSE(c.usable(1000));
  c.expires_at_ms = 2000;
  c.state = CredentialState::NeedsLogin;
  EXPECT_FALSE(c.usable(1000));
  EXPECT_EQ(messageInt(encodeDrain(2500), "grace_ms"), std::optional<int64_t>(2500));
  EXPECT_EQ(messageInt(encodeUnauthorized(9), "generation"), std::optional<int64_t>(9));
  EXPECT_EQ(messageType("[1]"), "");
}

TEST(Messages, RefreshNeededCarriesTheGeneration) {
  const std::string message = encodeRefreshNeeded(7);
  EXPECT_EQ(message, R"({"generation":7,"type":"refresh_needed"})");
  EXPECT_EQ(messageType(message), msg::kRefreshNeeded);
  EXPECT_EQ(messageInt(message, "generation"), std::optional<int64_t>(7));
}
