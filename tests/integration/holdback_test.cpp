// Hold-back through the real binaries: the backend answers 200 and reports failures after
// response.created and response.in_progress, so the proxy holds those back until the first output
// (docs/ARCHITECTURE.md §2, stage 11). A failure before it gets a mapped status (retried when it
// says so) on both routes, streamed or not, with no byte of the stream sent; a failure after it
// stays in the stream; on success the held events go out unchanged. Also the backend's response
// headers that reach the client, and the Cloudflare cookies that go back upstream and never to
// the client.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/call_bodies.h"
#include "tests/support/harness/eventually.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/fixtures.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"
#include "tests/support/harness/raw_client.h"
#include "tests/support/harness/scripted_server.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The lifecycle events the real backend sends before anything else.
const std::string kCreated =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_h1\",\"object\":"
    "\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[]}}\n\n"
    "event: response.in_progress\n"
    "data: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_h1\",\"object\":"
    "\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[]}}\n\n";
const std::string kMetadata =
    "event: codex.rate_limits\n"
    "data: {\"type\":\"codex.rate_limits\",\"rate_limits\":{\"primary\":{\"used_percent\":7.0}}}\n\n"
    "event: codex.response.metadata\n"
    "data: {\"type\":\"codex.response.metadata\",\"metadata\":{\"turn\":1}}\n\n";

std::string failedEvent(const std::string& error_json) {
  return "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,\"response\":{\"id\":"
         "\"resp_h1\",\"status\":\"failed\",\"error\":" +
         error_json + "}}\n\n";
}
std::string errorEvent(const std::string& fields) {
  return "event: error\ndata: {\"type\":\"error\"," + fields + "}\n\n";
}

std::unique_ptr<FakeCodexBackend> makeBackend() {
  FakeBackendOptions options = fixtureBackendOptions();
  // The held bytes are compared with the transcripts: usage as written, not rewritten per session.
  options.rules.session_cache = false;
  auto backend = std::make_unique<FakeCodexBackend>(options);
  backend->addTranscript("usage_after_created",
                         kCreated + failedEvent(R"({"code":"usage_limit_reached","message":"You've hit your usage )"
                                                R"(limit.","resets_in_seconds":120,"plan_type":"plus"})"));
  backend->addTranscript(
      "not_included_after_created",
      kCreated + kMetadata +
          errorEvent(R"("error":{"type":"usage_not_included","message":"Codex is not in this plan."})"));
  backend->addTranscript(
      "capacity_after_created",
      kCreated + errorEvent(R"("code":"server_error","message":"Selected model is at capacity. Please try a )"
                            R"(different model.")"));
  backend->addTranscript(
      "cyber_after_created",
      kCreated + failedEvent(R"({"code":"cyber_policy","message":"This request was flagged by a safety policy."})"));
  backend->addTranscript("status_after_created",
                         kCreated + errorEvent(R"("status":429,"code":"rate_limit_exceeded","message":"Slow down.")"));
  // A success whose output comes after every kind of held event.
  auto text = splitSseEvents(readFixture("responses/text.sse"));
  std::string with_metadata;
  for (std::size_t i = 0; i < text.size(); ++i) {
    with_metadata += text[i] + "\n\n";
    if (i == 1) with_metadata += kMetadata;
  }
  backend->addTranscript("text_with_metadata", with_metadata);
  return backend;
}

HttpResult call(int port, const CallForm& form, const std::string& scenario) {
  return httpRequest(port, "POST", form.path, {{"Content-Type", "application/json"}},
                     form.body("x [[scenario:" + scenario + "]]"), 15000);
}

Poco::JSON::Object::Ptr errorOf(const std::string& body) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>()->getObject("error");
  } catch (const std::exception&) {
    return nullptr;
  }
}

// The body without the fake backend's `: t=<micros>` stamp lines (SSE comments).
std::string withoutStamps(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    end = end == std::string::npos ? body.size() : end + 1;
    if (body.compare(pos, 4, ": t=") != 0) out.append(body, pos, end - pos);
    pos = end;
  }
  return out;
}

}  // namespace

