// CredentialManager schedule and state machine, driven by a FakeClock and a scripted transport.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/codex/fingerprint.h"
#include "common/json/json_writer.h"
#include "supervisor/credentials/credential_manager.h"
#include "supervisor/credentials/credential_store.h"
#include "tests/support/fakes/credential_fakes.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::supervisor {
namespace {

using cosp::test::FakeClock;
using cosp::test::ScriptedTransport;
using cosp::test::TempDir;
using cosp::test::waitAndApply;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ManagerTest : public ::testing::Test {
 protected:
  CredentialSettings baseSettings() {
    CredentialSettings s;
    s.refresh_token = "rt-0";
    s.auth_base_url = "http://auth.test";
    s.backoff_base = milliseconds(1000);
    s.backoff_cap = milliseconds(8000);
    s.min_reactive_interval = seconds(10);
    s.store_poll_interval = seconds(5);
    return s;
  }

  std::unique_ptr<CredentialManager> make(const CredentialSettings& s, double jitter = 1.0) {
    CredentialManager::Hooks hooks;
    hooks.transport = http;
    hooks.random01 = [jitter] { return jitter; };
    auto created = CredentialManager::create(s, clock, hooks);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    if (!created.ok()) return nullptr;
    return std::move(created.value());
  }

  std::string jwt(int64_t expires_in_s, const std::string& account = "acct-0123456789", const std::string& sub = "s") {
    return test::FakeOAuthServer::makeJwt(clock.unixSeconds() + expires_in_s, account, sub);
  }

  static std::string tokenBody(const std::string& access, const std::string& refresh,
                               std::optional<int64_t> expires_in = std::nullopt) {
    Poco::JSON::Object obj;
    obj.set("access_token", access);
    if (!refresh.empty()) obj.set("refresh_token", refresh);
    if (expires_in) obj.set("expires_in", static_cast<Poco::Int64>(*expires_in));
    std::ostringstream out;
    obj.stringify(out);
    return out.str();
  }

  static std::string sentRefreshToken(const ScriptedTransport::Request& req) {
    Poco::JSON::Parser parser;
    return parser.parse(req.body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("refresh_token");
  }

  static Poco::JSON::Object::Ptr status(const CredentialManager& mgr) {
    Poco::JSON::Parser parser;
    return parser.parse(common::toJson(mgr.status())).extract<Poco::JSON::Object::Ptr>();
  }

  // Starts a refresh via onTick (expects one to be due) and completes it with `status`/`body`.
  void completeRefresh(CredentialManager& mgr, int status, const std::string& body,
                       const std::string& retry_after = {}) {
    size_t before = http->calls();
    if (!mgr.refreshInFlight()) mgr.onTick();
    ASSERT_TRUE(mgr.refreshInFlight());
    ASSERT_TRUE(http->waitForCalls(before + 1));
    http->reply(status, body, retry_after);
    ASSERT_TRUE(waitAndApply(mgr));
    ASSERT_FALSE(mgr.refreshInFlight());
  }

  FakeClock clock;
  std::shared_ptr<ScriptedTransport> http = std::make_shared<ScriptedTransport>();
};

TEST_F(ManagerTest, ProactiveRefreshStartsAtTheMarginAndRotates) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(3600);
  auto mgr = make(s);
  ASSERT_TRUE(mgr);
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->current().generation, 1u);
  EXPECT_EQ(mgr->current().access_token, s.access_token);
  EXPECT_EQ(mgr->current().account_id, "acct-0123456789");
  EXPECT_EQ(mgr->current().expires_at_ms, (clock.unixSeconds() + 3600) * 1000);
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(3300));

  clock.advance(seconds(3299));
  mgr->onTick();
  EXPECT_FALSE(mgr->refreshInFlight());
  clock.advance(seconds(1));
  mgr->onTick();
  ASSERT_TRUE(mgr->refreshInFlight());
  EXPECT_EQ(mgr->current().state, CredentialState::Refreshing);
  EXPECT_EQ(mgr->current().access_token, s.access_token);  // still served meanwhile
  EXPECT_TRUE(mgr->current().usable(clock.unixMillis()));

  ASSERT_TRUE(http->waitForCalls(1));
  const std::string access1 = jwt(3600, "acct-0123456789", "one");
  http->reply(200, tokenBody(access1, "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->current().generation, 2u);
  EXPECT_EQ(mgr->current().access_token, access1);
  EXPECT_EQ(http->requests()[0].url, "http://auth.test/oauth/token");
  EXPECT_EQ(sentRefreshToken(http->requests()[0]), "rt-0");
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(3300));

  // The next refresh presents the rotated token.
  clock.advance(seconds(3300));
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600, "acct-0123456789", "two"), "rt-2")));
  EXPECT_EQ(sentRefreshToken(http->requests()[1]), "rt-1");
  EXPECT_EQ(mgr->current().generation, 3u);
}

