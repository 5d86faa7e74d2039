#include "common/ipc/account_messages.h"

#include <gtest/gtest.h>

using namespace cosp::common;

namespace {

WorkerCredentials sampleCredentials() {
  WorkerCredentials c;
  c.generation = 4;
  c.state = CredentialState::Ok;
  c.access_token = "at";
  c.account_id = "acc";
  c.expires_at_ms = 123;
  return c;
}

}  // namespace

TEST(AccountMessages, DefaultCredentialsAreByteIdenticalToTheOneAccountMessage) {
  EXPECT_EQ(encodeAccountCredentials("default", sampleCredentials()), encodeCredentials(sampleCredentials()));
  auto decoded = decodeAccountCredentials(encodeCredentials(sampleCredentials()));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->account, "default");
  EXPECT_EQ(decoded->credentials.access_token, "at");
}

TEST(AccountMessages, NamedCredentialsRoundTrip) {
  const std::string json = encodeAccountCredentials("team-b", sampleCredentials());
  EXPECT_EQ(json, R"({"access_token":"at","account":"team-b","account_id":"acc","expires_at_ms":123,"generation":4,)"
                  R"("state":"ok","type":"credentials"})");
  auto decoded = decodeAccountCredentials(json);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->account, "team-b");
  EXPECT_EQ(decoded->credentials.generation, 4u);
  EXPECT_EQ(decoded->credentials.account_id, "acc");
  EXPECT_EQ(messageType(json), "credentials");
}

TEST(AccountMessages, CredentialsWithABadAccountAreRefused) {
  EXPECT_FALSE(decodeAccountCredentials(R"({"account":"Bad Name","generation":1,"state":"ok"})"));
  EXPECT_FALSE(decodeAccountCredentials(R"({"account":7,"generation":1,"state":"ok"})"));
  EXPECT_FALSE(decodeAccountCredentials(R"({"account":"","generation":1,"state":"ok"})"));
}

TEST(AccountMessages, RosterRoundTripSortedByName) {
  AccountRoster roster;
  roster.strategy = "round-robin";
  roster.accounts.push_back({"b", true, false, 0, 40, 10});
  roster.accounts.push_back({"a", false, true, 1700000000000, -1, -1});
  const std::string json = encodeAccountRoster(roster);
  EXPECT_EQ(json, R"({"accounts":[{"cooling_until_ms":1700000000000,"logged_in":false,"name":"a","paused":true,)"
                  R"("primary_used_percent":-1,"secondary_used_percent":-1},{"cooling_until_ms":0,"logged_in":true,)"
                  R"("name":"b","paused":false,"primary_used_percent":40,"secondary_used_percent":10}],)"
                  R"("strategy":"round-robin","type":"accounts"})");
  auto decoded = decodeAccountRoster(json);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->accounts.size(), 2u);
  EXPECT_EQ(decoded->accounts[0].name, "a");
  EXPECT_EQ(decoded->accounts[1], (AccountRosterEntry{"b", true, false, 0, 40, 10}));
  EXPECT_EQ(decoded->strategy, "round-robin");
}

TEST(AccountMessages, MalformedRostersAreRefused) {
  EXPECT_FALSE(decodeAccountRoster("not json"));
  EXPECT_FALSE(decodeAccountRoster(R"({"accounts":{}})"));
  EXPECT_FALSE(decodeAccountRoster(R"({"accounts":[1]})"));
  EXPECT_FALSE(decodeAccountRoster(R"({"accounts":[{"name":"../x"}]})"));
  EXPECT_FALSE(decodeAccountRoster(R"({"accounts":[{"name":"a","logged_in":"yes"}]})"));
  EXPECT_FALSE(decodeAccountRoster(R"({"accounts":[{"name":"a","primary_used_percent":-7}]})"));
  EXPECT_FALSE(decodeAccountRoster(R"({"strategy":3})"));
  auto empty = decodeAccountRoster(R"({"type":"accounts"})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->accounts.empty());
}

TEST(AccountMessages, GenerationReportsCarryTheAccountOnlyWhenNotDefault) {
  EXPECT_EQ(encodeAccountUnauthorized("default", 9), encodeUnauthorized(9));
  EXPECT_EQ(encodeAccountRefreshNeeded("default", 3), encodeRefreshNeeded(3));
  const std::string json = encodeAccountUnauthorized("a", 9);
  EXPECT_EQ(json, R"({"account":"a","generation":9,"type":"unauthorized"})");
  auto report = decodeAccountGenerationReport(json);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->account, "a");
  EXPECT_EQ(report->generation, 9u);
  auto plain = decodeAccountGenerationReport(encodeRefreshNeeded(5));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->account, "default");
  EXPECT_FALSE(decodeAccountGenerationReport(R"({"type":"unauthorized"})"));
  EXPECT_FALSE(decodeAccountGenerationReport(R"({"generation":-1})"));
  EXPECT_FALSE(decodeAccountGenerationReport(R"({"generation":1,"account":"A"})"));
}

