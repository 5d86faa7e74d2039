#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/json/json_parser.h"
#include "worker/accounts/account_selector.h"
#include "worker/accounts/quota_weight.h"
#include "worker/accounts/sticky_order.h"

namespace cosp::worker::accounts {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

AccountView account(std::string name, double used = -1) {
  AccountView a;
  a.name = std::move(name);
  a.logged_in = true;
  a.primary_used_percent = used;
  return a;
}

std::string session(int i) { return "sess-" + std::to_string(i) + "-019a7c3e"; }

TEST(AccountStrategyTest, ParsesTheTwoNames) {
  EXPECT_EQ(accountStrategyFromName("sticky"), AccountStrategy::Sticky);
  EXPECT_EQ(accountStrategyFromName("round-robin"), AccountStrategy::RoundRobin);
  EXPECT_EQ(accountStrategyFromName("roundrobin"), std::nullopt);
  EXPECT_EQ(accountStrategyFromName(""), std::nullopt);
}

TEST(StickyOrderTest, ReturnsEveryAccountOnceBestFirst) {
  const std::vector<AccountView> v{account("a"), account("b"), account("c")};
  const auto order = stickyOrder("s1", v, {1, 1, 1});
  ASSERT_EQ(order.size(), 3u);
  std::vector<bool> seen(3);
  for (size_t i : order) seen.at(i) = true;
  EXPECT_EQ(seen, std::vector<bool>({true, true, true}));
  EXPECT_GT(rendezvousScore(rendezvousHash("s1", v[order[0]].name), 1),
            rendezvousScore(rendezvousHash("s1", v[order[1]].name), 1));
}

TEST(StickyOrderTest, HashIsAFixedFunctionOfItsInputs) {
  // The order must be identical in every worker process and across restarts: no seed, no pointer.
  EXPECT_EQ(rendezvousHash("session", "acct"), rendezvousHash("session", "acct"));
  EXPECT_NE(rendezvousHash("ab", "c"), rendezvousHash("a", "bc"));
  EXPECT_NE(rendezvousHash("s", "acct-1"), rendezvousHash("s", "acct-2"));
  EXPECT_EQ(rendezvousScore(123, 0), -std::numeric_limits<double>::infinity());
}

TEST(AccountSelectorTest, SameSessionSameAccountAcrossCallsAndSelectors) {
  const std::vector<AccountView> v{account("alpha"), account("beta"), account("gamma")};
  AccountSelector one, two;
  for (int i = 0; i < 50; ++i) {
    const auto first = one.order(session(i), v, kNow);
    ASSERT_EQ(first.size(), 3u);
    EXPECT_EQ(one.order(session(i), v, kNow), first);
    EXPECT_EQ(two.order(session(i), v, kNow), first);
  }
}

TEST(AccountSelectorTest, SpreadsSessionsInProportionToWeights) {
  // 50 % used -> weight 0.5: expect 40 / 40 / 20 of 2,000 sessions, within ±5 points.
  const std::vector<AccountView> v{account("alpha", 0), account("beta", 0), account("gamma", 50)};
  AccountSelector sel;
  std::vector<int> count(3);
  for (int i = 0; i < 2000; ++i) ++count.at(sel.order(session(i), v, kNow).at(0));
  EXPECT_NEAR(count[0] / 2000.0, 0.40, 0.05);
  EXPECT_NEAR(count[1] / 2000.0, 0.40, 0.05);
  EXPECT_NEAR(count[2] / 2000.0, 0.20, 0.05);
}

TEST(AccountSelectorTest, EqualWeightsSpreadEvenly) {
  const std::vector<AccountView> v{account("a"), account("b"), account("c")};
  AccountSelector sel;
  std::vector<int> count(3);
  for (int i = 0; i < 2000; ++i) ++count.at(sel.order(session(i), v, kNow).at(0));
  for (int c : count) EXPECT_NEAR(c / 2000.0, 1.0 / 3, 0.05);
}

TEST(AccountSelectorTest, CoolingMovesOnlyItsOwnSessionsAndTheyComeBack) {
  std::vector<AccountView> v{account("alpha"), account("beta"), account("gamma")};
  AccountSelector sel;
  std::vector<size_t> before(2000);
  for (int i = 0; i < 2000; ++i) before[i] = sel.order(session(i), v, kNow).at(0);

  v[1].cooling_until_ms = kNow + 60'000;  // beta hits its limit
  int moved = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto order = sel.order(session(i), v, kNow);
    ASSERT_EQ(order.size(), 2u);
    for (size_t k : order) EXPECT_NE(k, 1u);
    if (before[i] != 1) {
      EXPECT_EQ(order[0], before[i]) << "a session of another account moved";
    } else {
      ++moved;
    }
  }
  EXPECT_GT(moved, 500);  // about a third

