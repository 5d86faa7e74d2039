// Supervisor-owned credentials through the real binaries: the fake OAuth server and the fake
// Codex backend run in this process.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

// No catalog endpoint: its fetch would meet a rejected token before the model call does and
// refresh it first; these tests are about the model calls' own 401s.
FakeBackendOptions withoutCatalog() {
  FakeBackendOptions options = fixtureBackendOptions();
  options.rules.catalog = false;
  return options;
}

struct Fakes : CredentialFakes {
  Fakes() : CredentialFakes(withoutCatalog()) {}
};

std::string chat(const std::string& text = "hi") {
  return R"({"model":"gpt-5.5","messages":[{"role":"user","content":")" + text + R"("}]})";
}

bool readyzOk(int port) { return httpRequest(port, "GET", "/readyz").status == 200; }

// No issued or received token may ever show in what the proxy printed.
void expectNoSecrets(const std::string& output, const FakeOAuthServer& oauth) {
  std::vector<std::string> secrets = oauth.issuedAccessTokens();
  for (const auto& t : oauth.receivedRefreshTokens()) secrets.push_back(t);
  secrets.push_back(oauth.currentRefreshToken());
  for (const auto& s : secrets) {
    if (s.size() >= 8) {
      EXPECT_EQ(output.find(s), std::string::npos) << "a token leaked into the output";
    }
  }
}

}  // namespace

TEST(Credentials, ExpiredTokenAtStartIsRefreshedOnceAndUsed) {
  Fakes f;
  TempDir state;
  std::string expired = expiredAccessToken();
  ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", expired}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually([&] { return readyzOk(proxy.port()); }, 10s)) << proxy.stderrText();
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1);
  auto r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(f.oauth.issuedAccessTokens().size(), 1u);
  EXPECT_EQ(bearerOf(*f.backend->request(0)), f.oauth.issuedAccessTokens()[0]);
  // The account id came from the token's claim.
  RecordedRequest first = *f.backend->request(0);
  std::string account;
  for (const auto& [k, v] : first.headers) {
    if (strcasecmp(k.c_str(), "ChatGPT-Account-ID") == 0) account = v;
  }
  EXPECT_EQ(account, "acct-fake-0001");
  // Rotated and stored before use: 0600, holding the new refresh token.
  std::string file = state.file("credentials.json");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(readFile(file).find(f.oauth.currentRefreshToken()), std::string::npos);
  expectNoSecrets(proxy.stderrText(), f.oauth);
}

TEST(Credentials, ManyConcurrent401sCauseExactlyOneRefresh) {
  Fakes f;
  TempDir state;
  std::string valid = FakeOAuthServer::makeJwt(unixSeconds() + 3600, "acct-fake-0001", "user");
  f.backend->rejectToken(valid);  // the backend revoked it: every request sees a 401 first
  ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", valid}, {"WORKERS", "4"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        auto r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat(), 30000);
        (r.status == 200 ? ok : bad)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1) << "single flight: one refresh for all workers";
  EXPECT_EQ(proxy.workerPids().size(), 4u);
  expectNoSecrets(proxy.stderrText(), f.oauth);
}

TEST(Credentials, Upstream401RefreshesAndRetriesSuccessfully) {
  Fakes f;
  TempDir state;
  std::string valid = FakeOAuthServer::makeJwt(unixSeconds() + 3600, "acct-fake-0001", "user");
  f.backend->rejectToken(valid);
  ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", valid}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat(), 30000);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1);
  ASSERT_EQ(f.backend->requestCount(), 2u);
  EXPECT_EQ(bearerOf(*f.backend->request(0)), valid);
  EXPECT_EQ(bearerOf(*f.backend->request(1)), f.oauth.issuedAccessTokens().at(0));
}

