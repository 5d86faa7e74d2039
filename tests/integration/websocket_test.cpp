// Responses over WebSocket on GET /v1/responses (README.md, HTTP surface; docs/ARCHITECTURE.md §7),
// through the real binaries against the fake backend's WebSocket: the client plays the Codex CLI
// with the proxy's own codec (tests/support/harness/ws_client.h), the fake answers with POCO's.
// Each test asserts what the client got and what reached the backend.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/support/harness/eventually.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/json_fields.h"
#include "tests/support/harness/ws_client.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using cosp::common::JsonValue;

namespace {

constexpr const char* kKey = "sk-proxy-websocket";

std::unique_ptr<ProxyProcess> startProxy(const FakeCodexBackend& backend) {
  return startReadyProxy(backend, {{"PROXY_API_KEY", kKey}});
}

std::string createMessage(std::string_view model, std::string_view text, std::string_view previous = {}) {
  std::string m = R"({"type":"response.create","model":")" + std::string(model) + "\"";
  if (!previous.empty()) m += R"(,"previous_response_id":")" + std::string(previous) + "\"";
  m += R"(,"instructions":"","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":")" +
       std::string(text) + R"("}]}],"store":false,"stream":true})";
  return m;
}

const std::vector<std::string> kTerminal = {"response.completed", "response.failed", "response.incomplete", "error"};

// A WebSocket open through the proxy, with the Codex CLI's upgrade headers.
std::unique_ptr<WsClient> openSocket(int port, const std::string& extra = "") {
  auto client = std::make_unique<WsClient>(port);
  const RawResponse r =
      client->upgrade("/v1/responses", kKey,
                      "OpenAI-Beta: responses_websockets=2026-02-06\r\nSec-WebSocket-Extensions: permessage-deflate; "
                      "client_max_window_bits\r\n" +
                          extra);
  EXPECT_EQ(r.status, 101) << r.head << r.body;
  EXPECT_TRUE(client->open()) << client->handshakeError();
  return client;
}

std::string lastType(const std::vector<std::string>& messages) {
  return messages.empty() ? std::string() : messageType(messages.back());
}

}  // namespace

TEST(WebSocket, TwoTurnsShareOneBackendConnectionAndPreviousResponseIdReachesIt) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto ws = openSocket(proxy->port());
  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.4-high", "first turn")));
  const auto first = ws->readUntilType(kTerminal);
  ASSERT_EQ(lastType(first), "response.completed") << (first.empty() ? "" : first.back());
  EXPECT_EQ(messageType(first.front()), "response.created");
  const std::string id = str(parsed(first.back()), {"response", "id"});
  ASSERT_FALSE(id.empty());

  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.4", "second turn", id)));
  const auto second = ws->readUntilType(kTerminal);
  ASSERT_EQ(lastType(second), "response.completed") << (second.empty() ? "" : second.back());

  ASSERT_EQ(backend->requestCount(), 2u);
  EXPECT_EQ(backend->websocketUpgrades(), 1);
  const RecordedRequest one = *backend->request(0);
  const RecordedRequest two = *backend->request(1);
  EXPECT_TRUE(one.websocket && two.websocket);
  EXPECT_EQ(one.connection, two.connection);  // previous_response_id is scoped to it
  // The POST route's normalisation: the effort suffix became reasoning.effort, the message type stays.
  const JsonValue body1 = parsed(one.body);
  EXPECT_EQ(str(body1, {"type"}), "response.create");
  EXPECT_EQ(str(body1, {"model"}), "gpt-5.4");
  EXPECT_EQ(str(body1, {"reasoning", "effort"}), "high");
  EXPECT_EQ(str(parsed(two.body), {"previous_response_id"}), id);
  // The relay framed every event as one text message, in order, as the backend sent them.
  EXPECT_EQ(static_cast<int>(first.size()), one.events_sent);
}

