// Model calls that find no usable access token wait for the supervisor's refresh
// (README.md, "Credentials and login"; worker/calls/credentials_wait.h), through the real
// binaries against the fake OAuth server and the fake Codex backend in this process.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/fakes/fake_oauth_server.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/raw_client.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kChat = R"({"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]})";

// The workers answer: the first moment a call can be sent.
bool serving(const ProxyProcess& proxy) {
  return eventually([&] { return httpRequest(proxy.port(), "GET", "/healthz", {}, "", 1000).status == 200; }, 15s);
}

struct Timed {
  HttpResult r;
  Clock::duration took{};
};

// `n` chat calls sent at once.
std::vector<Timed> concurrentChats(int port, int n, int timeout_ms = 60000) {
  std::vector<Timed> results(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      const auto start = Clock::now();
      results[static_cast<size_t>(i)].r = httpRequest(port, "POST", "/v1/chat/completions", {}, kChat, timeout_ms);
      results[static_cast<size_t>(i)].took = Clock::now() - start;
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

int64_t ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

}  // namespace

// The fakes, the proxy's state directory, and the proxy once a test starts it.
class CredentialsWait : public ::testing::Test {
 protected:
  // Starts the proxy with `extra` in its environment and waits until it serves.
  void startServing(ProxyProcess::Env extra = {}) {
    proxy = std::make_unique<ProxyProcess>(f.env(state, std::move(extra)));
    proxy->start();
    ASSERT_TRUE(serving(*proxy)) << proxy->stderrText();
  }

  // The token endpoint hangs for good; the proxy starts with an expired access token and
  // CREDENTIALS_WAIT=`credentials_wait`.
  void startWithAHangingRefresh(const std::string& credentials_wait) {
    f.oauth.setMode(FakeOAuthServer::Mode::Hang, -1, 120s);
    startServing({{"OPENAI_ACCESS_TOKEN", expiredAccessToken()}, {"CREDENTIALS_WAIT", credentials_wait}});
  }

  // Wakes a hanging token handler, so that the fake's own shutdown is not held up by it.
  void TearDown() override { f.oauth.stop(); }

  CredentialFakes f;
  TempDir state;
  std::unique_ptr<ProxyProcess> proxy;
};

// A proxy started from an old .env: its access token expired long ago and the first refresh is
// slow. The calls sent right after the start wait for that refresh instead of failing.
TEST_F(CredentialsWait, CallsRightAfterAStartWithAnExpiredTokenWaitForTheSlowRefresh) {
  f.oauth.setMode(FakeOAuthServer::Mode::Hang, 1, 1500ms * kSanitizerSlowdown);
  ASSERT_NO_FATAL_FAILURE(startServing({{"OPENAI_ACCESS_TOKEN", expiredAccessToken()}}));
  // The calls really go out while the refresh is in flight (else this test proves nothing).
  ASSERT_EQ(f.oauth.counts().refresh_ok, 0) << "the refresh finished before the calls were sent";

  const std::vector<Timed> results = concurrentChats(proxy->port(), 20);
  for (const Timed& t : results) {
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_LT(t.took, 14s) << "waited " << ms(t.took) << " ms";  // the refresh, not CREDENTIALS_WAIT (15 s)
  }
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1) << "20 waiting calls on 2 workers cause one refresh";
  EXPECT_EQ(f.oauth.counts().refresh_ok, 1);
  ASSERT_EQ(f.oauth.issuedAccessTokens().size(), 1u);
  ASSERT_EQ(f.backend->requestCount(), 20u) << "no call reached the backend with the expired token";
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(bearerOf(*f.backend->request(i)), f.oauth.issuedAccessTokens()[0]);
}

// A start with only a refresh token: no access token at all until the first refresh lands.
TEST_F(CredentialsWait, CallsBeforeTheFirstRefreshWaitForIt) {
  f.oauth.setMode(FakeOAuthServer::Mode::Hang, 1, 1000ms * kSanitizerSlowdown);
  ASSERT_NO_FATAL_FAILURE(startServing());
  const std::vector<Timed> results = concurrentChats(proxy->port(), 4);
  for (const Timed& t : results) EXPECT_EQ(t.r.status, 200) << t.r.body;
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1);
}

