// `codex-sub-proxy login` (device-code flow) against the fake issuer, with an injected clock so
// the polling interval costs no real time.
#include "supervisor/credentials/device_login.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <sstream>

#include "supervisor/credentials/credential_store.h"
#include "tests/support/fakes/credential_fakes.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/temp_dir.h"

namespace cosp::supervisor {
namespace {

using cosp::test::FakeClock;
using cosp::test::ScriptedTransport;
using cosp::test::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeOAuthServer;

FakeOAuthServer::Options fakeOptions(int pending, const std::string& interval, bool legacy = false) {
  FakeOAuthServer::Options o;
  o.device_pending_polls = pending;
  o.device_interval = interval;
  o.legacy_usercode_field = legacy;
  o.initial_refresh_token = "";  // nobody is logged in yet
  return o;
}

// Every token the fake ever issued, so a test can assert none leaked into a stream.
std::vector<std::string> allSecrets(const FakeOAuthServer& fake) {
  std::vector<std::string> out = fake.issuedAccessTokens();
  out.push_back(fake.currentRefreshToken());
  return out;
}

class DeviceLoginTest : public ::testing::Test {
 protected:
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }

  CredentialSettings settings(const FakeOAuthServer& fake) {
    CredentialSettings s;
    s.auth_base_url = fake.baseUrl();
    s.state_dir = dir.file("state");
    return s;
  }

  TempDir dir;
  FakeClock clock;
};

TEST_F(DeviceLoginTest, WritesCredentialsAfterPendingPolls) {
  FakeOAuthServer fake(fakeOptions(3, "2"));
  std::ostringstream err, out;
  DeviceLoginHooks hooks;
  hooks.clock = &clock;
  int rc = runDeviceLogin(settings(fake), /*print_json=*/false, err, out, hooks);
  ASSERT_EQ(rc, 0) << err.str();
  EXPECT_EQ(out.str(), "");

  FakeOAuthServer::Counts counts = fake.counts();
  EXPECT_EQ(counts.usercode_calls, 1);
  EXPECT_EQ(counts.device_poll_calls, 4);  // 3 pending + the approval
  EXPECT_EQ(counts.exchange_calls, 1);
  EXPECT_EQ(fake.receivedContentTypes(), std::vector<std::string>{"application/x-www-form-urlencoded"});
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>(3, seconds(2))));  // honours the string interval

  const std::string text = err.str();
  EXPECT_NE(text.find(fake.baseUrl() + "/codex/device"), std::string::npos) << text;
  EXPECT_NE(text.find("FAKE-"), std::string::npos) << text;  // the user code
  for (const std::string& secret : allSecrets(fake)) EXPECT_EQ(text.find(secret), std::string::npos);

  CredentialStore store(dir.file("state"));
  auto stored = store.load();
  ASSERT_TRUE(stored.ok() && stored.value().has_value());
  EXPECT_EQ(stored.value()->refresh_token, fake.currentRefreshToken());
  EXPECT_EQ(stored.value()->access_token, fake.issuedAccessTokens().back());
  EXPECT_EQ(stored.value()->account_id, "acct-fake-0001");
  EXPECT_EQ(stored.value()->expires_at_ms, (clock.unixSeconds() + 3600) * 1000);
  EXPECT_EQ(stored.value()->last_refresh_s, clock.unixSeconds());
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(DeviceLoginTest, PrintModeEmitsTheOriginalJsonShapeOnStdout) {
  FakeOAuthServer fake(fakeOptions(1, "1", /*legacy usercode field*/ true));
  std::ostringstream err, out;
  DeviceLoginHooks hooks;
  hooks.clock = &clock;
  int rc = runDeviceLogin(settings(fake), /*print_json=*/true, err, out, hooks);
  ASSERT_EQ(rc, 0) << err.str();

  Poco::JSON::Parser parser;
  Poco::JSON::Object::Ptr obj = parser.parse(out.str()).extract<Poco::JSON::Object::Ptr>();
  std::vector<std::string> keys;
  for (const auto& entry : *obj) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"access_token", "expires_at", "refresh_token"}));
  EXPECT_EQ(obj->getValue<std::string>("refresh_token"), fake.currentRefreshToken());
  EXPECT_EQ(obj->getValue<std::string>("access_token"), fake.issuedAccessTokens().back());
  EXPECT_EQ(obj->getValue<int64_t>("expires_at"), clock.unixSeconds() + 3600);  // unix seconds
  // The keys appear in the original project's order.
  EXPECT_LT(out.str().find("refresh_token"), out.str().find("access_token"));
  EXPECT_LT(out.str().find("access_token"), out.str().find("expires_at"));

  for (const std::string& secret : allSecrets(fake)) EXPECT_EQ(err.str().find(secret), std::string::npos);
  EXPECT_FALSE(CredentialStore(dir.file("state")).load().value().has_value());  // --print writes no file
}