TEST(WebSocket, UpgradeRefusalsAreHttpAnswers) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  // Without the key: 401 before anything else.
  WsClient anonymous(proxy->port());
  const RawResponse no_key = anonymous.upgrade("/v1/responses", "");
  EXPECT_EQ(no_key.status, 401) << no_key.head;
  EXPECT_EQ(str(parsed(no_key.body), {"error", "code"}), "invalid_api_key");
  // A version other than 13: 426 naming the one supported.
  const HttpResult old_version = httpRequest(proxy->port(), "GET", "/v1/responses",
                                             {{"Authorization", std::string("Bearer ") + kKey},
                                              {"Connection", "Upgrade"},
                                              {"Upgrade", "websocket"},
                                              {"Sec-WebSocket-Version", "8"},
                                              {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  EXPECT_EQ(old_version.status, 426) << old_version.body;
  EXPECT_EQ(old_version.header("sec-websocket-version"), "13");
  EXPECT_EQ(str(parsed(old_version.body), {"error", "type"}), "invalid_request_error");
  // A key that is not one: 400.
  const HttpResult bad_key = httpRequest(proxy->port(), "GET", "/v1/responses",
                                         {{"Authorization", std::string("Bearer ") + kKey},
                                          {"Connection", "Upgrade"},
                                          {"Upgrade", "websocket"},
                                          {"Sec-WebSocket-Version", "13"},
                                          {"Sec-WebSocket-Key", "short"}});
  EXPECT_EQ(bad_key.status, 400) << bad_key.body;
  // GET without an upgrade is what it was: 405 naming POST.
  const HttpResult plain =
      httpRequest(proxy->port(), "GET", "/v1/responses", {{"Authorization", std::string("Bearer ") + kKey}});
  EXPECT_EQ(plain.status, 405) << plain.body;
  EXPECT_EQ(backend->websocketUpgrades(), 0);
}

TEST(WebSocket, UpgradeHeadersFollowTheModelCallRules) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto ws =
      openSocket(proxy->port(),
                 "User-Agent: codex_exec/0.169.0 (Linux; x86_64) xterm (codex_exec; 0.169.0)\r\n"
                 "originator: codex_exec\r\nversion: 0.169.0\r\nsession-id: sess-ws-1\r\nthread-id: sess-ws-1\r\n"
                 "x-codex-window-id: win-7\r\nx-openai-subagent: review\r\nChatGPT-Account-ID: acct-of-the-cli\r\n"
                 "Cookie: secret=1\r\nx-api-key: also-secret\r\n");
  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.4", "hello")));
  ASSERT_EQ(lastType(ws->readUntilType(kTerminal)), "response.completed");
  ASSERT_EQ(backend->requestCount(), 1u);
  const RecordedRequest r = *backend->request(0);
  EXPECT_EQ(r.header("Authorization"), "Bearer upstream-access-token");
  EXPECT_EQ(r.header("ChatGPT-Account-ID"), "acct-123");
  EXPECT_EQ(r.header("User-Agent"), "codex_exec/0.169.0 (Linux; x86_64) xterm (codex_exec; 0.169.0)");
  EXPECT_EQ(r.header("originator"), "codex_exec");
  EXPECT_EQ(r.header("version"), "0.169.0");
  EXPECT_EQ(r.header("session-id"), "sess-ws-1");
  EXPECT_EQ(r.header("session_id"), "sess-ws-1");
  EXPECT_EQ(r.header("thread-id"), "sess-ws-1");
  EXPECT_EQ(r.header("x-codex-window-id"), "win-7");
  EXPECT_EQ(r.header("x-openai-subagent"), "review");
  EXPECT_EQ(r.header("OpenAI-Beta"), "responses_websockets=2026-02-06");
  EXPECT_FALSE(r.header("Cookie").has_value());
  EXPECT_FALSE(r.header("x-api-key").has_value());
  EXPECT_FALSE(r.header("Sec-WebSocket-Extensions").has_value());  // no deflate offered upstream
  // The session id is the body's prompt_cache_key, as on the POST route.
  EXPECT_EQ(str(parsed(r.body), {"prompt_cache_key"}), "sess-ws-1");
}

TEST(WebSocket, BackendRefusingTheUpgradeWithAUsageLimitIsA429) {
  auto backend = makeFixtureBackend();
  backend->setDefaultScenario("status:429:usage_limit_429.json");
  auto proxy = startProxy(*backend);
  WsClient ws(proxy->port());
  const RawResponse r = ws.upgrade("/v1/responses", kKey);
  EXPECT_EQ(r.status, 429) << r.head << r.body;
  EXPECT_FALSE(ws.open());
  EXPECT_EQ(str(parsed(r.body), {"error", "code"}), "usage_limit_reached");
  EXPECT_TRUE(r.header("retry-after").has_value()) << r.head;
}

TEST(WebSocket, AUsageLimitBeforeOutputIsTheWrappedErrorEventWithItsStatus) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto ws = openSocket(proxy->port());
  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.4", "[[scenario:fail:usage_limit_reached]]")));
  const auto failed = ws->readUntilType(kTerminal);
  ASSERT_EQ(lastType(failed), "error") << (failed.empty() ? "" : failed.back());
  const JsonValue error = parsed(failed.back());
  EXPECT_EQ(cosp::common::jsonInt(error, "status"), 429);
  EXPECT_EQ(str(error, {"error", "type"}), "usage_limit_reached");
  EXPECT_EQ(str(error, {"error", "code"}), "usage_limit_reached");
  EXPECT_FALSE(str(error, {"headers", "retry-after"}).empty()) << failed.back();
  // The connection stays usable for the next turn.
  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.4", "again")));
  EXPECT_EQ(lastType(ws->readUntilType(kTerminal)), "response.completed");
}

