#include "worker/upstream/retry_policy.h"

#include <gtest/gtest.h>

namespace cosp::worker {
namespace {

AttemptOutcome failed(UpstreamFailure::Kind kind) {
  AttemptOutcome o;
  o.failure = kind;
  return o;
}

AttemptOutcome status(int s, std::string_view code = {}) {
  AttemptOutcome o;
  o.status = s;
  o.error_code = code;
  return o;
}

TEST(RetryPolicyTest, RetriesConnectClassErrors) {
  RetryPolicy p;
  EXPECT_TRUE(p.shouldRetry(failed(UpstreamFailure::Kind::ConnectFailed), 0));
  EXPECT_TRUE(p.shouldRetry(failed(UpstreamFailure::Kind::ConnectTimeout), 0));
  EXPECT_TRUE(p.shouldRetry(failed(UpstreamFailure::Kind::ProxyFailed), 0));
  EXPECT_TRUE(p.shouldRetry(failed(UpstreamFailure::Kind::ResetBeforeHead), 1));
}

TEST(RetryPolicyTest, DoesNotRetryPermanentFailures) {
  RetryPolicy p;
  for (auto k :
       {UpstreamFailure::Kind::TlsFailed, UpstreamFailure::Kind::InvalidRequest, UpstreamFailure::Kind::SendFailed,
        UpstreamFailure::Kind::HeadTimeout, UpstreamFailure::Kind::BadResponse, UpstreamFailure::Kind::Cancelled}) {
    EXPECT_FALSE(p.shouldRetry(failed(k), 0)) << toString(k);
  }
}

TEST(RetryPolicyTest, RetriesServerErrorsButNotClientErrors) {
  RetryPolicy p;
  EXPECT_TRUE(p.shouldRetry(status(500), 0));
  EXPECT_TRUE(p.shouldRetry(status(502), 0));
  EXPECT_TRUE(p.shouldRetry(status(503), 0));
  EXPECT_TRUE(p.shouldRetry(status(504), 0));
  EXPECT_FALSE(p.shouldRetry(status(501), 0));
  EXPECT_FALSE(p.shouldRetry(status(505), 0));
  EXPECT_FALSE(p.shouldRetry(status(200), 0));
  EXPECT_FALSE(p.shouldRetry(status(400), 0));
  EXPECT_FALSE(p.shouldRetry(status(401), 0));
  EXPECT_FALSE(p.shouldRetry(status(403), 0));
  EXPECT_FALSE(p.shouldRetry(status(429, "usage_limit_reached"), 0));
}

TEST(RetryPolicyTest, RetriesServerIsOverloadedWhateverTheStatus) {
  RetryPolicy p;
  EXPECT_TRUE(p.shouldRetry(status(200, "server_is_overloaded"), 0));  // SSE error event before any client byte
  EXPECT_TRUE(p.shouldRetry(status(429, "server_is_overloaded"), 0));
}

TEST(RetryPolicyTest, RetriesModelAtCapacityLikeAnOverload) {
  RetryPolicy p;
  EXPECT_TRUE(p.shouldRetry(status(200, "model_at_capacity"), 0));
  EXPECT_TRUE(p.shouldRetry(status(400, "model_at_capacity"), 1));
  EXPECT_FALSE(p.shouldRetry(status(400, "model_at_capacity"), 2));  // the budget still applies
  EXPECT_FALSE(p.shouldRetry(status(403, "usage_not_included"), 0));
  EXPECT_FALSE(p.shouldRetry(status(400, "context_length_exceeded"), 0));
}

TEST(RetryPolicyTest, NothingAfterTheFirstClientByte) {
  RetryPolicy p;
  AttemptOutcome o = status(503, "server_is_overloaded");
  o.client_bytes_sent = true;
  EXPECT_FALSE(p.shouldRetry(o, 0));
  AttemptOutcome f = failed(UpstreamFailure::Kind::ConnectFailed);
  f.client_bytes_sent = true;
  EXPECT_FALSE(p.shouldRetry(f, 0));
}

TEST(RetryPolicyTest, DefaultBudgetIsTwoRetries) {
  RetryPolicy p;
  EXPECT_EQ(p.options().max_retries, 2);
  EXPECT_TRUE(p.shouldRetry(status(502), 0));
  EXPECT_TRUE(p.shouldRetry(status(502), 1));
  EXPECT_FALSE(p.shouldRetry(status(502), 2));
  RetryPolicy none(RetryOptions{0, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 0.25});
  EXPECT_FALSE(none.shouldRetry(status(502), 0));
}

TEST(RetryPolicyTest, DelayDoublesFromBaseWithInjectedJitter) {
  double u = 0.5;  // factor 1.0 exactly
  RetryPolicy p(RetryOptions{}, [&] { return u; });
  EXPECT_EQ(p.delayFor(0).count(), 200);
  EXPECT_EQ(p.delayFor(1).count(), 400);
  EXPECT_EQ(p.delayFor(2).count(), 800);
  u = 0.0;  // factor 0.75
  EXPECT_EQ(p.delayFor(0).count(), 150);
  EXPECT_EQ(p.delayFor(1).count(), 300);
  u = 0.999999;  // factor just under 1.25
  EXPECT_EQ(p.delayFor(0).count(), 250);
}

TEST(RetryPolicyTest, DelayIsCapped) {
  RetryPolicy p(RetryOptions{5, std::chrono::milliseconds(200), std::chrono::milliseconds(1000), 0.0},
                [] { return 0.3; });
  EXPECT_EQ(p.delayFor(2).count(), 800);
  EXPECT_EQ(p.delayFor(3).count(), 1000);
  EXPECT_EQ(p.delayFor(40).count(), 1000);
}

TEST(RetryPolicyTest, ABackendRetryAfterShorterThanFiveSecondsIsTheDelay) {
  RetryPolicy p(RetryOptions{2, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 0.0},
                [] { return 0.5; });
  AttemptOutcome o = status(503, "server_is_overloaded");
  EXPECT_EQ(p.delayFor(o, 1).count(), 400);  // none: the back-off
  o.retry_after = std::chrono::seconds(2);
  EXPECT_EQ(p.delayFor(o, 1).count(), 2000);
  o.retry_after = std::chrono::seconds(0);
  EXPECT_EQ(p.delayFor(o, 1).count(), 0);
  o.retry_after = std::chrono::seconds(5);  // not shorter than 5 s: the back-off again
  EXPECT_EQ(p.delayFor(o, 1).count(), 400);
}

TEST(RetryPolicyTest, DefaultRngStaysInJitterBand) {
  RetryPolicy p;
  for (int i = 0; i < 200; ++i) {
    const auto d = p.delayFor(0).count();
    EXPECT_GE(d, 150);
    EXPECT_LE(d, 250);
  }
}

}  // namespace
}  // namespace cosp::worker
