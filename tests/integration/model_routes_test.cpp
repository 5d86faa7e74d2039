// Model routes through the real binaries against the fake Codex backend (in this process).
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "common/codex/fingerprint.h"
#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/call_bodies.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/raw_client.h"

using namespace cosp::test;
using namespace std::chrono_literals;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& json) {
  Poco::JSON::Parser parser;
  return parser.parse(json).extract<Poco::JSON::Object::Ptr>();
}

std::string header(const RecordedRequest& r, const std::string& name) { return r.header(name).value_or(""); }

}  // namespace

TEST(ModelRoutes, UpstreamSeesTranslatedRequestAndHeaders) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto r =
      httpRequest(proxy.port(), "POST", "/v1/chat/completions",
                  {{"Content-Type", "application/json"}, {"x-codex-turn-metadata", "t1"}, {"session_id", "sess-9"}},
                  chatBody("hello", false, ",\"temperature\":0.2"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-codex-sub-proxy-dropped"), "temperature");
  EXPECT_EQ(r.header("x-codex-primary-used-percent"), "7");  // rate-limit headers forwarded
  auto completion = parse(r.body);
  EXPECT_EQ(completion->getValue<std::string>("object"), "chat.completion");
  EXPECT_EQ(completion->getValue<std::string>("id").rfind("chatcmpl-", 0), 0u);

  ASSERT_EQ(backend->requestCount(), 1u);
  auto seen = *backend->request(0);
  EXPECT_EQ(seen.path, "/backend-api/codex/responses");
  EXPECT_EQ(header(seen, "Authorization"), "Bearer upstream-access-token");
  EXPECT_EQ(header(seen, "ChatGPT-Account-ID"), "acct-123");
  EXPECT_EQ(header(seen, "originator"), "codex_cli_rs");
  EXPECT_EQ(header(seen, "Accept"), "text/event-stream");
  EXPECT_EQ(header(seen, "session_id"), "sess-9");
  EXPECT_EQ(header(seen, "session-id"), "sess-9");
  EXPECT_EQ(header(seen, "x-codex-turn-metadata"), "t1");
  // The Codex CLI's fingerprint, naming the proxy where the CLI names its terminal.
  EXPECT_EQ(header(seen, "version"), std::string(cosp::common::kCheckedCodexVersion));
  EXPECT_EQ(
      header(seen, "User-Agent").rfind("codex_cli_rs/" + std::string(cosp::common::kCheckedCodexVersion) + " (", 0),
      0u);
  EXPECT_NE(header(seen, "User-Agent").find(") codex-sub-proxy/"), std::string::npos);
  auto body = parse(seen.body);
  EXPECT_FALSE(body->getValue<bool>("store"));
  EXPECT_TRUE(body->getValue<bool>("stream"));
  EXPECT_FALSE(body->has("temperature"));
  EXPECT_TRUE(body->has("instructions"));

  // ctl status shows what the backend said last, rate-limit windows included.
  ASSERT_TRUE(eventually(
      [&] {
        auto s = proxy.status();
        return s && s->getObject("upstream")->optValue<int>("last_status", 0) == 200;
      },
      5s));
  auto upstream = proxy.status()->getObject("upstream");
  EXPECT_GT(upstream->getValue<int64_t>("last_success_at"), 0);
  EXPECT_EQ(upstream->getObject("rate_limits")->getValue<std::string>("x-codex-primary-used-percent"), "7");
  // The backend's turn state is a routing token for the caller, not a quota window.
  EXPECT_FALSE(upstream->getObject("rate_limits")->has("x-codex-turn-state"));
}

TEST(ModelRoutes, ClientDisconnectClosesTheUpstreamWithinOneSecond) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  RawClient client(proxy.port());
  // A stream that has begun (output first: nothing held back), then a silent upstream.
  ASSERT_TRUE(client.post("/v1/chat/completions", chatBody("hi [[scenario:output_first+stall:30]]", true)));
  ASSERT_TRUE(backend->waitForRequests(1, 5s));
  ASSERT_TRUE(client.readUntil("200 OK")) << client.received();
  auto closed_at = std::chrono::steady_clock::now();
  client.close();
  auto upstream_closed = backend->waitForClientClose(0, 5s);
  ASSERT_TRUE(upstream_closed.has_value()) << "the proxy kept the upstream stream open";
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*upstream_closed - closed_at).count();
  EXPECT_LT(ms, 1000) << "upstream closed " << ms << " ms after the client left";
  // Non-streaming requests are watched too, and so is a stream still held back before its output.
  RawClient quiet(proxy.port());
  ASSERT_TRUE(quiet.post("/v1/responses", R"({"model":"gpt-5.5","input":"x [[scenario:stall:30]]"})"));
  ASSERT_TRUE(backend->waitForRequests(2, 5s));
  closed_at = std::chrono::steady_clock::now();
  quiet.close();
  upstream_closed = backend->waitForClientClose(1, 5s);
  ASSERT_TRUE(upstream_closed.has_value());
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(*upstream_closed - closed_at).count(), 1000);
  RawClient held(proxy.port());
  ASSERT_TRUE(held.post("/v1/responses", R"({"model":"gpt-5.5","stream":true,"input":"x [[scenario:stall:30]]"})"));
  ASSERT_TRUE(backend->waitForRequests(3, 5s));
  EXPECT_EQ(held.readSome(200), RawClient::Read::Timeout) << "a held stream sent something: " << held.received();
  closed_at = std::chrono::steady_clock::now();
  held.close();
  upstream_closed = backend->waitForClientClose(2, 5s);
  ASSERT_TRUE(upstream_closed.has_value());
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(*upstream_closed - closed_at).count(), 1000);
}