TEST(AccountMessages, AccountFailedRoundTrip) {
  AccountFailure f{"a", AccountFailureKind::UsageNotIncluded, 1700000000000};
  const std::string json = encodeAccountFailed(f);
  EXPECT_EQ(json, R"({"account":"a","cooling_until_ms":1700000000000,"kind":"usage_not_included",)"
                  R"("type":"account_failed"})");
  EXPECT_EQ(decodeAccountFailed(json), std::optional<AccountFailure>(f));
  for (auto kind :
       {AccountFailureKind::UsageLimit, AccountFailureKind::Unauthorized, AccountFailureKind::Deactivated}) {
    AccountFailure g{"b", kind, 0};
    EXPECT_EQ(decodeAccountFailed(encodeAccountFailed(g)), std::optional<AccountFailure>(g));
  }
}

TEST(AccountMessages, MalformedAccountFailedIsRefused) {
  EXPECT_FALSE(decodeAccountFailed(R"({"kind":"usage_limit"})"));  // no account
  EXPECT_FALSE(decodeAccountFailed(R"({"account":"a","kind":"bored"})"));
  EXPECT_FALSE(decodeAccountFailed(R"({"account":"a","kind":"usage_limit","cooling_until_ms":-5})"));
  EXPECT_FALSE(decodeAccountFailed(R"({"account":"a","kind":"usage_limit","cooling_until_ms":"soon"})"));
  EXPECT_FALSE(decodeAccountFailed("[]"));
}

TEST(AccountMessages, HeartbeatWithoutAccountsIsUnchanged) {
  WorkerCounters counters{{"requests_total", 3}};
  EXPECT_EQ(encodeHeartbeatWithAccounts(counters, {}, {}), encodeHeartbeat(counters));
  auto accounts = decodeHeartbeatAccounts(encodeHeartbeat(counters));
  ASSERT_TRUE(accounts);
  EXPECT_TRUE(accounts->empty());
}

TEST(AccountMessages, HeartbeatAccountsRoundTrip) {
  WorkerCounters counters{{"requests_total", 3}};
  AccountObservations seen;
  seen["a"].requests = 2;
  seen["a"].failovers = 1;
  seen["a"].rate_limits["x-codex-primary-used-percent"] = "42";
  seen["a"].rate_limits_at_ms = 1700000000123;
  seen["b"].requests = 1;
  const std::string json = encodeHeartbeatWithAccounts(counters, {}, seen);
  auto beat = decodeHeartbeat(json);  // the one-account reader still reads it
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->counters.at("requests_total"), 3);
  auto accounts = decodeHeartbeatAccounts(json);
  ASSERT_TRUE(accounts);
  EXPECT_EQ(*accounts, seen);
  EXPECT_EQ(messageType(json), "heartbeat");
}

TEST(AccountMessages, MalformedHeartbeatAccountsAreRefused) {
  EXPECT_FALSE(decodeHeartbeatAccounts(R"({"accounts":[]})"));
  EXPECT_FALSE(decodeHeartbeatAccounts(R"({"accounts":{"a":1}})"));
  EXPECT_FALSE(decodeHeartbeatAccounts(R"({"accounts":{"A B":{}}})"));
  EXPECT_FALSE(decodeHeartbeatAccounts(R"({"accounts":{"a":{"requests":"x"}}})"));
  EXPECT_FALSE(decodeHeartbeatAccounts(R"({"accounts":{"a":{"rate_limits":{"h":1}}}})"));
}
