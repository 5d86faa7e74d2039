// CredentialManager with the real POCO transport against the FakeOAuthServer on 127.0.0.1.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <csignal>

#include "common/json/json_writer.h"
#include "supervisor/credentials/credential_manager.h"
#include "supervisor/credentials/credential_store.h"
#include "tests/support/fakes/credential_fakes.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::supervisor {
namespace {

using cosp::test::FakeClock;
using cosp::test::TempDir;
using cosp::test::waitAndApply;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeOAuthServer;

class ManagerOAuthTest : public ::testing::Test {
 protected:
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }  // as both mains do (docs/ARCHITECTURE.md §6.10)

  CredentialSettings settings() {
    CredentialSettings s;
    s.refresh_token = "rt-seed";
    s.auth_base_url = fake.baseUrl();
    s.state_dir = dir.path();
    s.backoff_base = milliseconds(1000);
    s.backoff_cap = milliseconds(4000);
    s.min_reactive_interval = milliseconds(0);
    s.http_connect_timeout = milliseconds(2000);
    s.http_timeout = milliseconds(30000);
    return s;
  }

  std::unique_ptr<CredentialManager> make(const CredentialSettings& s) {
    CredentialManager::Hooks hooks;
    hooks.random01 = [] { return 1.0; };
    auto created = CredentialManager::create(s, clock, hooks);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    return created.ok() ? std::move(created.value()) : nullptr;
  }

  static Poco::JSON::Object::Ptr status(const CredentialManager& mgr) {
    Poco::JSON::Parser parser;
    return parser.parse(common::toJson(mgr.status())).extract<Poco::JSON::Object::Ptr>();
  }

  FakeOAuthServer fake;
  TempDir dir;
  FakeClock clock;
};

TEST_F(ManagerOAuthTest, ThreeConsecutiveRefreshesEachUseThePreviousRefreshToken) {
  auto mgr = make(settings());
  ASSERT_TRUE(mgr);
  std::vector<std::string> handed_out_refresh;  // what the fake considered current after each step

  mgr->onTick();  // no access token yet: refresh at once
  ASSERT_TRUE(waitAndApply(*mgr));
  ASSERT_EQ(mgr->current().state, CredentialState::Ok) << common::toJson(mgr->status());
  handed_out_refresh.push_back(fake.currentRefreshToken());

  mgr->reportUnauthorized(mgr->current().generation);  // reactive
  ASSERT_TRUE(mgr->refreshInFlight());
  ASSERT_TRUE(waitAndApply(*mgr));
  handed_out_refresh.push_back(fake.currentRefreshToken());

  clock.advance(seconds(3600 - 300));  // proactive, at the margin
  mgr->onTick();
  ASSERT_TRUE(mgr->refreshInFlight());
  ASSERT_TRUE(waitAndApply(*mgr));
  handed_out_refresh.push_back(fake.currentRefreshToken());

  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr->current().generation, 3u);
  EXPECT_EQ(fake.receivedRefreshTokens(),
            (std::vector<std::string>{"rt-seed", handed_out_refresh[0], handed_out_refresh[1]}));
  FakeOAuthServer::Counts counts = fake.counts();
  EXPECT_EQ(counts.refresh_ok, 3);
  EXPECT_EQ(counts.refresh_rejected, 0);
  auto issued = fake.issuedAccessTokens();
  ASSERT_EQ(issued.size(), 3u);
  EXPECT_EQ(mgr->current().access_token, issued.back());
  EXPECT_EQ(mgr->current().account_id, "acct-fake-0001");
  EXPECT_EQ(fake.receivedContentTypes(), std::vector<std::string>(3, "application/json"));

  auto stored = CredentialStore(dir.path()).load().value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->refresh_token, fake.currentRefreshToken());
  EXPECT_EQ(stored->access_token, issued.back());
  EXPECT_EQ(status(*mgr)->getValue<int>("refresh_ok"), 3);
}