TEST_F(ManagerTest, ExpiresInFromTheResponseWinsOverJwtExp) {
  auto mgr = make(baseSettings());
  const int64_t started = clock.unixMillis();
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(7200), "rt-1", 1200)));
  EXPECT_EQ(mgr->current().expires_at_ms, started + 1'200'000);
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(900));
}

TEST_F(ManagerTest, OpenAiExpiresAtInSecondsOrMilliseconds) {
  for (bool millis : {false, true}) {
    CredentialSettings s = baseSettings();
    s.access_token = "opaque-access";
    const int64_t at_s = clock.unixSeconds() + 1000;
    s.expires_at_raw = millis ? at_s * 1000 : at_s;
    auto mgr = make(s);
    EXPECT_EQ(mgr->current().expires_at_ms, at_s * 1000) << millis;
    EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(700)) << millis;
  }
}

TEST_F(ManagerTest, UnknownExpiryMeansReactiveOnly) {
  CredentialSettings s = baseSettings();
  s.access_token = "opaque-access";
  auto mgr = make(s);
  EXPECT_EQ(mgr->current().expires_at_ms, 0);
  EXPECT_FALSE(mgr->nextDeadline().has_value());
  EXPECT_TRUE(mgr->current().usable(clock.unixMillis()));
}

TEST_F(ManagerTest, WithoutAnAccessTokenTheFirstRefreshIsDueAtOnce) {
  auto mgr = make(baseSettings());
  EXPECT_EQ(mgr->current().state, CredentialState::Refreshing);
  EXPECT_EQ(mgr->current().generation, 0u);
  EXPECT_FALSE(mgr->current().usable(clock.unixMillis()));
  EXPECT_LE(mgr->nextDeadline(), clock.steadyNow());
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600), "rt-1")));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->current().generation, 1u);
  EXPECT_TRUE(mgr->current().usable(clock.unixMillis()));
}

TEST_F(ManagerTest, TransientFailuresBackOffExponentiallyUpToTheCap) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(200);  // inside the 300 s margin: due now, still valid
  auto mgr = make(s);
  const std::string original = s.access_token;
  const int64_t expected_ms[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (int i = 0; i < 6; ++i) {
    ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, R"({"error":{"message":"x","type":"server_error"}})"));
    EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
    EXPECT_EQ(mgr->current().access_token, original);  // keeps serving while it is valid
    EXPECT_EQ(mgr->current().generation, 1u);
    EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + milliseconds(expected_ms[i])) << i;
    clock.advance(milliseconds(expected_ms[i] - 1));
    mgr->onTick();
    EXPECT_FALSE(mgr->refreshInFlight()) << i;
    clock.advance(milliseconds(1));
  }
  auto st = status(*mgr);
  EXPECT_EQ(st->getValue<int>("refresh_failed"), 6);
  EXPECT_EQ(st->getValue<int>("consecutive_failures"), 6);
  EXPECT_EQ(st->getValue<std::string>("last_error"), "token endpoint returned HTTP 500 (server_error)");

  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600), "rt-1")));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(status(*mgr)->getValue<int>("consecutive_failures"), 0);
  EXPECT_EQ(status(*mgr)->getValue<int>("refresh_ok"), 1);
}

TEST_F(ManagerTest, JitterShortensTheWaitWithinBounds) {
  CredentialSettings s = baseSettings();
  auto mgr = make(s, /*jitter=*/0.0);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 503, ""));
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + milliseconds(500));  // half of 1 s
}

TEST_F(ManagerTest, NetworkErrorsAreTransient) {
  auto mgr = make(baseSettings());
  mgr->onTick();
  ASSERT_TRUE(http->waitForCalls(1));
  http->fail("connection refused");
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
  EXPECT_NE(status(*mgr)->getValue<std::string>("last_error").find("connection refused"), std::string::npos);
}

TEST_F(ManagerTest, RetryAfterIsHonoured) {
  auto mgr = make(baseSettings());
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 429, R"({"error":{"type":"rate_limit_error"}})", "30"));
  EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(30));
}

