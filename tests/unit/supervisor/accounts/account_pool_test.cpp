#include "supervisor/accounts/account_pool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "supervisor/accounts/account_names.h"
#include "supervisor/accounts/usage_poll.h"
#include "supervisor/credentials/credential_store.h"
#include "tests/support/fakes/fake_clock.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::supervisor {
namespace {

using cosp::test::FakeClock;
using cosp::test::TempDir;
using cosp::test::writeFile;

class AccountPoolTest : public ::testing::Test {
 protected:
  AccountPoolTest() {
    base_.state_dir = dir_.path();
    base_.auth_base_url = "http://127.0.0.1:9";  // never called: every token is valid for a day
    auto made = CredentialManager::create(base_, clock_);
    EXPECT_TRUE(made.ok());
    default_ = std::move(made.value());
  }

  void writeAccount(const std::string& name) {
    StoredCredentials c;
    c.refresh_token = "rt-" + name;
    c.access_token = test::FakeOAuthServer::makeJwt(clock_.unixMillis() / 1000 + 86400, "acct-" + name, "u");
    c.account_id = "acct-" + name;
    c.last_refresh_s = clock_.unixMillis() / 1000;
    ASSERT_FALSE(CredentialStore(accountsDir(dir_.path()), name + ".json").save(c).has_value());
  }

  std::unique_ptr<AccountPool> makePool() {
    return std::make_unique<AccountPool>(AccountPool::Settings{base_, "sticky"}, clock_, nullptr, *default_);
  }

