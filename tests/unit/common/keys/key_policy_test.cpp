#include "common/keys/key_policy.h"

#include <gtest/gtest.h>

namespace cosp::common::keys {
namespace {

constexpr std::int64_t kNow = 1780000000;  // 2026-05-28T20:26:40Z

struct PolicyFixture : ::testing::Test {
  LimitsZone zone = std::move(LimitsZone::create()).value();
  KeyEntry key;
  PolicyFixture() { key.name = "team-a"; }
  KeyDecision call(std::string_view model = "gpt-5", std::int64_t now = kNow, std::string_view base = "") {
    return decideKeyCall(KeyCall{&key, model, base.empty() ? model : base, now, 1, 0}, zone);
  }
  static std::string header(const KeyDecision& d, const std::string& name) {
    for (const auto& [n, v] : d.headers)
      if (n == name) return v;
    return "<absent>";
  }
};

TEST_F(PolicyFixture, UnlimitedKeyPassesWithoutHeaders) {
  KeyDecision d = call();
  EXPECT_FALSE(d.error);
  EXPECT_TRUE(d.headers.empty());
}

TEST_F(PolicyFixture, DisabledAndExpiredAre401WithoutTheKey) {
  key.disabled = true;
  KeyDecision d = call();
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 401);
  EXPECT_EQ(d.error->message, "This API key is disabled.");
  key.disabled = false;
  key.expires_at = kNow;
  key.expires_at_text = "2026-05-28T20:26:40Z";
  d = call();
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 401);
  EXPECT_EQ(d.error->message, "This API key expired at 2026-05-28T20:26:40Z.");
  EXPECT_FALSE(call("gpt-5", kNow - 1).error);
}

TEST_F(PolicyFixture, ModelOutsideTheListIs403AndEffortFollowsItsBase) {
  key.models = {"gpt-5"};
  KeyDecision d = call("gpt-4o");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 403);
  EXPECT_EQ(d.error->code, "model_not_allowed");
  EXPECT_EQ(d.error->message, "This API key may not use the model 'gpt-4o'.");
  EXPECT_FALSE(call("gpt-5-high", kNow, "gpt-5").error);
}

TEST_F(PolicyFixture, RpmRefusesTheSixthWithExactHeaders) {
  key.rpm = 5;
  for (int i = 0; i < 5; ++i) {
    KeyDecision d = call("gpt-5", kNow + i);
    ASSERT_FALSE(d.error) << i;
    EXPECT_EQ(header(d, "x-ratelimit-remaining-requests"), std::to_string(4 - i));
  }
  KeyDecision d = call("gpt-5", kNow + 10);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 429);
  EXPECT_EQ(d.error->type, "requests");
  EXPECT_EQ(d.error->code, "rate_limit_exceeded");
  // The first request (kNow) leaves the window at kNow + 60: 50 s from kNow + 10.
  ASSERT_TRUE(d.error->header);
  EXPECT_EQ(d.error->header->first, "Retry-After");
  EXPECT_EQ(d.error->header->second, "50");
  EXPECT_EQ(d.error->message,
            "Rate limit reached for key 'team-a' on requests per min (RPM): Limit 5, Used 5. Please try again in 50s.");
  EXPECT_EQ(header(d, "x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(header(d, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(header(d, "x-ratelimit-reset-requests"), "50s");
  EXPECT_EQ(header(d, "x-ratelimit-limit-tokens"), "<absent>");
  EXPECT_FALSE(call("gpt-5", kNow + 60).error);
}

TEST_F(PolicyFixture, TightestTokenLimitNamesTheHeadersAndRefusesOnceReached) {
  key.tpm = 1000;
  key.daily_tokens = 500;
  zone.addTokens(1, kNow, TokenUsage{300, 0, 100, 0});
  KeyDecision d = call("gpt-5", kNow + 5);
  ASSERT_FALSE(d.error);
  EXPECT_EQ(header(d, "x-ratelimit-limit-tokens"), "500");
  EXPECT_EQ(header(d, "x-ratelimit-remaining-tokens"), "100");
  // The day ends at 2026-05-29T00:00:00Z = kNow + 12800.
  EXPECT_EQ(header(d, "x-ratelimit-reset-tokens"), "3h33m15s");
  zone.addTokens(1, kNow + 5, TokenUsage{100, 0, 50, 0});  // crosses it: 550 of 500
  d = call("gpt-5", kNow + 6);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 429);
  EXPECT_EQ(d.error->type, "tokens");
  EXPECT_EQ(d.error->header->second, std::to_string(12800 - 6));
  EXPECT_EQ(header(d, "x-ratelimit-remaining-tokens"), "0");
  EXPECT_EQ(
      d.error->message,
      "Rate limit reached for key 'team-a' on tokens per day: Limit 500, Used 550. Please try again in 3h33m14s.");
  // The next UTC day admits again.
  EXPECT_FALSE(call("gpt-5", kNow + 12800).error);
}

TEST_F(PolicyFixture, TpmRefusesUntilTheWindowSlides) {
  key.tpm = 100;
  zone.addTokens(1, kNow, TokenUsage{80, 0, 20, 0});
  KeyDecision d = call("gpt-5", kNow + 15);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->type, "tokens");
  EXPECT_EQ(d.error->header->second, "45");
  EXPECT_EQ(header(d, "x-ratelimit-reset-tokens"), "45s");
  EXPECT_FALSE(call("gpt-5", kNow + 60).error);
}

TEST_F(PolicyFixture, MaxConcurrentRefusesAtOnceAndTheLeaseReturns) {
  key.max_concurrent = 1;
  KeyDecision first = call();
  ASSERT_FALSE(first.error);
  KeyDecision second = call();
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error->status, 429);
  EXPECT_EQ(second.error->type, "requests");
  EXPECT_EQ(second.error->header->second, "1");
  first.lease.release();
  EXPECT_FALSE(call().error);
  EXPECT_EQ(zone.slot(1).in_flight.load(), 0);  // the temporary's lease returned with it
}

TEST_F(PolicyFixture, RpmRefusalReturnsTheLease) {
  key.max_concurrent = 5;
  key.rpm = 1;
  KeyDecision first = call();
  ASSERT_FALSE(first.error);
  KeyDecision second = call();
  ASSERT_TRUE(second.error);
  EXPECT_EQ(zone.slot(1).in_flight.load(), 1);
}

TEST(ResetDuration, GoStyle) {
  EXPECT_EQ(resetDuration(0), "0s");
  EXPECT_EQ(resetDuration(59), "59s");
  EXPECT_EQ(resetDuration(90), "1m30s");
  EXPECT_EQ(resetDuration(3600), "1h0m0s");
}

}  // namespace
}  // namespace cosp::common::keys