TEST_F(ManagerTest, PermanentFailureStopsRetryingAndNeedsLogin) {
  for (const auto& [code, body] : std::vector<std::pair<int, std::string>>{
           {401,
            R"({"error":{"message":"m","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}})"},
           {400, R"({"error":"invalid_grant","error_description":"d"})"},
           {401, R"({"error":{"code":"refresh_token_expired"}})"},
           {401, R"({"error":{"code":"refresh_token_invalidated"}})"}}) {
    CredentialSettings s = baseSettings();
    s.access_token = jwt(100);
    auto mgr = make(s);
    const size_t calls = http->calls();
    ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, code, body));
    EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin) << body;
    EXPECT_EQ(mgr->current().access_token, "");  // needs_login: model calls answer 503
    EXPECT_EQ(mgr->current().generation, 2u);
    EXPECT_FALSE(mgr->current().usable(clock.unixMillis()));
    EXPECT_FALSE(mgr->nextDeadline().has_value());
    clock.advance(hours(24));
    mgr->onTick();
    mgr->reportUnauthorized(mgr->current().generation);
    mgr->reportUnauthorized(1);
    EXPECT_FALSE(mgr->refreshInFlight());
    EXPECT_EQ(http->calls(), calls + 1);
  }
}

TEST_F(ManagerTest, ManyUnauthorizedReportsCauseOneRefresh) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(3600);
  auto mgr = make(s);
  const uint64_t gen = mgr->current().generation;
  for (int i = 0; i < 100; ++i) mgr->reportUnauthorized(gen);
  ASSERT_TRUE(mgr->refreshInFlight());
  EXPECT_EQ(mgr->current().state, CredentialState::Refreshing);
  ASSERT_TRUE(http->waitForCalls(1));
  for (int i = 0; i < 100; ++i) mgr->reportUnauthorized(gen);
  http->reply(200, tokenBody(jwt(3600, "acct-0123456789", "new"), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(http->calls(), 1u);  // the only thread has been joined: no other request can appear
  EXPECT_EQ(mgr->current().generation, gen + 1);

  // Late reports about the old token are stale.
  for (int i = 0; i < 10; ++i) mgr->reportUnauthorized(gen);
  mgr->reportUnauthorized(gen + 7);
  EXPECT_FALSE(mgr->refreshInFlight());
  EXPECT_EQ(http->calls(), 1u);
}

TEST_F(ManagerTest, A401ForAFreshTokenWaitsForTheMinimumInterval) {
  auto mgr = make(baseSettings());
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600), "rt-1")));
  const auto refreshed_at = clock.steadyNow();
  clock.advance(seconds(3));
  mgr->reportUnauthorized(mgr->current().generation);
  EXPECT_FALSE(mgr->refreshInFlight());
  EXPECT_EQ(mgr->nextDeadline(), refreshed_at + seconds(10));
  clock.advance(seconds(7));
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600, "acct-0123456789", "x"), "rt-2")));
  EXPECT_EQ(mgr->current().generation, 2u);
}

TEST_F(ManagerTest, UnauthorizedDuringBackoffWaitsForTheTimer) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(200);
  auto mgr = make(s);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, ""));
  mgr->reportUnauthorized(mgr->current().generation);
  EXPECT_FALSE(mgr->refreshInFlight());
}

TEST_F(ManagerTest, ForceRefreshSkipsBackoffAndRetriesAfterNeedsLogin) {
  auto mgr = make(baseSettings());
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, ""));
  mgr->forceRefresh();
  ASSERT_TRUE(mgr->refreshInFlight());
  ASSERT_TRUE(http->waitForCalls(2));
  http->reply(401, R"({"error":{"code":"refresh_token_reused"}})");
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  mgr->forceRefresh();  // the operator may insist
  ASSERT_TRUE(mgr->refreshInFlight());
  ASSERT_TRUE(http->waitForCalls(3));
  http->reply(200, tokenBody(jwt(3600), "rt-9"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  mgr->forceRefresh();
  mgr->forceRefresh();  // single flight for ctl too
  ASSERT_TRUE(http->waitForCalls(4));
  http->reply(200, tokenBody(jwt(3600, "acct-0123456789", "b"), "rt-10"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(http->calls(), 4u);
}

TEST_F(ManagerTest, OnChangeFiresForChangesOnly) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(3600);
  auto mgr = make(s);
  int changes = 0;
  mgr->on_change = [&] { ++changes; };
  mgr->onTick();
  mgr->nextDeadline();
  EXPECT_EQ(changes, 0);
  mgr->forceRefresh();  // ok -> refreshing
  EXPECT_EQ(changes, 1);
  ASSERT_TRUE(http->waitForCalls(1));
  http->reply(200, tokenBody(jwt(3600, "acct-0123456789", "n"), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));  // refreshing -> ok with a new token
  EXPECT_EQ(changes, 2);
  mgr->onTick();
  EXPECT_EQ(changes, 2);
}

TEST_F(ManagerTest, AccountIdOverrideWins) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(3600, "from-jwt");
  s.account_id = "from-env";
  auto mgr = make(s);
  EXPECT_EQ(mgr->current().account_id, "from-env");
  mgr->forceRefresh();
  ASSERT_TRUE(http->waitForCalls(1));
  http->reply(200, tokenBody(jwt(3600, "other-jwt"), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().account_id, "from-env");
}

TEST_F(ManagerTest, AccountIdFollowsTheTokensWithoutOverride) {
  auto mgr = make(baseSettings());
  Poco::JSON::Object obj;
  obj.set("access_token", jwt(3600, "from-access"));
  obj.set("id_token", jwt(3600, "from-id"));
  obj.set("refresh_token", "rt-1");
  std::ostringstream body;
  obj.stringify(body);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, body.str()));
  EXPECT_EQ(mgr->current().account_id, "from-id");
}