TEST(WebSocket, PingIsAnsweredAndAClientCloseIsPassedOn) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto ws = openSocket(proxy->port());
  ASSERT_TRUE(ws->sendFrame(cosp::worker::ws::Opcode::kPing, "are-you-there"));
  auto pong = ws->next();
  ASSERT_TRUE(pong.has_value()) << ws->error();
  EXPECT_EQ(pong->opcode, cosp::worker::ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "are-you-there");
  ASSERT_TRUE(ws->sendFrame(cosp::worker::ws::Opcode::kClose,
                            cosp::worker::ws::closePayload(cosp::worker::ws::CloseCode::kNormal, "bye")));
  auto close = ws->next();
  ASSERT_TRUE(close.has_value()) << ws->error();
  EXPECT_EQ(close->opcode, cosp::worker::ws::Opcode::kClose);
  EXPECT_EQ(ws->closeInfo().code, 1000);
  // The backend got the close too: its WebSocket ends, and so does its connection.
  EXPECT_TRUE(eventually([&] { return backend->currentConnections() == 0; }, 5s)) << backend->currentConnections();
}

TEST(WebSocket, ABackendCloseReachesTheClientWithItsCode) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto ws = openSocket(proxy->port());
  // The fake closes with 1003 on a binary message (it speaks text only).
  ASSERT_TRUE(ws->sendFrame(cosp::worker::ws::Opcode::kBinary, "\x01\x02"));
  auto close = ws->next();
  ASSERT_TRUE(close.has_value()) << ws->error();
  EXPECT_EQ(close->opcode, cosp::worker::ws::Opcode::kClose);
  EXPECT_EQ(ws->closeInfo().code, 1003);
}

TEST(WebSocket, AReloadFinishesTheCallInFlightThenClosesWith1001) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto busy = openSocket(proxy->port());
  auto idle = openSocket(proxy->port());
  ASSERT_TRUE(busy->sendText(createMessage("gpt-5.4", "[[scenario:text+delay:150]]")));
  // Both count as held streams while they are open.
  ASSERT_TRUE(eventually(
      [&] {
        auto s = proxy->status();
        return s && s->getObject("totals") && s->getObject("totals")->optValue<int>("active_streams", -1) == 2;
      },
      5s))
      << proxy->stderrText();
  ASSERT_TRUE(backend->waitForRequests(1, 5s));
  proxy->signal(SIGHUP);
  // The one between calls closes at once with 1001 ...
  auto idle_close = idle->next(5s);
  ASSERT_TRUE(idle_close.has_value()) << idle->error();
  EXPECT_EQ(idle_close->opcode, cosp::worker::ws::Opcode::kClose);
  EXPECT_EQ(idle->closeInfo().code, 1001);
  // ... the one in a call gets the whole call first, then 1001.
  const auto events = busy->readUntilType(kTerminal);
  EXPECT_EQ(lastType(events), "response.completed");
  auto busy_close = busy->next(5s);
  ASSERT_TRUE(busy_close.has_value()) << busy->error();
  EXPECT_EQ(busy_close->opcode, cosp::worker::ws::Opcode::kClose);
  EXPECT_EQ(busy->closeInfo().code, 1001);
  EXPECT_NE(proxy->stderrText().find("\"reason\":\"draining\""), std::string::npos);
  // The metrics counted both WebSockets.
  EXPECT_TRUE(eventually(
      [&] {
        const HttpResult m =
            httpRequest(proxy->port(), "GET", "/metrics", {{"Authorization", std::string("Bearer ") + kKey}});
        return m.body.find("codex_sub_proxy_http_requests_total{route=\"responses_websocket\",status=\"101\"} 2") !=
               std::string::npos;
      },
      10s));
}

TEST(WebSocket, ABackend401AtTheUpgradeRefreshesTheTokenAndRetriesOnce) {
  CredentialFakes f;
  TempDir state;
  const std::string revoked = cosp::test::FakeOAuthServer::makeJwt(unixSeconds() + 3600, "acct-fake-0001", "user");
  f.backend->rejectToken(revoked);
  ProxyProcess proxy(f.env(state, {{"OPENAI_ACCESS_TOKEN", revoked}, {"WORKERS", "1"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  WsClient ws(proxy.port());
  const RawResponse r = ws.upgrade("/v1/responses", "", "", 30s);
  ASSERT_EQ(r.status, 101) << r.head << r.body;
  EXPECT_EQ(f.oauth.counts().refresh_calls, 1);
  ASSERT_TRUE(ws.sendText(createMessage("gpt-5.4", "after the refresh")));
  EXPECT_EQ(lastType(ws.readUntilType(kTerminal)), "response.completed");
  ASSERT_EQ(f.backend->requestCount(), 1u);
  EXPECT_EQ(bearerOf(*f.backend->request(0)), f.oauth.issuedAccessTokens().at(0));
}
