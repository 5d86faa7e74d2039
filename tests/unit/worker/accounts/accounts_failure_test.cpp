#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json/json_parser.h"
#include "worker/accounts/account_failure.h"
#include "worker/accounts/no_usable_account.h"

namespace cosp::worker::accounts {
namespace {

constexpr std::int64_t kNowS = 1'800'000'000;
constexpr std::int64_t kNow = kNowS * 1000;

FailureFacts facts(int status, std::string code) {
  FailureFacts f;
  f.status = status;
  f.code = std::move(code);
  return f;
}

AccountFailure classify(const FailureFacts& f) { return classifyAccountFailure(f, kNow); }

TEST(AccountFailureTest, DeactivatedAtAnyStatus) {
  for (int status : {0, 401, 403, 429, 500}) {
    EXPECT_EQ(classify(facts(status, "account_deactivated")).kind, AccountFailureKind::Deactivated) << status;
  }
}

TEST(AccountFailureTest, UsageNotIncludedCoolsOneHour) {
  for (int status : {403, 429, 0}) {
    const auto r = classify(facts(status, "usage_not_included"));
    EXPECT_EQ(r.kind, AccountFailureKind::UsageNotIncluded);
    EXPECT_EQ(r.cooling_until_ms, kNow + 3'600'000);
  }
}

TEST(AccountFailureTest, UsageLimitCodesAndAny429) {
  for (const char* code : {"usage_limit_reached", "rate_limit_exceeded", "usage_limit_exceeded", "", "other"}) {
    const auto r = classify(facts(429, code));
    EXPECT_EQ(r.kind, AccountFailureKind::UsageLimit) << code;
    EXPECT_EQ(r.cooling_until_ms, kNow + 60'000) << code;  // no hint at all: 60 s
  }
  // The backend's 404 usage_limit_reached and an in-stream event without a status.
  EXPECT_EQ(classify(facts(404, "usage_limit_reached")).kind, AccountFailureKind::UsageLimit);
  EXPECT_EQ(classify(facts(0, "rate_limit_exceeded")).kind, AccountFailureKind::UsageLimit);
  // A 5xx that names a limit is still the backend's trouble, not the account's.
  EXPECT_EQ(classify(facts(503, "usage_limit_reached")).kind, AccountFailureKind::None);
}

TEST(AccountFailureTest, CapacityAndOverloadStayOnTheAccountEvenAs429) {
  for (int status : {429, 503, 0}) {
    EXPECT_EQ(classify(facts(status, "model_at_capacity")).kind, AccountFailureKind::None) << status;
    EXPECT_EQ(classify(facts(status, "server_is_overloaded")).kind, AccountFailureKind::None) << status;
  }
}

TEST(AccountFailureTest, CoolingSourcesInPrecedenceOrder) {
  FailureFacts f = facts(429, "usage_limit_reached");
  f.windows.primary = {100, 300, 900, -1};
  f.resets_at = kNowS + 700;
  f.resets_in_seconds = 500;
  f.retry_after_s = 30;
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 30'000);  // Retry-After header first
  f.retry_after_s.reset();
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 500'000);  // then resets_in_seconds
  f.resets_in_seconds.reset();
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 700'000);  // then resets_at
  f.resets_at.reset();
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 900'000);  // then the exhausted window
  f.windows = {};
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 60'000);  // then 60 s
}

TEST(AccountFailureTest, ExhaustedWindowElseTheFullerOne) {
  FailureFacts f = facts(429, "usage_limit_reached");
  f.windows.primary = {40, 300, 1000, -1};
  f.windows.secondary = {100, 10080, 200'000, -1};
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 200'000'000);  // the weekly one is at 100 %
  f.windows.secondary = {90, 10080, 200'000, -1};
  f.windows.primary = {95, 300, 1000, -1};
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 1'000'000);  // none exhausted: the fuller
  f.windows.primary = {100, 300, -1, kNowS + 1234};           // reset-at when no reset-after
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 1'234'000);
}

TEST(AccountFailureTest, CoolingIsCappedAtEightDaysAndAtLeastOneSecond) {
  FailureFacts f = facts(429, "usage_limit_reached");
  f.retry_after_s = 30LL * 24 * 3600;
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 8LL * 24 * 3600 * 1000);
  f.retry_after_s = 0;
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 1000);
  f.retry_after_s.reset();
  f.resets_at = kNowS - 50;  // already past (clock skew)
  EXPECT_EQ(classify(f).cooling_until_ms, kNow + 1000);
}