TEST(ModelRoutes, BrokenUpstreamStreamLeavesTheWorkerHealthy) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto pid_before = proxy.workerPids();

  auto broken =
      httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chatBody("x [[scenario:text+abrupt:4]]", true));
  EXPECT_EQ(broken.status, 200);
  EXPECT_NE(broken.body.find("data: {\"error\":"), std::string::npos) << broken.body;
  EXPECT_EQ(broken.body.find("[DONE]"), std::string::npos);

  auto relay = httpRequest(proxy.port(), "POST", "/v1/responses", {},
                           R"({"model":"gpt-5.5","stream":true,"input":"x [[scenario:text+abrupt:4]]"})");
  EXPECT_EQ(relay.status, 200);
  EXPECT_NE(relay.body.find("event: error"), std::string::npos) << relay.body;

  auto next = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chatBody("again", false));
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(proxy.workerPids(), pid_before) << "the worker was replaced";
  EXPECT_EQ(proxy.status()->getValue<int>("worker_restarts"), 0);
}

TEST(ModelRoutes, ErrorsBeforeTheFirstByteGetMappedStatuses) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  int port = proxy.port();

  auto limited = httpRequest(port, "POST", "/v1/chat/completions", {},
                             chatBody("x [[scenario:status:429:usage_limit_429.json]]", false));
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_NE(limited.body.find("\"code\":\"usage_limit_reached\""), std::string::npos) << limited.body;
  EXPECT_EQ(backend->requestCount(), 1u) << "a usage limit is not retried";

  backend->reset();
  auto failing = httpRequest(port, "POST", "/v1/chat/completions", {},
                             chatBody("x [[scenario:status:500:server_error_500.json]]", false));
  EXPECT_EQ(failing.status, 502);
  EXPECT_EQ(backend->requestCount(), 3u) << "a 5xx before the first byte is retried twice";

  // A failure after the stream's first output is an error event, and the stream ends without [DONE].
  backend->reset();
  auto failed_late =
      httpRequest(port, "POST", "/v1/chat/completions", {}, chatBody("x [[scenario:failed_after_output]]", true));
  EXPECT_EQ(failed_late.status, 200);
  EXPECT_NE(failed_late.body.find("data: {\"error\":"), std::string::npos) << failed_late.body;
  EXPECT_EQ(failed_late.body.find("[DONE]"), std::string::npos);

  // An overloaded backend failing as its very first event is retried, then a real 503.
  backend->reset();
  backend->addTranscript("overloaded_first",
                         "event: error\ndata: {\"type\":\"error\",\"code\":\"server_is_overloaded\","
                         "\"message\":\"Our servers are currently overloaded.\"}\n\n");
  auto overloaded =
      httpRequest(port, "POST", "/v1/chat/completions", {}, chatBody("x [[scenario:overloaded_first]]", true));
  EXPECT_EQ(overloaded.status, 503) << overloaded.body;
  EXPECT_EQ(backend->requestCount(), 3u);

  auto bad = httpRequest(port, "POST", "/v1/chat/completions", {}, "{\"model\":\"gpt-5.5\",\"messages\":\"nope\"}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"param\":\"messages\""), std::string::npos) << bad.body;
  auto stateless = httpRequest(port, "POST", "/v1/responses", {},
                               R"({"model":"gpt-5.5","input":"x","previous_response_id":"resp_1"})");
  EXPECT_EQ(stateless.status, 400);
  EXPECT_NE(stateless.body.find("previous_response_id"), std::string::npos);
}