TEST(Credentials, ConsecutiveRefreshesRotateAndSurviveRestarts) {
  Fakes f;
  TempDir state;
  std::string valid = FakeOAuthServer::makeJwt(unixSeconds() + 3600, "acct-fake-0001", "user");
  {
    ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", valid}}));
    proxy.start();
    ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
    std::vector<std::string> returned;
    for (int i = 1; i <= 3; ++i) {
      auto ctl = runCommand("codex-sub-proxy-ctl", {"refresh"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
      ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
      ASSERT_TRUE(eventually([&] { return f.oauth.counts().refresh_ok == i; }, 10s)) << proxy.stderrText();
      returned.push_back(f.oauth.currentRefreshToken());
      // The rotated token is on disk once the refresh completed.
      ASSERT_TRUE(eventually(
          [&] { return readFile(state.file("credentials.json")).find(returned.back()) != std::string::npos; }, 5s));
      // The supervisor applies the refresh after the write; a `ctl refresh` before that finds it
      // still in flight and is rightly ignored (single flight), so the next round waits for it.
      ASSERT_TRUE(eventually(
          [&] {
            auto s = proxy.status();
            if (!s) return false;
            auto creds = s->getObject("credentials");
            return creds && creds->getValue<int>("refresh_ok") == i && !creds->getValue<bool>("refresh_in_flight");
          },
          5s));
    }
    // Each refresh used the token the previous one returned (the fake rejects any reuse).
    auto sent = f.oauth.receivedRefreshTokens();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0], "rt-seed");
    EXPECT_EQ(sent[1], returned[0]);
    EXPECT_EQ(sent[2], returned[1]);
    EXPECT_EQ(f.oauth.counts().refresh_rejected, 0);
    proxy.signal(SIGTERM);
    ASSERT_EQ(proxy.waitExit(15s), std::optional<int>(0));
    expectNoSecrets(proxy.stderrText(), f.oauth);
  }
  // A restart with the same (now stale) environment uses the stored, rotated credentials.
  ProxyProcess again(f.env(state, {{"OPENAI_ACCESS_TOKEN", valid}}));
  again.start();
  ASSERT_TRUE(again.waitReady()) << again.stderrText();
  auto r = httpRequest(again.port(), "POST", "/v1/chat/completions", {}, chat());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bearerOf(f.backend->requests().back()), f.oauth.issuedAccessTokens().back());
  ASSERT_EQ(runCommand("codex-sub-proxy-ctl", {"refresh"}, {{"CONTROL_SOCKET", again.controlSocket()}}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return f.oauth.counts().refresh_ok == 4; }, 10s)) << again.stderrText();
  EXPECT_EQ(f.oauth.counts().refresh_rejected, 0) << "the restarted proxy reused a rotated-out token";
}

TEST(Credentials, KillNineRightAfterRotationKeepsTheNewToken) {
  Fakes f;
  TempDir state;
  std::string expired = expiredAccessToken();
  {
    ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", expired}}));
    proxy.start();
    // "Right after a rotation": the proxy has applied it (which it does only once the new refresh
    // token is on disk). Killing between the token endpoint's answer and that write would lose the
    // token by construction: the endpoint rotates before it answers.
    ASSERT_TRUE(eventually(
        [&] {
          auto s = proxy.status();
          return s && s->getObject("credentials")->optValue<int>("refresh_ok", 0) == 1;
        },
        10s));
    ::kill(-proxy.pid(), SIGKILL);  // supervisor and workers, no chance to clean up
    proxy.signal(SIGKILL);
    ASSERT_TRUE(proxy.waitExit(5s).has_value());
  }
  ProxyProcess again(f.env(state, {{"OPENAI_ACCESS_TOKEN", expired}}));
  again.start();
  ASSERT_TRUE(again.waitReady()) << again.stderrText();
  ASSERT_TRUE(eventually([&] { return readyzOk(again.port()); }, 10s)) << again.stderrText();
  auto r = httpRequest(again.port(), "POST", "/v1/chat/completions", {}, chat());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bearerOf(f.backend->requests().back()), f.oauth.issuedAccessTokens().at(0));
  EXPECT_EQ(f.oauth.counts().refresh_rejected, 0);
}