TEST(AccountFailureTest, UnauthorizedOnlyAfterRefresh) {
  FailureFacts f = facts(401, "");
  EXPECT_EQ(classify(f).kind, AccountFailureKind::None);  // the attempt loop refreshes first
  f.after_refresh = true;
  EXPECT_EQ(classify(f).kind, AccountFailureKind::Unauthorized);
}

TEST(AccountFailureTest, TransientAndRequestFailuresAreNotTheAccounts) {
  for (int status : {400, 403, 404, 500, 502, 503, 504}) {
    EXPECT_EQ(classify(facts(status, "server_is_overloaded")).kind, AccountFailureKind::None) << status;
  }
  EXPECT_EQ(classify(facts(400, "context_length_exceeded")).kind, AccountFailureKind::None);
  EXPECT_EQ(classify(facts(0, "")).kind, AccountFailureKind::None);
}

FailureFacts fields(const char* json, int status = 0) {
  const auto v = common::parseJsonObject(json);
  EXPECT_TRUE(v) << json;
  return v ? backendErrorFields(*v, status) : FailureFacts{};
}

TEST(BackendErrorFieldsTest, HttpErrorBody) {
  const auto f = fields(R"({"error":{"type":"usage_limit_reached","message":"m","resets_at":1800000600,)"
                        R"("resets_in_seconds":600}})",
                        429);
  EXPECT_EQ(f.status, 429);
  EXPECT_EQ(f.code, "usage_limit_reached");  // type when there is no code
  EXPECT_EQ(f.resets_at, 1800000600);
  EXPECT_EQ(f.resets_in_seconds, 600);
  EXPECT_EQ(fields(R"({"error":{"type":"invalid_request_error","code":"account_deactivated"}})", 401).code,
            "account_deactivated");  // code wins over type
  EXPECT_EQ(fields(R"({"detail":{"code":"usage_not_included"}})", 403).code, "usage_not_included");
}

TEST(BackendErrorFieldsTest, ResponseFailedAndErrorEvents) {
  auto f = fields(R"({"type":"response.failed","response":{"status":"failed","error":{"code":"rate_limit_exceeded",)"
                  R"("message":"slow down","resets_in_seconds":12}}})");
  EXPECT_EQ(f.status, 0);
  EXPECT_EQ(f.code, "rate_limit_exceeded");
  EXPECT_EQ(f.resets_in_seconds, 12);
  EXPECT_EQ(classifyAccountFailure(f, kNow).cooling_until_ms, kNow + 12'000);

  f = fields(R"({"type":"error","code":"usage_limit_reached","status_code":429})", 200);
  EXPECT_EQ(f.status, 429);
  EXPECT_EQ(f.code, "usage_limit_reached");

  f = fields(R"({"type":"error","error":{"type":"usage_not_included","status":403}})");
  EXPECT_EQ(f.status, 403);
  EXPECT_EQ(f.code, "usage_not_included");

  f = fields(R"({"type":"error","message":"boom"})");  // the event's own type is not the code
  EXPECT_EQ(f.code, "");
}

AccountView view(std::string name, bool logged_in, bool paused, std::int64_t cooling_until_ms) {
  AccountView a;
  a.name = std::move(name);
  a.logged_in = logged_in;
  a.paused = paused;
  a.cooling_until_ms = cooling_until_ms;
  return a;
}

TEST(NoUsableAccountTest, CoolingAnswers429WithTheEarliestReset) {
  const std::vector<AccountView> v{view("a", true, false, kNow + 90'500), view("b", true, false, kNow + 30'200),
                                   view("c", false, false, kNow + 1'000), view("d", true, true, kNow + 2'000)};
  const auto e = noUsableAccountError(v, kNow);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.type, "usage_limit_reached");
  EXPECT_EQ(e.code, "usage_limit_reached");
  ASSERT_TRUE(e.header);
  EXPECT_EQ(e.header->first, "Retry-After");
  EXPECT_EQ(e.header->second, "31");  // rounded up, from b
  EXPECT_EQ(noUsableAccountError({view("a", true, false, kNow + 1)}, kNow).header->second, "1");
  EXPECT_EQ(noUsableAccountError(v, kNow, {"a"}).header->second, "91");
}

TEST(NoUsableAccountTest, NoneLoggedInOrAllPaused) {
  auto e = noUsableAccountError({view("a", false, false, 0)}, kNow);
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code, "credentials_expired");
  e = noUsableAccountError({}, kNow);
  EXPECT_EQ(e.code, "credentials_expired");
  e = noUsableAccountError({view("a", true, true, 0), view("b", false, false, 0)}, kNow);
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code, "accounts_paused");
  EXPECT_FALSE(e.header);
}

}  // namespace
}  // namespace cosp::worker::accounts
