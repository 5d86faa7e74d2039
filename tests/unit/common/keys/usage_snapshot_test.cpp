#include "common/keys/usage_snapshot.h"

#include <gtest/gtest.h>

namespace cosp::common::keys {
namespace {

TEST(UsageSnapshot, ZoneToFileToZone) {
  LimitsZone zone = std::move(LimitsZone::create()).value();
  const std::int64_t now = 1780000000;
  zone.addTokens(2, now, TokenUsage{100, 30, 40, 10});
  zone.recordRequest(2, now, 200, "gpt-5");
  zone.recordRequest(2, now, 503, "gpt-5");
  auto text = encodeUsageFile({readSlotUsage(zone, 2, "team-a")});
  auto decoded = decodeUsageFile(text);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), 1u);
  const KeyUsage& u = (*decoded)[0];
  EXPECT_EQ(u.name, "team-a");
  EXPECT_EQ(u.requests(), 2);
  EXPECT_EQ(u.requests_by_class[4], 1);
  EXPECT_EQ(u.tokensToday(now), 140);
  EXPECT_EQ(u.tokensToday(now + 86400), 0);
  EXPECT_EQ(u.tokensThisMonth(now), 140);
  LimitsZone fresh = std::move(LimitsZone::create()).value();
  restoreSlotUsage(fresh, 7, u);
  EXPECT_EQ(fresh.dayTokens(7, now), 140);
  EXPECT_EQ(fresh.slot(7).cached_tokens.load(), 30);
  EXPECT_EQ(std::string(fresh.slot(7).models[0].name), "gpt-5");
  EXPECT_EQ(fresh.slot(7).models[0].requests.load(), 2);
  EXPECT_EQ(fresh.slot(7).last_use.load(), now);
}

}  // namespace
}  // namespace cosp::common::keys