  // After the reset every session is back on its first account.
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(sel.order(session(i), v, kNow + 60'000).at(0), before[i]);
}

TEST(AccountSelectorTest, SkipsPausedLoggedOutAndNotAllowedAccounts) {
  std::vector<AccountView> v{account("alpha"), account("beta"), account("gamma"), account("delta")};
  v[1].paused = true;
  v[2].logged_in = false;
  AccountSelector sel;
  EXPECT_EQ(sel.order("s", v, kNow).size(), 2u);
  EXPECT_EQ(sel.order("s", v, kNow, {"delta"}), std::vector<size_t>{3});
  EXPECT_TRUE(sel.order("s", v, kNow, {"beta", "gamma"}).empty());
  EXPECT_TRUE(sel.order("s", {}, kNow).empty());
}

TEST(AccountSelectorTest, PausingAnAccountMovesOnlyItsSessions) {
  std::vector<AccountView> v{account("alpha"), account("beta"), account("gamma")};
  AccountSelector sel;
  std::vector<size_t> before(500);
  for (int i = 0; i < 500; ++i) before[i] = sel.order(session(i), v, kNow).at(0);
  v[2].paused = true;
  for (int i = 0; i < 500; ++i) {
    if (before[i] != 2) {
      EXPECT_EQ(sel.order(session(i), v, kNow).at(0), before[i]);
    }
  }
}

TEST(AccountSelectorTest, RoundRobinRotatesOverUsableAccounts) {
  std::vector<AccountView> v{account("a"), account("b"), account("c")};
  AccountSelector sel(AccountStrategy::RoundRobin);
  EXPECT_EQ(sel.order("s", v, kNow), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(sel.order("s", v, kNow), (std::vector<size_t>{1, 2, 0}));
  EXPECT_EQ(sel.order("s", v, kNow), (std::vector<size_t>{2, 0, 1}));
  EXPECT_EQ(sel.order("s", v, kNow), (std::vector<size_t>{0, 1, 2}));
  v[1].cooling_until_ms = kNow + 1;
  const auto order = sel.order("s", v, kNow);  // the fifth call: 4 % 2 = 0, starts at a
  EXPECT_EQ(order, (std::vector<size_t>{0, 2}));
}

TEST(RoundRobinTest, RotationAndCounter) {
  EXPECT_EQ(rotation(3, 1), (std::vector<size_t>{1, 2, 0}));
  EXPECT_TRUE(rotation(0, 0).empty());
  RoundRobin rr;
  EXPECT_EQ(rr.next(0), 0u);
  EXPECT_EQ(rr.next(2), 1u);
  EXPECT_EQ(rr.next(2), 0u);
}

TEST(QuotaWeightTest, FullerWindowDecidesInFivePercentSteps) {
  EXPECT_DOUBLE_EQ(quotaWeight(-1, -1), 1.0);
  EXPECT_DOUBLE_EQ(quotaWeight(0, -1), 1.0);
  EXPECT_DOUBLE_EQ(quotaWeight(50, -1), 0.5);
  EXPECT_DOUBLE_EQ(quotaWeight(51, -1), 0.45);
  EXPECT_DOUBLE_EQ(quotaWeight(54.9, -1), 0.45);
  EXPECT_DOUBLE_EQ(quotaWeight(55, -1), 0.45);
  EXPECT_DOUBLE_EQ(quotaWeight(5, 70), 0.3);
  EXPECT_DOUBLE_EQ(quotaWeight(97, 10), 0.01);
  EXPECT_DOUBLE_EQ(quotaWeight(100, 100), 0.01);
  EXPECT_DOUBLE_EQ(quotaWeight(130, -1), 0.01);
  EXPECT_DOUBLE_EQ(quotaWeight(-1, 20), 0.8);
}

TEST(QuotaWeightTest, WindowsFromHeaders) {
  const std::map<std::string, std::string> h{
      {"X-Codex-Primary-Used-Percent", "42.5"},        {"x-codex-primary-window-minutes", "300"},
      {"x-codex-primary-reset-after-seconds", "1200"}, {"x-codex-primary-reset-at", "1800001200"},
      {"x-codex-secondary-used-percent", "garbage"},   {"x-codex-secondary-window-minutes", "10080"}};
  const QuotaWindows w = quotaWindowsFromHeaders(h);
  EXPECT_DOUBLE_EQ(w.primary.used_percent, 42.5);
  EXPECT_EQ(w.primary.window_minutes, 300);
  EXPECT_EQ(w.primary.reset_after_seconds, 1200);
  EXPECT_EQ(w.primary.reset_at, 1800001200);
  EXPECT_DOUBLE_EQ(w.secondary.used_percent, -1);
  EXPECT_FALSE(w.secondary.known());
  EXPECT_EQ(w.secondary.window_minutes, 10080);
  EXPECT_EQ(w.secondary.reset_after_seconds, -1);
  EXPECT_FALSE(quotaWindowsFromHeaders({}).primary.known());
}

TEST(QuotaWeightTest, WindowsFromRateLimitsEvent) {
  const auto ev = common::parseJsonObject(
      R"({"type":"codex.rate_limits","rate_limits":{"primary":{"used_percent":7.0,"window_minutes":300,)"
      R"("reset_after_seconds":600},"secondary":{"used_percent":99,"resets_at":1800000000}}})");
  ASSERT_TRUE(ev);
  const QuotaWindows w = quotaWindowsFromEvent(*ev);
  EXPECT_DOUBLE_EQ(w.primary.used_percent, 7.0);
  EXPECT_EQ(w.primary.window_minutes, 300);
  EXPECT_EQ(w.primary.reset_after_seconds, 600);
  EXPECT_DOUBLE_EQ(w.secondary.used_percent, 99);
  EXPECT_EQ(w.secondary.reset_at, 1800000000);
  EXPECT_EQ(w.secondary.window_minutes, -1);

  const auto flat = common::parseJsonObject(R"({"primary":{"used_percent":"x"},"secondary":3})");
  ASSERT_TRUE(flat);
  EXPECT_FALSE(quotaWindowsFromEvent(*flat).primary.known());
  EXPECT_FALSE(quotaWindowsFromEvent(*flat).secondary.known());
}

}  // namespace
}  // namespace cosp::worker::accounts