// Every failure the backend reports after response.created / in_progress, on the four kinds of
// call: the mapped status as a JSON error, no stream started, and retries only where they help.
TEST(HeldBack, FailuresBeforeTheFirstOutputGetMappedStatusesOnBothRoutes) {
  struct Case {
    const char* scenario;
    int status;
    const char* code;
    std::size_t attempts;     // upstream requests: 3 when retried (2 retries)
    const char* retry_after;  // "" = none expected, "*" = any
    const char* type = "";
  };
  const Case cases[] = {
      {"overloaded_after_created", 503, "server_is_overloaded", 3, "*"},
      {"failed", 502, "server_error", 3, ""},  // a server_error is 5xx-class: retried
      {"error_event", 400, "context_length_exceeded", 1, ""},
      {"usage_after_created", 429, "usage_limit_reached", 1, "120", "usage_limit_reached"},
      {"not_included_after_created", 403, "usage_not_included", 1, ""},
      {"capacity_after_created", 503, "model_at_capacity", 3, "5"},
      {"cyber_after_created", 400, "cyber_policy", 1, ""},
      {"status_after_created", 429, "rate_limit_exceeded", 1, ""},
  };
  auto backend = makeBackend();
  ProxyProcess proxy(proxyEnv(backend->baseUrl()));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  for (const Case& c : cases) {
    for (const CallForm& kind : kCallForms) {
      backend->reset();
      const HttpResult r = call(proxy.port(), kind, c.scenario);
      SCOPED_TRACE(std::string(c.scenario) + " / " + kind.name + ": " + std::to_string(r.status) + " " +
                   printable(r.body, 600));
      ASSERT_TRUE(r.complete) << r.error;
      EXPECT_EQ(r.status, c.status);
      EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0u) << "a stream was started";
      auto error = errorOf(r.body);
      ASSERT_TRUE(error) << "not an OpenAI error";
      EXPECT_EQ(error->optValue<std::string>("code", ""), c.code);
      EXPECT_FALSE(error->optValue<std::string>("message", "").empty());
      if (*c.type) {
        EXPECT_EQ(error->optValue<std::string>("type", ""), c.type);
      }
      if (std::string(c.retry_after) == "*") {
        EXPECT_FALSE(r.header("retry-after").empty());
      } else {
        EXPECT_EQ(r.header("retry-after"), c.retry_after);
      }
      EXPECT_EQ(r.body.find("response.created"), std::string::npos) << "held events leaked";
      EXPECT_EQ(backend->requestCount(), c.attempts);
      EXPECT_EQ(r.header("x-codex-primary-used-percent"), "7");  // the headers of the 200 still come back
    }
  }
  // The backend's message reaches the client.
  const HttpResult cyber = call(proxy.port(), kCallForms[0], "cyber_after_created");
  ASSERT_TRUE(errorOf(cyber.body)) << cyber.body;
  EXPECT_EQ(errorOf(cyber.body)->optValue<std::string>("message", ""), "This request was flagged by a safety policy.");
}

// After the first output nothing is retried: the failure ends the stream in-band (and a
// collected call fails with its mapped status, as before).
TEST(HeldBack, AFailureAfterTheFirstOutputStaysInTheStream) {
  auto backend = makeBackend();
  ProxyProcess proxy(proxyEnv(backend->baseUrl()));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  for (const CallForm& kind : kCallForms) {
    backend->reset();
    const HttpResult r = call(proxy.port(), kind, "failed_after_output");
    SCOPED_TRACE(std::string(kind.name) + ": " + std::to_string(r.status) + " " + printable(r.body, 600));
    ASSERT_TRUE(r.complete) << r.error;
    EXPECT_EQ(backend->requestCount(), 1u) << "retried after the first output";
    if (!kind.stream) {
      EXPECT_EQ(r.status, 502);
      ASSERT_TRUE(errorOf(r.body));
      EXPECT_EQ(errorOf(r.body)->optValue<std::string>("code", ""), "server_error");
      continue;
    }
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type").rfind("text/event-stream", 0), 0u);
    if (kind.chat) {
      EXPECT_NE(r.body.find("\"content\":\"Here is the start\""), std::string::npos);
      EXPECT_NE(r.body.find("data: {\"error\":"), std::string::npos);
      EXPECT_NE(r.body.find("\"code\":\"server_error\""), std::string::npos);
      EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
    } else {
      // The relay: the backend's own events, its failure included, unchanged.
      EXPECT_EQ(withoutStamps(r.body), readFixture("responses/failed_after_output.sse"));
    }
  }
  backend->reset();
  const HttpResult late_error = call(proxy.port(), kCallForms[1], "error_after_output");
  EXPECT_EQ(late_error.status, 200);
  EXPECT_NE(late_error.body.find("\"code\":\"context_length_exceeded\""), std::string::npos) << late_error.body;
  EXPECT_EQ(backend->requestCount(), 1u);
}

// On success the held events go out first, unchanged and in order: the Responses stream is the
// backend's bytes, whatever chunking they came in.
TEST(HeldBack, HeldEventsAreDeliveredUnchangedOnSuccess) {
  auto backend = makeBackend();
  ProxyProcess proxy(proxyEnv(backend->baseUrl()));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  const CallForm& relay = kCallForms[3];
  for (const char* scenario : {"text", "text+dribble", "tool_call+framing:length", "text_with_metadata"}) {
    const HttpResult r = call(proxy.port(), relay, scenario);
    SCOPED_TRACE(scenario);
    ASSERT_EQ(r.status, 200) << r.body;
    std::string expected;
    if (std::string(scenario) == "text_with_metadata") {
      for (const auto& ev : splitSseEvents(readFixture("responses/text.sse"))) {
        expected += ev + "\n\n";
        if (expected.find("event: response.in_progress") != std::string::npos &&
            expected.find("codex.rate_limits") == std::string::npos) {
          expected += kMetadata;
        }
      }
    } else {
      const std::string fixture = std::string(scenario).substr(0, std::string(scenario).find('+'));
      expected = readFixture("responses/" + fixture + ".sse");
    }
    EXPECT_EQ(withoutStamps(r.body), expected);
  }
  // The other sinks see the held events too: the chat stream and both collected answers complete.
  for (const CallForm& kind : {kCallForms[0], kCallForms[1], kCallForms[2]}) {
    const HttpResult r = call(proxy.port(), kind, "text_with_metadata");
    SCOPED_TRACE(kind.name);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("Hello"), std::string::npos) << r.body;
    if (kind.stream) {
      EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
    }
  }
}