TEST_F(ManagerTest, StatusNeverContainsTokensAndMasksTheAccount) {
  TempDir dir;
  CredentialSettings s = baseSettings();
  s.state_dir = dir.path();
  auto mgr = make(s);
  const std::string access = jwt(3600);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(access, "rt-rotated-secret")));
  const std::string json = common::toJson(mgr->status());
  EXPECT_EQ(json.find("rt-0"), std::string::npos);
  EXPECT_EQ(json.find("rt-rotated-secret"), std::string::npos);
  EXPECT_EQ(json.find(access), std::string::npos);
  EXPECT_EQ(json.find("0123456789"), std::string::npos);
  auto st = status(*mgr);
  EXPECT_EQ(st->getValue<std::string>("state"), "ok");
  EXPECT_EQ(st->getValue<std::string>("account_id"), "acct...6789");
  EXPECT_EQ(st->getValue<int64_t>("expires_in_s"), 3600);
  EXPECT_EQ(st->getValue<int64_t>("expires_at"), clock.unixSeconds() + 3600);
  EXPECT_EQ(st->getValue<int64_t>("last_refresh"), clock.unixSeconds());
  EXPECT_EQ(st->getValue<int>("refresh_ok"), 1);
  EXPECT_EQ(st->getValue<int>("refresh_failed"), 0);
  EXPECT_TRUE(st->isNull("last_error"));
  EXPECT_EQ(st->getValue<int>("generation"), 1);
  EXPECT_TRUE(st->getValue<bool>("store_writable"));
  EXPECT_TRUE(st->isNull("warning"));
  EXPECT_EQ(st->getValue<int64_t>("next_refresh_in_s"), 3300);
  EXPECT_FALSE(st->getValue<bool>("refresh_in_flight"));
}

TEST_F(ManagerTest, RotatedTokenIsOnDiskBeforeTheAccessTokenIsHandedOut) {
  TempDir dir;
  CredentialSettings s = baseSettings();
  s.state_dir = dir.path();
  auto mgr = make(s);
  const std::string access = jwt(3600);
  std::string on_disk_at_handout;
  mgr->on_change = [&] {
    if (mgr->current().access_token == access) {
      on_disk_at_handout = CredentialStore(dir.path()).load().value()->refresh_token;
    }
  };
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(access, "rt-1")));
  EXPECT_EQ(on_disk_at_handout, "rt-1");
  auto stored = CredentialStore(dir.path()).load().value();
  EXPECT_EQ(stored->access_token, access);
  EXPECT_EQ(stored->seed_hash, sha256Hex("rt-0"));
  EXPECT_EQ(stored->last_refresh_s, clock.unixSeconds());
}

TEST_F(ManagerTest, UnwritableStateDirWarnsAndKeepsServingFromMemory) {
  TempDir dir;
  { std::ofstream(dir.file("file")) << "x"; }
  CredentialSettings s = baseSettings();
  s.state_dir = dir.file("file") + "/state";
  auto mgr = make(s);
  auto st = status(*mgr);
  EXPECT_FALSE(st->getValue<bool>("store_writable"));
  EXPECT_NE(st->getValue<std::string>("warning").find("cannot be written"), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600), "rt-1")));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  st = status(*mgr);
  EXPECT_FALSE(st->getValue<bool>("store_writable"));
  EXPECT_NE(st->getValue<std::string>("warning").find("memory only"), std::string::npos);
  // The rotated token is what the next refresh uses, even though it is not on disk.
  mgr->forceRefresh();
  ASSERT_TRUE(http->waitForCalls(2));
  EXPECT_EQ(sentRefreshToken(http->requests()[1]), "rt-1");
  http->reply(200, tokenBody(jwt(3600, "a", "b"), "rt-2"));
  ASSERT_TRUE(waitAndApply(*mgr));
}