TEST(Credentials, PermanentFailureMeansNeedsLogin) {
  Fakes f;
  TempDir state;
  f.oauth.setMode(FakeOAuthServer::Mode::InvalidGrant);
  std::string expired = expiredAccessToken();
  ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", expired}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually(
      [&] { return httpRequest(proxy.port(), "GET", "/readyz").body.find("needs_login") != std::string::npos; }, 10s))
      << proxy.stderrText();
  EXPECT_EQ(httpRequest(proxy.port(), "GET", "/readyz").status, 503);
  auto r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat());
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("codex-sub-proxy login"), std::string::npos) << r.body;
  EXPECT_EQ(f.backend->requestCount(), 0u);
  auto ctl = runCommand("codex-sub-proxy-ctl", {"status"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
  EXPECT_EQ(ctl.exit_code, 1);
  EXPECT_NE(ctl.out.find("needs_login"), std::string::npos);
  int calls = f.oauth.counts().refresh_calls;
  EXPECT_EQ(calls, 1) << "a permanent failure is not retried";
}

TEST(Credentials, HangingTokenEndpointNeverBlocksTheSupervisor) {
  Fakes f;
  TempDir state;
  f.oauth.setMode(FakeOAuthServer::Mode::Hang, -1, 30s);
  std::string expired = expiredAccessToken();
  ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", expired}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually([&] { return f.oauth.counts().token_calls >= 1; }, 10s));
  for (int i = 0; i < 5; ++i) {
    auto started = std::chrono::steady_clock::now();
    auto ctl = runCommand("codex-sub-proxy-ctl", {"status", "--json"}, {{"CONTROL_SOCKET", proxy.controlSocket()}});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    EXPECT_NE(ctl.exit_code, 3) << ctl.err;
    EXPECT_NE(ctl.out.find("\"workers\""), std::string::npos);
    EXPECT_LT(ms, 1000) << "ctl status took " << ms << " ms";
  }
  // Signals are still handled: a graceful stop completes although the refresh hangs.
  f.oauth.stop();
  proxy.signal(SIGTERM);
  EXPECT_EQ(proxy.waitExit(15s), std::optional<int>(0));
}

TEST(Credentials, DeviceLoginWritesCredentialsAServerUses) {
  Fakes f;
  TempDir state;
  f.oauth.setDevicePendingPolls(1);
  auto login = runCommand("codex-sub-proxy", {"login"},
                          {{"OPENAI_AUTH_BASE_URL", f.oauth.baseUrl()}, {"STATE_DIR", state.path()}}, 60s);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(login.err.find(f.oauth.baseUrl()), std::string::npos) << "the verification URL is shown";
  expectNoSecrets(login.err + login.out, f.oauth);
  struct stat st {};
  ASSERT_EQ(::stat(state.file("credentials.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ProxyProcess proxy(f.env(state, {{"OPENAI_REFRESH_TOKEN", "<unset>"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  ASSERT_TRUE(eventually([&] { return readyzOk(proxy.port()); }, 10s)) << proxy.stderrText();
  auto r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chat());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bearerOf(f.backend->requests().back()), f.oauth.issuedAccessTokens().back());

  // --print: the original project's three fields on stdout, nothing written.
  TempDir other;
  auto print = runCommand("codex-sub-proxy", {"login", "--print"},
                          {{"OPENAI_AUTH_BASE_URL", f.oauth.baseUrl()}, {"STATE_DIR", other.path()}}, 60s);
  ASSERT_EQ(print.exit_code, 0) << print.err;
  Poco::JSON::Parser parser;
  auto json = parser.parse(print.out).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(json->getValue<std::string>("refresh_token"), f.oauth.currentRefreshToken());
  EXPECT_EQ(json->getValue<std::string>("access_token"), f.oauth.issuedAccessTokens().back());
  EXPECT_GT(json->getValue<int64_t>("expires_at"), unixSeconds());
  EXPECT_EQ(json->size(), 3u);
  EXPECT_NE(::stat(other.file("credentials.json").c_str(), &st), 0);
  expectNoSecrets(print.err, f.oauth);
}