// A model that thinks for longer than the window: the held events go out after 10 s (a stream
// shows progress), and the rest follows.
TEST(HeldBack, AfterTheWindowTheHeldEventsGoOut) {
  auto backend = makeBackend();
  ProxyProcess proxy(proxyEnv(backend->baseUrl()));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  RawClient client(proxy.port(), 20000);
  const auto t0 = Clock::now();
  ASSERT_TRUE(client.post("/v1/responses", responsesBody("x [[scenario:text+stall:14]]", true)));
  ASSERT_TRUE(client.readUntil("event: response.created", 20s)) << client.received();
  const auto committed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_GE(committed_ms, 9500);
  EXPECT_LT(committed_ms, 13500) << "the held event came only with the rest";
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 ", 0), 0u) << client.received();
  EXPECT_EQ(client.received().find("response.in_progress"), std::string::npos);
  ASSERT_TRUE(client.readUntil("event: response.completed", 10s)) << client.received();
}

// The backend's response headers that reach the client, its x-request-id in the log line, and
// the Cloudflare cookie jar: allow-listed cookies go back upstream, no cookie reaches a client.
TEST(HeldBack, ForwardedResponseHeadersAndTheCookieJar) {
  std::mutex mu;
  std::vector<std::string> requests;
  const std::string sse = readFixture("responses/text.sse");
  ScriptedServer backend([&](int fd, int) {
    for (;;) {
      const std::string request = readHttpRequest(fd, 5s);
      if (request.empty()) return;
      if (request.rfind("POST ", 0) == 0) {  // the supervisor's catalog GET answers the same
        std::lock_guard<std::mutex> lock(mu);
        requests.push_back(request);
      }
      const std::string head =
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/event-stream\r\n"
          "x-request-id: req_upstream_7f3a\r\n"
          "openai-model: gpt-5.5-2026-08-01\r\n"
          "x-reasoning-included: true\r\n"
          "x-models-etag: \"etag-42\"\r\n"
          "x-codex-primary-used-percent: 12\r\n"
          "Set-Cookie: __cf_bm=bm.value-1; path=/; expires=Fri, 01-Jan-2100 00:00:00 GMT; HttpOnly; Secure\r\n"
          "Set-Cookie: _cfuvid=uv.1; path=/; HttpOnly\r\n"
          "Set-Cookie: oai-session=secret; path=/\r\n"
          "x-internal-secret: nope\r\n"
          "Content-Length: " +
          std::to_string(sse.size()) + "\r\n\r\n";
      if (!writeAll(fd, head + sse)) return;
    }
  });
  ProxyProcess proxy(proxyEnv(backend.url() + "/backend-api/codex"));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  for (const CallForm& kind : kCallForms) {
    const HttpResult r = call(proxy.port(), kind, "text");
    SCOPED_TRACE(kind.name);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-upstream-request-id"), "req_upstream_7f3a");
    EXPECT_EQ(r.header("openai-model"), "gpt-5.5-2026-08-01");
    EXPECT_EQ(r.header("x-reasoning-included"), "true");
    EXPECT_EQ(r.header("x-models-etag"), "\"etag-42\"");
    EXPECT_EQ(r.header("x-codex-primary-used-percent"), "12");
    EXPECT_NE(r.header("x-request-id"), "req_upstream_7f3a") << "the proxy's own request id stays";
    EXPECT_FALSE(r.header("x-request-id").empty());
    EXPECT_EQ(r.headers.count("set-cookie"), 0u);
    EXPECT_EQ(r.headers.count("x-internal-secret"), 0u);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(requests.size(), 4u);
    EXPECT_EQ(requests[0].find("\r\nCookie:"), std::string::npos) << requests[0];
    for (std::size_t i = 1; i < requests.size(); ++i) {
      EXPECT_NE(requests[i].find("\r\nCookie: __cf_bm=bm.value-1; _cfuvid=uv.1\r\n"), std::string::npos) << requests[i];
      EXPECT_EQ(requests[i].find("oai-session"), std::string::npos);
    }
  }
  // The log line of each request names the backend's request id.
  EXPECT_TRUE(eventually(
      [&] { return proxy.stderrText().find("\"upstream_request_id\":\"req_upstream_7f3a\"") != std::string::npos; },
      5s))
      << proxy.stderrText();
}