TEST_F(DeviceLoginTest, TimesOutAfterTheDeadline) {
  FakeOAuthServer fake(fakeOptions(1'000'000, "5"));
  std::ostringstream err, out;
  DeviceLoginHooks hooks;
  hooks.clock = &clock;
  const auto start = clock.steadyNow();
  int rc = runDeviceLogin(settings(fake), false, err, out, hooks);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.str().find("timed out after 15 minutes"), std::string::npos) << err.str();
  EXPECT_EQ(clock.steadyNow() - start, seconds(15 * 60));
  EXPECT_EQ(fake.counts().device_poll_calls, 15 * 60 / 5 + 1);
  EXPECT_EQ(fake.counts().exchange_calls, 0);
  EXPECT_EQ(out.str(), "");
}

TEST_F(DeviceLoginTest, NumericIntervalAnd404PendingAndExchangeShape) {
  auto http = std::make_shared<ScriptedTransport>();
  http->reply(200, R"({"device_auth_id":"dev-1","usercode":"ABCD-EFGH","interval":3})");
  http->reply(404, "");
  http->reply(500, "");  // a server hiccup while polling is retried
  http->reply(200, R"({"authorization_code":"code-1","code_challenge":"ch","code_verifier":"ver-1"})");
  const std::string access = FakeOAuthServer::makeJwt(clock.unixSeconds() + 600, "acct-x", "s");
  http->reply(200, R"({"access_token":")" + access + R"(","refresh_token":"rt-new","id_token":"","expires_in":900})");
  CredentialSettings s;
  s.auth_base_url = "https://issuer.test/";
  s.state_dir = dir.path();
  std::ostringstream err, out;
  DeviceLoginHooks hooks;
  hooks.clock = &clock;
  hooks.transport = http;
  ASSERT_EQ(runDeviceLogin(s, true, err, out, hooks), 0) << err.str();
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>(2, seconds(3))));
  auto reqs = http->requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].url, "https://issuer.test/api/accounts/deviceauth/usercode");
  EXPECT_EQ(reqs[0].body, R"({"client_id":"app_EMoamEEZ73f0CkXaXp7hrann"})");
  EXPECT_EQ(reqs[1].url, "https://issuer.test/api/accounts/deviceauth/token");
  EXPECT_EQ(reqs[1].body, R"({"device_auth_id":"dev-1","user_code":"ABCD-EFGH"})");
  EXPECT_EQ(reqs[4].url, "https://issuer.test/oauth/token");
  EXPECT_EQ(reqs[4].content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(reqs[4].body,
            "grant_type=authorization_code&code=code-1"
            "&redirect_uri=https%3A%2F%2Fissuer.test%2Fdeviceauth%2Fcallback"
            "&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=ver-1");
  EXPECT_NE(err.str().find("https://issuer.test/codex/device"), std::string::npos);
  EXPECT_NE(err.str().find("ABCD-EFGH"), std::string::npos);
  EXPECT_EQ(err.str().find("rt-new"), std::string::npos);
  EXPECT_EQ(err.str().find(access), std::string::npos);
  EXPECT_NE(out.str().find("\"expires_at\": " + std::to_string(clock.unixSeconds() + 900)), std::string::npos)
      << out.str();
}