TEST(ModelRoutes, UpstreamIdleTimeoutEndsTheStreamWithAnError) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend, {{"UPSTREAM_IDLE_TIMEOUT", "1s"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto streamed = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {},
                              chatBody("x [[scenario:output_first+stall:30]]", true));
  EXPECT_EQ(streamed.status, 200);
  EXPECT_NE(streamed.body.find("data: {\"error\":"), std::string::npos) << streamed.body;
  // Silent before any output: nothing was sent yet, so the client gets a timeout status.
  auto held = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chatBody("x [[scenario:stall:30]]", true));
  EXPECT_EQ(held.status, 504) << held.body;
  EXPECT_NE(held.body.find("\"code\":\"upstream_timeout\""), std::string::npos) << held.body;
  auto collected =
      httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chatBody("x [[scenario:stall:30]]", false));
  EXPECT_GE(collected.status, 502);
  EXPECT_LE(collected.status, 504);
}

TEST(ModelRoutes, NoCredentialsGives503NamingLogin) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend, {{"OPENAI_ACCESS_TOKEN", "<unset>"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto r = httpRequest(proxy.port(), "POST", "/v1/chat/completions", {}, chatBody("x", false));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("codex-sub-proxy login"), std::string::npos);
  EXPECT_NE(r.body.find("\"code\":\"no_credentials\""), std::string::npos);
  EXPECT_EQ(backend->requestCount(), 0u);
}

TEST(Lifecycle, TermLetsASlowRequestFinishThenExitsZero) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(proxyEnv(*backend, {{"WORKERS", "2"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  int port = proxy.port();
  auto slow = std::async(std::launch::async, [port] {
    return httpRequest(port, "POST", "/v1/chat/completions", {}, chatBody("x [[scenario:text+delay:150]]", false),
                       30000);
  });
  ASSERT_TRUE(backend->waitForRequests(1, 5s));
  proxy.signal(SIGTERM);
  // New connections are refused once every worker stopped accepting...
  EXPECT_TRUE(eventually([&] { return !httpRequest(port, "GET", "/healthz", {}, "", 500).connected; }, 5s));
  // ... while the slow request still completes in full.
  auto result = slow.get();
  EXPECT_EQ(result.status, 200) << result.error;
  EXPECT_NE(result.body.find("Hello! The proxy works."), std::string::npos) << result.body;
  EXPECT_EQ(proxy.waitExit(15s), std::optional<int>(0));
}