// The refresh fails permanently while calls wait: they are answered as soon as the supervisor
// says needs_login, not at the end of CREDENTIALS_WAIT.
TEST_F(CredentialsWait, APermanentFailureAnswersWaitingCallsPromptly) {
  f.oauth.setDelay(1000ms * kSanitizerSlowdown);
  f.oauth.setMode(FakeOAuthServer::Mode::InvalidGrant);
  ASSERT_NO_FATAL_FAILURE(startServing({{"OPENAI_ACCESS_TOKEN", expiredAccessToken()}, {"CREDENTIALS_WAIT", "30s"}}));
  ASSERT_EQ(f.oauth.counts().refresh_rejected + f.oauth.counts().refresh_ok, 0);

  const std::vector<Timed> results = concurrentChats(proxy->port(), 5);
  for (const Timed& t : results) {
    EXPECT_EQ(t.r.status, 503) << t.r.body;
    EXPECT_NE(t.r.body.find("\"code\":\"credentials_expired\""), std::string::npos) << t.r.body;
    EXPECT_NE(t.r.body.find("codex-sub-proxy login"), std::string::npos) << t.r.body;
    EXPECT_FALSE(t.r.header("retry-after").empty());
    EXPECT_LT(t.took, 15s) << "answered after " << ms(t.took) << " ms: well before CREDENTIALS_WAIT (30 s)";
  }
  auto ready = httpRequest(proxy->port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("\"reason\":\"needs_login\""), std::string::npos) << ready.body;
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1) << "a permanent failure is not retried";
  EXPECT_EQ(f.backend->requestCount(), 0u);

  // Later calls are answered at once.
  const auto start = Clock::now();
  auto late = httpRequest(proxy->port(), "POST", "/v1/chat/completions", {}, kChat);
  EXPECT_EQ(late.status, 503);
  EXPECT_LT(Clock::now() - start, 5s);
}

// The token endpoint hangs: a call waits CREDENTIALS_WAIT, then gets 503 credentials_expired
// with Retry-After.
TEST_F(CredentialsWait, AWaitThatEndsWithoutATokenIsA503AfterCredentialsWait) {
  ASSERT_NO_FATAL_FAILURE(startWithAHangingRefresh("1s"));

  const auto start = Clock::now();
  auto r = httpRequest(proxy->port(), "POST", "/v1/chat/completions", {}, kChat, 30000);
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"credentials_expired\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("retry-after"), "5");
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 1s + 5s * kSanitizerSlowdown) << "answered after " << ms(took) << " ms";
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1) << "the hanging refresh is the only one (single flight)";
  EXPECT_EQ(f.backend->requestCount(), 0u);
}

// A client that hangs up while its call waits lets the wait go at once (the worker logs it).
TEST_F(CredentialsWait, AClientThatHangsUpEndsItsWait) {
  ASSERT_NO_FATAL_FAILURE(startWithAHangingRefresh("60s"));
  {
    RawClient client(proxy->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.post("/v1/chat/completions", kChat));
    // The call is in a worker (and waiting: the refresh hangs) once a heartbeat counts it.
    ASSERT_TRUE(eventually(
        [&] {
          auto s = proxy->status();
          return s && s->has("totals") && s->getObject("totals")->getValue<int>("active_requests") == 1;
        },
        10s))
        << proxy->stderrText();
  }  // closes the connection
  ASSERT_TRUE(eventually([&] { return proxy->stderrText().find(R"("outcome":"client_left")") != std::string::npos; },
                         5s * kSanitizerSlowdown))
      << proxy->stderrText();
  EXPECT_EQ(f.backend->requestCount(), 0u);
}

// `ctl status` opens with the worker count.
TEST_F(CredentialsWait, CtlStatusHeadlineNamesTheWorkerCount) {
  proxy = std::make_unique<ProxyProcess>(f.env(state, {{"WORKERS", "3"}}));
  proxy->start();
  ASSERT_TRUE(proxy->waitReady()) << proxy->stderrText();
  ASSERT_TRUE(eventually([&] { return httpRequest(proxy->port(), "GET", "/readyz").status == 200; }, 10s));
  auto text = runCommand("codex-sub-proxy-ctl", {"status"}, {{"CONTROL_SOCKET", proxy->controlSocket()}});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  const std::string second_line = text.out.substr(text.out.find('\n') + 1);
  EXPECT_EQ(second_line.rfind("3/3 workers ready, healthy\n", 0), 0u) << text.out;
  auto json = runCommand("codex-sub-proxy-ctl", {"status", "--json"}, {{"CONTROL_SOCKET", proxy->controlSocket()}});
  EXPECT_NE(json.out.find(R"("headline":"3/3 workers ready")"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find(R"("workers_ready":3)"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find(R"("workers_configured":3)"), std::string::npos) << json.out;
}
