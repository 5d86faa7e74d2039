#include "common/ipc/channel.h"

#include <gtest/gtest.h>

#include "common/ipc/messages.h"

using namespace cosp::common;
using namespace std::chrono_literals;

TEST(Channel, CarriesWholeMessagesAndReportsPeerExit) {
  auto [a_fd, b_fd] = Channel::makePair();
  Channel a(std::move(a_fd)), b(std::move(b_fd));
  WorkerCredentials creds;
  creds.generation = 7;
  creds.state = CredentialState::Ok;
  creds.access_token = "tok";
  creds.account_id = "acct";
  creds.expires_at_ms = 1234;
  ASSERT_TRUE(a.send(encodeCredentials(creds)));
  UpstreamObservation upstream;
  upstream.last_status = 429;
  upstream.last_status_at = 1700000000;
  upstream.rate_limits["x-codex-primary-used-percent"] = "97";
  ASSERT_TRUE(a.send(encodeHeartbeat({{"requests", 5}, {"active_streams", 2}}, upstream)));
  std::string message;
  ASSERT_EQ(b.receive(message, 1s), Channel::Status::Message);
  EXPECT_EQ(messageType(message), msg::kCredentials);
  auto decoded = decodeCredentials(message);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->generation, 7u);
  EXPECT_EQ(decoded->access_token, "tok");
  EXPECT_EQ(decoded->expires_at_ms, 1234);
  ASSERT_EQ(b.receive(message, 1s), Channel::Status::Message);
  auto beat = decodeHeartbeat(message);
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->counters["requests"], 5);
  EXPECT_EQ(beat->counters["active_streams"], 2);
  EXPECT_EQ(beat->upstream.last_status, 429);
  EXPECT_EQ(beat->upstream.last_status_at, 1700000000);
  EXPECT_EQ(beat->upstream.rate_limits["x-codex-primary-used-percent"], "97");
  EXPECT_EQ(b.receive(message), Channel::Status::WouldBlock);
  a.close();
  EXPECT_EQ(b.receive(message, 1s), Channel::Status::Closed);
  EXPECT_FALSE(b.send("x"));
}