TEST_F(DeviceLoginTest, FailuresExitNonZeroWithoutLeakingTokens) {
  {  // the exchange is refused
    auto http = std::make_shared<ScriptedTransport>();
    http->reply(200, R"({"device_auth_id":"d","user_code":"U","interval":"1"})");
    http->reply(200, R"({"authorization_code":"c","code_verifier":"v"})");
    http->reply(400, R"({"error":"invalid_grant","error_description":"the code rt-leaky was bad"})");
    CredentialSettings s;
    s.auth_base_url = "http://issuer.test";
    s.state_dir = dir.path();
    std::ostringstream err, out;
    DeviceLoginHooks hooks{&clock, http};
    EXPECT_EQ(runDeviceLogin(s, false, err, out, hooks), 1);
    EXPECT_NE(err.str().find("invalid_grant"), std::string::npos) << err.str();
    EXPECT_EQ(err.str().find("rt-leaky"), std::string::npos);  // server prose is not echoed
    EXPECT_FALSE(CredentialStore(dir.path()).load().value().has_value());
  }
  {  // device login disabled at the issuer
    auto http = std::make_shared<ScriptedTransport>();
    http->reply(404, "");
    CredentialSettings s;
    s.auth_base_url = "http://issuer.test";
    s.state_dir = dir.path();
    std::ostringstream err, out;
    EXPECT_EQ(runDeviceLogin(s, false, err, out, DeviceLoginHooks{&clock, http}), 1);
    EXPECT_NE(err.str().find("not enabled"), std::string::npos);
  }
  {  // a non-pending error while polling
    auto http = std::make_shared<ScriptedTransport>();
    http->reply(200, R"({"device_auth_id":"d","user_code":"U"})");
    http->reply(410, "");
    CredentialSettings s;
    s.auth_base_url = "http://issuer.test";
    s.state_dir = dir.path();
    std::ostringstream err, out;
    EXPECT_EQ(runDeviceLogin(s, false, err, out, DeviceLoginHooks{&clock, http}), 1);
    EXPECT_NE(err.str().find("HTTP 410"), std::string::npos);
  }
}

TEST_F(DeviceLoginTest, ConfigurationErrorsExit78) {
  std::ostringstream err, out;
  CredentialSettings no_dir;
  no_dir.auth_base_url = "http://issuer.test";
  EXPECT_EQ(runDeviceLogin(no_dir, false, err, out, DeviceLoginHooks{&clock, std::make_shared<ScriptedTransport>()}),
            78);
  CredentialSettings bad_url;
  bad_url.auth_base_url = "not a url";
  EXPECT_EQ(runDeviceLogin(bad_url, true, err, out, DeviceLoginHooks{&clock, std::make_shared<ScriptedTransport>()}),
            78);
}

TEST_F(DeviceLoginTest, TheNewLoginWinsOverAStaleEnvironmentSeedAtNextStart) {
  FakeOAuthServer fake(fakeOptions(0, "1"));
  CredentialSettings s = settings(fake);
  s.refresh_token = "rt-stale-from-env";  // still in the operator's .env
  std::ostringstream err, out;
  ASSERT_EQ(runDeviceLogin(s, false, err, out, DeviceLoginHooks{&clock, nullptr}), 0) << err.str();
  auto stored = CredentialStore(s.state_dir).load().value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->seed_hash, sha256Hex("rt-stale-from-env"));

  CredentialManager::Hooks hooks;
  hooks.transport = std::make_shared<ScriptedTransport>();
  auto mgr = CredentialManager::create(s, clock, hooks);
  ASSERT_TRUE(mgr.ok());
  EXPECT_EQ(mgr.value()->current().state, CredentialState::Ok);
  EXPECT_EQ(mgr.value()->current().access_token, fake.issuedAccessTokens().back());
}

}  // namespace
}  // namespace cosp::supervisor