  TempDir dir_;
  FakeClock clock_;
  CredentialSettings base_;
  std::unique_ptr<CredentialManager> default_;
};

TEST_F(AccountPoolTest, OneAccountIsDefaultAlone) {
  auto pool = makePool();
  EXPECT_EQ(pool->names(), std::vector<std::string>{"default"});
  ASSERT_EQ(pool->roster().accounts.size(), 1u);
  EXPECT_EQ(pool->roster().accounts[0].name, "default");
  EXPECT_FALSE(pool->roster().accounts[0].logged_in);
}

TEST_F(AccountPoolTest, AccountFilesAreFoundAndOtherFilesSkipped) {
  writeAccount("a");
  writeAccount("b");
  writeFile(accountsDir(dir_.path()) + "/paused.json", R"({"paused":[]})");
  writeFile(accountsDir(dir_.path()) + "/.a.json.tmp.1", "{}");
  writeFile(accountsDir(dir_.path()) + "/Bad.json", "{}");
  auto pool = makePool();
  // `default` has no credentials beside other accounts: it is left out.
  EXPECT_EQ(pool->names(), (std::vector<std::string>{"a", "b"}));
  const common::AccountRoster roster = pool->roster();
  ASSERT_EQ(roster.accounts.size(), 2u);
  EXPECT_TRUE(roster.accounts[0].logged_in);
  EXPECT_EQ(roster.strategy, "sticky");
  ASSERT_NE(pool->credentials("b"), nullptr);
  EXPECT_EQ(pool->credentials("b")->account_id, "acct-b");
}

TEST_F(AccountPoolTest, RescanPicksUpAnAddedAccountAndTellsTheWorkers) {
  writeAccount("a");
  auto pool = makePool();
  std::vector<std::string> sent;
  int rosters = 0;
  pool->on_credentials_change = [&](const std::string& name) { sent.push_back(name); };
  pool->on_roster_change = [&] { ++rosters; };
  writeAccount("b");
  pool->rescan();
  EXPECT_EQ(pool->names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sent, std::vector<std::string>{"b"});
  EXPECT_EQ(rosters, 1);
  // Nothing new: nothing sent.
  pool->rescan();
  EXPECT_EQ(rosters, 1);
}

TEST_F(AccountPoolTest, PauseIsPersisted0600AndKeptAcrossRestarts) {
  writeAccount("a");
  writeAccount("b");
  {
    auto pool = makePool();
    EXPECT_FALSE(pool->setPaused("a", true).has_value());
    EXPECT_TRUE(pool->setPaused("nobody", true).has_value());
    EXPECT_TRUE(pool->roster().accounts[0].paused);
  }
  struct stat st {};
  ASSERT_EQ(::stat((accountsDir(dir_.path()) + "/paused.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = makePool();
  EXPECT_TRUE(again->roster().accounts[0].paused);
  EXPECT_FALSE(again->roster().accounts[1].paused);
  const common::JsonValue status = again->status();
  EXPECT_EQ(status.getArray()->at(0).find("state")->stringView().value(), "paused");
  EXPECT_FALSE(again->setPaused("a", false).has_value());
  EXPECT_FALSE(again->roster().accounts[0].paused);
}

TEST_F(AccountPoolTest, UsageLimitCoolsUntilTheLaterReportSurvivesARestartAndEnds) {
  writeAccount("a");
  writeAccount("b");
  const int64_t now = clock_.unixMillis();
  {
    auto pool = makePool();
    pool->onAccountFailed({"a", common::AccountFailureKind::UsageLimit, now + 60'000});
    pool->onAccountFailed({"a", common::AccountFailureKind::UsageLimit, now + 30'000});  // earlier: ignored
    EXPECT_EQ(pool->roster().accounts[0].cooling_until_ms, now + 60'000);
    EXPECT_EQ(pool->totals()[0].failovers, 2);
    EXPECT_EQ(pool->totals()[0].state, "cooling");
  }
  auto again = makePool();
  EXPECT_EQ(again->roster().accounts[0].cooling_until_ms, now + 60'000);
  int rosters = 0;
  again->on_roster_change = [&] { ++rosters; };
  clock_.advance(std::chrono::milliseconds(60'001));
  again->onTick();
  EXPECT_EQ(again->roster().accounts[0].cooling_until_ms, 0);
  EXPECT_GE(rosters, 1);
}

TEST_F(AccountPoolTest, DeactivatedNeedsALogin) {
  writeAccount("a");
  writeAccount("b");
  auto pool = makePool();
  pool->onAccountFailed({"b", common::AccountFailureKind::Deactivated, 0});
  EXPECT_FALSE(pool->roster().accounts[1].logged_in);
  EXPECT_EQ(pool->totals()[1].state, "needs_login");
}

TEST_F(AccountPoolTest, HeartbeatsAreSummedOverWorkersAndKeptAfterExit) {
  writeAccount("a");
  auto pool = makePool();
  common::AccountObservations one, two;
  one["a"].requests = 3;
  one["a"].rate_limits = {{"x-codex-primary-used-percent", "41.6"}, {"x-codex-primary-reset-after-seconds", "600"}};
  one["a"].rate_limits_at_ms = clock_.unixMillis();
  two["a"].requests = 2;
  two["a"].failovers = 1;
  pool->onHeartbeat(101, one);
  pool->onHeartbeat(102, two);
  EXPECT_EQ(pool->totals()[0].requests, 5);
  EXPECT_EQ(pool->totals()[0].failovers, 1);
  EXPECT_EQ(pool->roster().accounts[0].primary_used_percent, 42);
  pool->onWorkerGone(101);
  two["a"].requests = 4;
  pool->onHeartbeat(102, two);
  EXPECT_EQ(pool->totals()[0].requests, 7);
  const common::JsonValue status = pool->status();
  EXPECT_EQ(status.getArray()->at(0).find("resets_in_s")->getInt64().value(), 600);
}

TEST_F(AccountPoolTest, AResponseWithThePrimaryWindowOnlyKeepsThePolledSecondary) {
  writeAccount("a");
  auto pool = makePool();
  const int64_t now_s = clock_.unixMillis() / 1000;
  AccountQuota polled;
  polled.primary_used_percent = 7;
  polled.secondary_used_percent = 23;
  polled.observed_at_ms = now_s * 1000;
  pool->onUsage("a", polled);
  common::AccountObservations seen;
  seen["a"].rate_limits = {{"x-codex-primary-used-percent", "9"}};
  seen["a"].rate_limits_at_ms = (now_s + 1) * 1000;
  pool->onHeartbeat(101, seen);
  EXPECT_EQ(pool->roster().accounts[0].primary_used_percent, 9);
  EXPECT_EQ(pool->roster().accounts[0].secondary_used_percent, 23);
  // An older poll answer changes nothing.
  polled.primary_used_percent = 1;
  pool->onUsage("a", polled);
  EXPECT_EQ(pool->roster().accounts[0].primary_used_percent, 9);
}

TEST(UsageDocument, ReadsBothWindows) {
  auto q = parseUsageDocument(
      R"({"plan_type":"plus","rate_limit":{"primary_window":{"used_percent":7,"reset_after_seconds":9000},)"
      R"("secondary_window":{"used_percent":23.4,"reset_at":1750400000}}})",
      1'750'000'000);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->primary_used_percent, 7);
  EXPECT_EQ(q->primary_resets_at_s, 1'750'009'000);
  EXPECT_EQ(q->secondary_used_percent, 23);
  EXPECT_EQ(q->secondary_resets_at_s, 1'750'400'000);
}

TEST(UsageDocument, RefusesOtherDocuments) {
  EXPECT_FALSE(parseUsageDocument("nope", 1));
  EXPECT_FALSE(parseUsageDocument(R"({"rate_limit":{}})", 1));
  EXPECT_FALSE(parseUsageDocument(R"({"rate_limit":{"primary_window":{"used_percent":"x"}}})", 1));
}

}  // namespace
}  // namespace cosp::supervisor