TEST_F(ManagerOAuthTest, AHangingTokenEndpointNeverBlocksTheLoop) {
  fake.setMode(FakeOAuthServer::Mode::Hang, 1, seconds(30));
  auto mgr = make(settings());
  ASSERT_TRUE(mgr);

  auto t0 = std::chrono::steady_clock::now();
  mgr->onTick();
  auto after_tick = std::chrono::steady_clock::now();
  EXPECT_LT(after_tick - t0, milliseconds(200));
  ASSERT_TRUE(mgr->refreshInFlight());

  // Wait until the fake really holds the request, then keep using the loop-side API.
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (fake.counts().refresh_calls < 1 && std::chrono::steady_clock::now() < deadline) {
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 10);  // bounded wait for the other thread, not synchronisation by sleeping
  }
  ASSERT_EQ(fake.counts().refresh_calls, 1);
  for (int i = 0; i < 50; ++i) {
    auto s0 = std::chrono::steady_clock::now();
    mgr->onTick();
    std::string json = common::toJson(mgr->status());
    mgr->nextDeadline();
    mgr->reportUnauthorized(mgr->current().generation);
    mgr->forceRefresh();
    EXPECT_LT(std::chrono::steady_clock::now() - s0, milliseconds(100));
    EXPECT_NE(json.find("\"refresh_in_flight\":true"), std::string::npos);
  }
  EXPECT_EQ(mgr->current().state, CredentialState::Refreshing);
  EXPECT_EQ(fake.counts().refresh_calls, 1);  // single flight while hanging

  auto d0 = std::chrono::steady_clock::now();
  mgr.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - d0, milliseconds(1500));
}

TEST_F(ManagerOAuthTest, ATransientFailureIsRetriedAfterTheBackoff) {
  fake.setMode(FakeOAuthServer::Mode::Fail500, 1);
  auto mgr = make(settings());
  mgr->onTick();
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(1));
  clock.advance(seconds(1));
  mgr->onTick();
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::Ok);
  EXPECT_EQ(fake.receivedRefreshTokens(), (std::vector<std::string>{"rt-seed", "rt-seed"}));
}

TEST_F(ManagerOAuthTest, RateLimitRetryAfterFromTheServer) {
  fake.setMode(FakeOAuthServer::Mode::Fail429, 1);
  auto mgr = make(settings());
  mgr->onTick();
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
  // The fake sends Retry-After: 1, equal to the first backoff step; the later of both counts.
  EXPECT_EQ(mgr->nextDeadline(), clock.steadyNow() + seconds(1));
}

TEST_F(ManagerOAuthTest, AReusedRefreshTokenMeansNeedsLogin) {
  fake.setCurrentRefreshToken("rt-someone-else-rotated-it");
  auto mgr = make(settings());
  mgr->onTick();
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  auto st = status(*mgr);
  EXPECT_NE(st->getValue<std::string>("last_error").find("refresh_token_reused"), std::string::npos);
  EXPECT_EQ(fake.counts().refresh_rejected, 1);
}

TEST_F(ManagerOAuthTest, InvalidGrantMeansNeedsLogin) {
  fake.setMode(FakeOAuthServer::Mode::InvalidGrant);
  auto mgr = make(settings());
  mgr->onTick();
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::NeedsLogin);
  EXPECT_NE(status(*mgr)->getValue<std::string>("last_error").find("invalid_grant"), std::string::npos);
}

TEST_F(ManagerOAuthTest, UnreachableEndpointIsTransient) {
  CredentialSettings s = settings();
  const uint16_t port = fake.port();
  fake.stop();
  s.auth_base_url = "http://127.0.0.1:" + std::to_string(port);
  auto mgr = make(s);
  mgr->onTick();
  ASSERT_TRUE(waitAndApply(*mgr));
  EXPECT_EQ(mgr->current().state, CredentialState::RefreshFailing);
  EXPECT_NE(status(*mgr)->getValue<std::string>("last_error").find("unreachable"), std::string::npos);
}

}  // namespace
}  // namespace cosp::supervisor