TEST_F(ManagerTest, StateFileWinsUnlessTheSeedChanged) {
  TempDir dir;
  CredentialSettings s = baseSettings();
  s.state_dir = dir.path();
  {
    auto mgr = make(s);
    EXPECT_EQ(status(*mgr)->getValue<std::string>("source"), "environment");
    ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600), "rt-1")));
  }
  {  // same seed in the environment: the file (rt-1) wins
    auto mgr = make(s);
    EXPECT_EQ(status(*mgr)->getValue<std::string>("source"), "state_file");
    EXPECT_EQ(mgr->current().state, CredentialState::Ok);
    mgr->forceRefresh();
    ASSERT_TRUE(http->waitForCalls(2));
    EXPECT_EQ(sentRefreshToken(http->requests()[1]), "rt-1");
    http->reply(200, tokenBody(jwt(3600, "a", "2"), "rt-2"));
    ASSERT_TRUE(waitAndApply(*mgr));
  }
  {  // no seed at all: the file wins
    CredentialSettings none = s;
    none.refresh_token.clear();
    auto mgr = make(none);
    EXPECT_EQ(status(*mgr)->getValue<std::string>("source"), "state_file");
  }
  {  // the operator put a new refresh token in the environment: it wins and re-seeds the file
    CredentialSettings fresh = s;
    fresh.refresh_token = "rt-new-login";
    auto mgr = make(fresh);
    EXPECT_EQ(status(*mgr)->getValue<std::string>("source"), "environment");
    auto stored = CredentialStore(dir.path()).load().value();
    EXPECT_EQ(stored->refresh_token, "rt-new-login");
    EXPECT_EQ(stored->seed_hash, sha256Hex("rt-new-login"));
    mgr->onTick();
    ASSERT_TRUE(http->waitForCalls(3));
    EXPECT_EQ(sentRefreshToken(http->requests()[2]), "rt-new-login");
    http->reply(200, tokenBody(jwt(3600, "a", "3"), "rt-3"));
    ASSERT_TRUE(waitAndApply(*mgr));
  }
}

TEST_F(ManagerTest, CorruptStateFileIsIgnoredWithAWarning) {
  TempDir dir;
  { std::ofstream(dir.file("credentials.json")) << "{not json"; }
  CredentialSettings s = baseSettings();
  s.state_dir = dir.path();
  auto mgr = make(s);
  EXPECT_EQ(status(*mgr)->getValue<std::string>("source"), "environment");
  EXPECT_NE(status(*mgr)->getValue<std::string>("warning").find("unreadable credentials file"), std::string::npos);
}

TEST_F(ManagerTest, CodexAuthFileIsImported) {
  TempDir dir;
  const std::string access = jwt(3600, "acct-from-auth-json");
  {
    std::ofstream out(dir.file("auth.json"));
    out << R"({"tokens":{"id_token":"","access_token":")" << access
        << R"(","refresh_token":"rt-codex","account_id":"acct-from-auth-json"}})";
  }
  CredentialSettings s = baseSettings();
  s.refresh_token.clear();
  s.codex_auth_file = dir.file("auth.json");
  auto mgr = make(s);
  EXPECT_EQ(status(*mgr)->getValue<std::string>("source"), "codex_auth_file");
  EXPECT_EQ(mgr->current().access_token, access);
  EXPECT_EQ(mgr->current().account_id, "acct-from-auth-json");
  mgr->forceRefresh();
  ASSERT_TRUE(http->waitForCalls(1));
  EXPECT_EQ(sentRefreshToken(http->requests()[0]), "rt-codex");
  http->reply(200, tokenBody(jwt(3600), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
}

TEST_F(ManagerTest, OperatorErrorsFailCreation) {
  CredentialSettings s = baseSettings();
  s.codex_auth_file = "/nonexistent/auth.json";
  auto bad_file = CredentialManager::create(s, clock, {http, nullptr});
  ASSERT_FALSE(bad_file.ok());
  EXPECT_NE(bad_file.error().message.find("CODEX_AUTH_FILE"), std::string::npos);

  CredentialSettings url = baseSettings();
  url.auth_base_url = "ftp://nope";
  auto bad_url = CredentialManager::create(url, clock, {http, nullptr});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.error().message.find("OPENAI_AUTH_BASE_URL"), std::string::npos);

  CredentialSettings proxy = baseSettings();
  proxy.https_proxy = "socks5://proxy:1080";
  auto bad_proxy = CredentialManager::create(proxy, clock);  // the POCO transport parses the proxy
  ASSERT_FALSE(bad_proxy.ok());
  EXPECT_NE(bad_proxy.error().message.find("HTTPS_PROXY"), std::string::npos);
}

TEST_F(ManagerTest, BadCaFileFailsCreation) {
  CredentialSettings s = baseSettings();
  s.ca_file = "/nonexistent/ca.pem";
  auto created = CredentialManager::create(s, clock);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("/nonexistent/ca.pem"), std::string::npos) << created.error().message;
}

TEST_F(ManagerTest, OperatorErrorsAreConfigurationErrors) {
  CredentialSettings url = baseSettings();
  url.auth_base_url = "ftp://nope";
  auto bad_url = CredentialManager::create(url, clock, {http, nullptr});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().kind, CredentialSetupError::Kind::Config);
  CredentialSettings ca = baseSettings();
  ca.ca_file = "/nonexistent/ca.pem";
  auto bad_ca = CredentialManager::create(ca, clock);
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_EQ(bad_ca.error().kind, CredentialSetupError::Kind::Config);
}

TEST(CredentialSettingsFromConfig, CopiesTheCredentialOptions) {
  common::Config config;
  config.refresh_token = "rt";
  config.access_token = "at";
  config.expires_at_ms = 1'900'000'000'000;
  config.account_id = "acct";
  config.auth_base_url = "http://auth.local";
  config.state_dir = "/var/lib/x";
  config.codex_auth_file = "/etc/auth.json";
  config.refresh_margin = std::chrono::seconds(120);
  config.https_proxy = "http://proxy:3128";
  config.no_proxy = "localhost";
  config.upstream_ca_file = "/etc/ca.pem";
  CredentialSettings s = credentialSettingsFromConfig(config);
  EXPECT_EQ(s.refresh_token, "rt");
  EXPECT_EQ(s.access_token, "at");
  EXPECT_EQ(s.expires_at_raw, std::optional<int64_t>(1'900'000'000'000));
  EXPECT_EQ(s.account_id, "acct");
  EXPECT_EQ(s.auth_base_url, "http://auth.local");
  EXPECT_EQ(s.state_dir, "/var/lib/x");
  EXPECT_EQ(s.codex_auth_file, "/etc/auth.json");
  EXPECT_EQ(s.refresh_margin, std::chrono::seconds(120));
  EXPECT_EQ(s.https_proxy, "http://proxy:3128");
  EXPECT_EQ(s.no_proxy, "localhost");
  EXPECT_EQ(s.ca_file, "/etc/ca.pem");
  // The token and device calls present the Codex CLI's fingerprint (common/codex/fingerprint.h).
  EXPECT_EQ(s.fingerprint.originator, "codex_cli_rs");
  EXPECT_EQ(s.fingerprint.version, common::kCheckedCodexVersion);
  EXPECT_EQ(s.fingerprint.user_agent.rfind("codex_cli_rs/" + std::string(common::kCheckedCodexVersion) + " (", 0), 0u);
}

TEST_F(ManagerTest, ALoginWrittenByAnotherProcessIsPickedUp) {
  TempDir dir;
  CredentialSettings s = baseSettings();
  s.state_dir = dir.path();
  auto mgr = make(s);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 401, R"({"error":{"code":"refresh_token_reused"}})"));
  ASSERT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(5));  // store poll

  StoredCredentials login;
  login.refresh_token = "rt-login";
  login.access_token = jwt(3600, "acct-login-0001");
  login.last_refresh_s = clock.unixSeconds();
  ASSERT_FALSE(CredentialStore(dir.path()).save(login).has_value());

  clock.advance(seconds(4));
  mgr->onTick();
  EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  clock.advance(seconds(1));
  mgr->onTick();
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->current().access_token, login.access_token);
  EXPECT_EQ(mgr->current().account_id, "acct-login-0001");
  EXPECT_EQ(mgr->current().generation, 1u);  // never had a token before: "" -> the login's
  mgr->forceRefresh();
  ASSERT_TRUE(http->waitForCalls(2));
  EXPECT_EQ(sentRefreshToken(http->requests()[1]), "rt-login");
  http->reply(200, tokenBody(jwt(3600), "rt-after-login"));
  ASSERT_TRUE(waitAndApply(*mgr));
}

TEST_F(ManagerTest, AStaleStateFileIsNotAdopted) {
  TempDir dir;
  CredentialSettings s = baseSettings();
  s.state_dir = dir.path();
  auto mgr = make(s);
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600), "rt-1")));
  StoredCredentials old;
  old.refresh_token = "rt-older";
  old.last_refresh_s = clock.unixSeconds() - 100;
  ASSERT_FALSE(CredentialStore(dir.path()).save(old).has_value());
  EXPECT_FALSE(mgr->reloadStore());
  mgr->forceRefresh();
  ASSERT_TRUE(http->waitForCalls(2));
  EXPECT_EQ(sentRefreshToken(http->requests()[1]), "rt-1");
  http->reply(200, tokenBody(jwt(3600, "x", "y"), "rt-2"));
  ASSERT_TRUE(waitAndApply(*mgr));
}

TEST_F(ManagerTest, AccessTokenWithoutRefreshTokenServesUntilExpiry) {
  CredentialSettings s = baseSettings();
  s.refresh_token.clear();
  s.access_token = jwt(100);
  auto mgr = make(s);
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(100));
  clock.advance(seconds(100));
  mgr->onTick();
  EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  EXPECT_EQ(http->calls(), 0u);

  s.access_token = jwt(100);
  auto mgr2 = make(s);
  EXPECT_EQ(mgr2->current().state, CredentialState::Ok);
  mgr2->reportUnauthorized(mgr2->current().generation);
  EXPECT_EQ(mgr2->current().state, CredentialState::NeedsLogin);
}

TEST_F(ManagerTest, NothingConfigured) {
  CredentialSettings s = baseSettings();
  s.refresh_token.clear();
  auto mgr = make(s);
  EXPECT_EQ(mgr->current().state, CredentialState::NoCredentials);
  EXPECT_EQ(mgr->current().generation, 0u);
  EXPECT_FALSE(mgr->nextDeadline().has_value());
  mgr->forceRefresh();
  mgr->onTick();
  EXPECT_FALSE(mgr->refreshInFlight());
  EXPECT_EQ(status(*mgr)->getValue<std::string>("state"), "no_credentials");
}

TEST_F(ManagerTest, DestructorDoesNotWaitForAHungRefresh) {
  auto mgr = make(baseSettings());
  mgr->onTick();
  ASSERT_TRUE(http->waitForCalls(1));  // the transport now blocks until cancelled
  const auto start = std::chrono::steady_clock::now();
  mgr.reset();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, milliseconds(1500));
}

// Calls waiting for a token (README.md, "Credentials and login"): a worker's refresh_needed
// report starts a refresh at once when none is in flight and the last attempt began more than
// min_demand_interval (1 s) ago.

TEST_F(ManagerTest, AnExpiredTokenAtStartIsRefreshedAtOnceAndNotServed) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(-100);
  auto mgr = make(s);
  EXPECT_FALSE(mgr->current().usable(clock.unixMillis()));
  EXPECT_LE(mgr->nextDeadline(), clock.steadyNow());
  // Every worker's waiting calls report before the first tick: one refresh.
  for (int i = 0; i < 20; ++i) mgr->reportRefreshNeeded(mgr->current().generation);
  ASSERT_TRUE(mgr->refreshInFlight());
  mgr->onTick();
  ASSERT_TRUE(http->waitForCalls(1));
  http->reply(200, tokenBody(jwt(3600, "acct-0123456789", "fresh"), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(http->calls(), 1u);
  EXPECT_EQ(mgr->current().generation, 2u);
  EXPECT_TRUE(mgr->current().usable(clock.unixMillis()));
}

TEST_F(ManagerTest, ATokenExpiringWithinTheMarginAtStartIsRefreshedAtOnceAndServedMeanwhile) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(60);  // inside the 300 s margin
  auto mgr = make(s);
  EXPECT_TRUE(mgr->current().usable(clock.unixMillis()));
  EXPECT_LE(mgr->nextDeadline(), clock.steadyNow());
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 200, tokenBody(jwt(3600, "acct-0123456789", "fresh"), "rt-1")));
  EXPECT_EQ(mgr->current().generation, 2u);
}

TEST_F(ManagerTest, RefreshNeededWithinASecondOfTheLastAttemptWaitsForTheSecond) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(-100);
  s.backoff_base = seconds(8);
  s.backoff_cap = seconds(60);
  auto mgr = make(s);
  const auto first_attempt = clock.steadyNow();
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, ""));  // fails fast
  EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
  EXPECT_EQ(mgr->nextDeadline(), first_attempt + seconds(8));  // nobody waits: the backoff governs

  clock.advance(milliseconds(300));
  mgr->reportRefreshNeeded(mgr->current().generation);
  EXPECT_FALSE(mgr->refreshInFlight());
  EXPECT_EQ(mgr->nextDeadline(), first_attempt + seconds(1));  // the back-off is overridden
  clock.advance(milliseconds(699));
  mgr->onTick();
  EXPECT_FALSE(mgr->refreshInFlight());
  clock.advance(milliseconds(1));
  mgr->onTick();
  ASSERT_TRUE(mgr->refreshInFlight());
  const auto second_attempt = clock.steadyNow();
  mgr->reportRefreshNeeded(mgr->current().generation);  // in flight: nothing more
  ASSERT_TRUE(http->waitForCalls(2));
  http->reply(503, "");
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->nextDeadline(), second_attempt + seconds(16));  // 2nd failure, nobody waiting (yet)

  // More than a second after the last attempt began: at once.
  clock.advance(milliseconds(1500));
  mgr->reportRefreshNeeded(mgr->current().generation);
  ASSERT_TRUE(mgr->refreshInFlight());
  ASSERT_TRUE(http->waitForCalls(3));
  http->reply(200, tokenBody(jwt(3600, "acct-0123456789", "fresh"), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->current().generation, 2u);
  EXPECT_EQ(http->calls(), 3u);
}

TEST_F(ManagerTest, RefreshNeededDoesNotOverrideTheBackoffWhileTheTokenServes) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(30);  // inside the margin: due now, valid for 30 s more
  s.backoff_base = seconds(8);
  s.backoff_cap = seconds(600);
  auto mgr = make(s);
  const auto t0 = clock.steadyNow();
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, ""));
  clock.advance(seconds(2));
  mgr->reportRefreshNeeded(mgr->current().generation);  // the token still serves
  EXPECT_FALSE(mgr->refreshInFlight());
  EXPECT_EQ(mgr->nextDeadline(), t0 + seconds(8));
  clock.advance(seconds(6));
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, ""));  // at t0+8 s: next in 16 s
  clock.advance(seconds(16));
  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 500, ""));  // at t0+24 s: next in 32 s
  EXPECT_EQ(mgr->nextDeadline(), t0 + seconds(56));

  // At t0+31 s the token has expired: a waiting call cuts the back-off short.
  clock.advance(seconds(7));
  EXPECT_FALSE(mgr->current().usable(clock.unixMillis()));
  mgr->reportRefreshNeeded(mgr->current().generation);
  ASSERT_TRUE(mgr->refreshInFlight());
  ASSERT_TRUE(http->waitForCalls(4));
  http->reply(200, tokenBody(jwt(3600, "acct-0123456789", "fresh"), "rt-1"));
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_TRUE(mgr->current().usable(clock.unixMillis()));
}

TEST_F(ManagerTest, RefreshNeededIsIgnoredWhenStaleOrWhenOnlyALoginHelps) {
  CredentialSettings s = baseSettings();
  s.access_token = jwt(-100);
  auto mgr = make(s);
  mgr->reportRefreshNeeded(mgr->current().generation + 1);  // not a generation this manager has
  mgr->reportRefreshNeeded(mgr->current().generation - 1);
  EXPECT_FALSE(mgr->refreshInFlight());

  ASSERT_NO_FATAL_FAILURE(completeRefresh(*mgr, 400, R"({"error":"invalid_grant"})"));
  EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  clock.advance(seconds(5));
  mgr->reportRefreshNeeded(mgr->current().generation);
  EXPECT_FALSE(mgr->refreshInFlight());
  EXPECT_FALSE(mgr->nextDeadline().has_value());

  // An expired access token without a refresh token: nothing to refresh with.
  CredentialSettings access_only = baseSettings();
  access_only.refresh_token.clear();
  access_only.access_token = jwt(-1);
  auto mgr2 = make(access_only);
  mgr2->reportRefreshNeeded(mgr2->current().generation);
  EXPECT_FALSE(mgr2->refreshInFlight());
  EXPECT_EQ(http->calls(), 1u);
}

TEST_F(ManagerTest, EveryPermanentCodeEndsInNeedsLogin) {
  for (const char* code : {"invalid_refresh_token", "token_expired", "token_revoked", "account_deactivated"}) {
    CredentialSettings s = baseSettings();
    s.access_token = jwt(-100);
    auto mgr = make(s);
    const size_t calls = http->calls();
    ASSERT_NO_FATAL_FAILURE(completeRefresh(
        *mgr, 400, std::string(R"({"error":{"type":"invalid_request_error","code":")") + code + "\"}}"));
    EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin) << code;
    EXPECT_EQ(status(*mgr)->getValue<std::string>("last_error"),
              std::string("token endpoint returned HTTP 400 (") + code + ")");
    clock.advance(hours(1));
    mgr->onTick();
    mgr->reportRefreshNeeded(mgr->current().generation);
    EXPECT_EQ(http->calls(), calls + 1) << "no retry after " << code;
  }
}

}  // namespace
}  // namespace cosp::supervisor
