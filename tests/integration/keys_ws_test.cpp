// Caller keys of API_KEYS_FILE on the Responses WebSocket and on /v1/responses/compact (SPEC §10),
// on the real binaries: each `response.create` turn is one model call of the key (its limits as
// wrapped error events, its lease, its tokens), and a compaction is one model call.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/keys/keys_file.h"
#include "tests/support/harness/eventually.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/json_fields.h"
#include "tests/support/harness/ws_client.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using cosp::common::JsonValue;

namespace {

constexpr const char* kKey = "csp-integration-ws-key";
constexpr const char* kOpsKey = "csp-integration-ws-ops";

std::string keyEntry(const std::string& name, const std::string& key, const std::string& limits = "") {
  return R"({"name":")" + name + R"(","sha256":")" + cosp::common::keys::toHex(cosp::common::keys::sha256(key)) + "\"" +
         limits + "}";
}

struct KeysStack {
  std::unique_ptr<FakeCodexBackend> backend = makeFixtureBackend();
  TempDir dir;
  std::string keys_file = dir.file("keys.json");

  // `limits` for the key under test; an unlimited "ops" key reads /metrics.
  std::unique_ptr<ProxyProcess> start(const std::string& limits, int workers = 2) {
    writeFile(keys_file, R"({"keys":[)" + keyEntry("team-ws", kKey, limits) + "," + keyEntry("ops", kOpsKey) + "]}");
    ::chmod(keys_file.c_str(), 0600);
    return startReadyProxy(proxyEnv(*backend, {{"API_KEYS_FILE", keys_file},
                                               {"STATE_DIR", dir.file("state")},
                                               {"WORKERS", std::to_string(workers)},
                                               {"CONTROL_SOCKET", dir.file("control.sock")}}));
  }
};

std::string createMessage(std::string_view model, std::string_view text) {
  return R"({"type":"response.create","model":")" + std::string(model) +
         R"(","instructions":"","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":")" +
         std::string(text) + R"("}]}],"store":false,"stream":true})";
}

const std::vector<std::string> kTerminal = {"response.completed", "response.failed", "response.incomplete", "error"};

std::unique_ptr<WsClient> openSocket(int port) {
  auto client = std::make_unique<WsClient>(port);
  const RawResponse r = client->upgrade("/v1/responses", kKey, "OpenAI-Beta: responses_websockets=2026-02-06\r\n");
  EXPECT_EQ(r.status, 101) << r.head << r.body;
  EXPECT_TRUE(client->open()) << client->handshakeError();
  return client;
}

// The last message of a turn (its terminal event or the wrapped error).
std::string turn(WsClient& ws, std::string_view model, std::string_view text = "hello") {
  EXPECT_TRUE(ws.sendText(createMessage(model, text)));
  const auto messages = ws.readUntilType(kTerminal);
  return messages.empty() ? std::string() : messages.back();
}

HttpResult postCall(const ProxyProcess& proxy) {
  return httpRequest(proxy.port(), "POST", "/v1/responses",
                     {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "application/json"}},
                     R"({"model":"gpt-5.5","input":"hello"})", 15000);
}

HttpResult compact(const ProxyProcess& proxy, const std::string& model) {
  return httpRequest(proxy.port(), "POST", "/v1/responses/compact",
                     {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "application/json"}},
                     R"({"model":")" + model +
                         R"(","instructions":"sys","input":[{"type":"message","role":"user",)"
                         R"("content":"hi"}]})");
}

std::string metricsText(const ProxyProcess& proxy) {
  return httpRequest(proxy.port(), "GET", "/metrics", {{"Authorization", std::string("Bearer ") + kOpsKey}}).body;
}

// The value of one sample line of the /metrics text, or -1.
double sample(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

std::string tokens(const std::string& kind) {
  return R"(codex_sub_proxy_key_tokens_total{key="team-ws",kind=")" + kind + "\"}";
}

std::string requests(const std::string& status_class) {
  return R"(codex_sub_proxy_key_requests_total{key="team-ws",status_class=")" + status_class + "\"}";
}

std::int64_t usageField(const JsonValue& completed, std::initializer_list<std::string_view> path) {
  const JsonValue* at = &completed;
  for (auto key : path) {
    at = cosp::common::jsonMember(*at, key);
    if (at == nullptr) return -1;
  }
  return at->getInt64().value_or(-1);
}

}  // namespace

TEST(KeysWebSocket, RpmCountsEachTurnAndARefusedTurnLeavesTheSocketOpen) {
  KeysStack s;
  auto proxy = s.start(R"(,"rpm":2)");
  auto ws = openSocket(proxy->port());
  std::int64_t input = 0, cached = 0, output = 0, reasoning = 0;
  for (int i = 0; i < 2; ++i) {
    const std::string last = turn(*ws, "gpt-5.5", "turn " + std::to_string(i));
    ASSERT_EQ(messageType(last), "response.completed") << last;
    const JsonValue completed = parsed(last);
    input += usageField(completed, {"response", "usage", "input_tokens"});
    cached += usageField(completed, {"response", "usage", "input_tokens_details", "cached_tokens"});
    output += usageField(completed, {"response", "usage", "output_tokens"});
    reasoning += usageField(completed, {"response", "usage", "output_tokens_details", "reasoning_tokens"});
  }
  ASSERT_GT(input, 0);
  ASSERT_GT(output, 0);

  // The third turn in the minute: the wrapped 429 with the values an HTTP 429 has as headers.
  const std::string refused = turn(*ws, "gpt-5.5", "turn 3");
  ASSERT_EQ(messageType(refused), "error") << refused;
  const JsonValue error = parsed(refused);
  EXPECT_EQ(cosp::common::jsonInt(error, "status"), 429) << refused;
  EXPECT_EQ(str(error, {"error", "code"}), "rate_limit_exceeded");
  EXPECT_EQ(str(error, {"error", "type"}), "requests");
  EXPECT_EQ(str(error, {"headers", "x-ratelimit-limit-requests"}), "2") << refused;
  EXPECT_EQ(str(error, {"headers", "x-ratelimit-remaining-requests"}), "0");
  EXPECT_FALSE(str(error, {"headers", "x-ratelimit-reset-requests"}).empty());
  const int retry_after = std::atoi(str(error, {"headers", "retry-after"}).c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(s.backend->requestCount(), 2u);  // the refused turn never reached the backend

  // The socket is still open and answered by the proxy.
  ASSERT_TRUE(ws->sendFrame(cosp::worker::ws::Opcode::kPing, "still-there"));
  auto pong = ws->next();
  ASSERT_TRUE(pong.has_value()) << ws->error();
  EXPECT_EQ(pong->opcode, cosp::worker::ws::Opcode::kPong);

  // /metrics: the backend's usage of the two turns, two 2xx and one 4xx; the socket itself (its
  // 101) is no model call of the key.
  ASSERT_TRUE(ws->sendFrame(cosp::worker::ws::Opcode::kClose,
                            cosp::worker::ws::closePayload(cosp::worker::ws::CloseCode::kNormal, "bye")));
  ASSERT_TRUE(eventually(
      [&] { return proxy->stderrText().find(R"("route":"responses_websocket","status":101)") != std::string::npos; },
      5s))
      << proxy->stderrText();
  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = metricsText(*proxy);
        return sample(text, tokens("input")) == input && sample(text, requests("4xx")) == 1;
      },
      5s))
      << text;
  EXPECT_EQ(sample(text, tokens("cached")), cached);
  EXPECT_EQ(sample(text, tokens("output")), output);
  EXPECT_EQ(sample(text, tokens("reasoning")), reasoning);
  EXPECT_EQ(sample(text, requests("2xx")), 2);
  EXPECT_LE(sample(text, requests("1xx")), 0);
  EXPECT_EQ(text.find(kKey), std::string::npos);
}

TEST(KeysWebSocket, ADisallowedModelIsTheWrapped403AndTheNextTurnGoes) {
  KeysStack s;
  auto proxy = s.start(R"(,"models":["gpt-5.5"])");
  auto ws = openSocket(proxy->port());
  const std::string refused = turn(*ws, "gpt-4o");
  ASSERT_EQ(messageType(refused), "error") << refused;
  const JsonValue error = parsed(refused);
  EXPECT_EQ(cosp::common::jsonInt(error, "status"), 403) << refused;
  EXPECT_EQ(str(error, {"error", "code"}), "model_not_allowed");
  EXPECT_EQ(s.backend->requestCount(), 0u);
  // The effort suffix follows its base, as on the POST route.
  EXPECT_EQ(messageType(turn(*ws, "gpt-5.5-high")), "response.completed");
  EXPECT_EQ(s.backend->requestCount(), 1u);
}

TEST(KeysWebSocket, ATurnHoldsAConcurrencyLeaseUntilItEndsOrTheSocketCloses) {
  KeysStack s;
  auto proxy = s.start(R"(,"max_concurrent":1)");
  auto ws = openSocket(proxy->port());
  // A turn in flight (the fake paces its events) holds the key's one lease ...
  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.5", "[[scenario:text+delay:150]]")));
  ASSERT_TRUE(s.backend->waitForRequests(1, 5s));
  const HttpResult during = postCall(*proxy);
  EXPECT_EQ(during.status, 429) << during.body;
  // ... until its terminal event.
  const auto events = ws->readUntilType(kTerminal);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(messageType(events.back()), "response.completed");
  EXPECT_EQ(postCall(*proxy).status, 200);

  // A socket closed in the middle of a turn gives the lease back too.
  ASSERT_TRUE(ws->sendText(createMessage("gpt-5.5", "[[scenario:text+delay:1000]]")));
  ASSERT_TRUE(s.backend->waitForRequests(3, 5s));
  EXPECT_EQ(postCall(*proxy).status, 429);
  ws.reset();  // the TCP connection goes without a close frame
  int status = 0;
  EXPECT_TRUE(eventually(
      [&] {
        status = postCall(*proxy).status;
        return status == 200;
      },
      5s))
      << status;
}

TEST(KeysWebSocket, ATokenBudgetAndADisableApplyToAnOpenSocket) {
  KeysStack s;
  // One worker: once a POST sees the disable, so does the worker holding the socket.
  auto proxy = s.start(R"(,"daily_tokens":100)", 1);
  auto ws = openSocket(proxy->port());
  // 67 counted tokens a turn: the second crosses 100 and completes, the third is refused.
  ASSERT_EQ(messageType(turn(*ws, "gpt-5.5", "one")), "response.completed");
  ASSERT_EQ(messageType(turn(*ws, "gpt-5.5", "two")), "response.completed");
  const std::string refused = turn(*ws, "gpt-5.5", "three");
  const JsonValue error = parsed(refused);
  EXPECT_EQ(cosp::common::jsonInt(error, "status"), 429) << refused;
  EXPECT_EQ(str(error, {"error", "type"}), "tokens");
  EXPECT_EQ(str(error, {"headers", "x-ratelimit-limit-tokens"}), "100") << refused;
  EXPECT_EQ(str(error, {"headers", "x-ratelimit-remaining-tokens"}), "0");
  EXPECT_EQ(s.backend->requestCount(), 2u);

  // `ctl keys disable` while the socket is open: its next turn is refused with 401.
  CommandResult disabled =
      runCommand("codex-sub-proxy-ctl", {"--control-socket", proxy->controlSocket(), "keys", "disable", "team-ws"},
                 {{"API_KEYS_FILE", s.keys_file}, {"STATE_DIR", s.dir.file("state")}});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  ASSERT_TRUE(eventually([&] { return postCall(*proxy).status == 401; }, 2s));
  const std::string after = turn(*ws, "gpt-5.5", "four");
  const JsonValue unauthorized = parsed(after);
  EXPECT_EQ(cosp::common::jsonInt(unauthorized, "status"), 401) << after;
  EXPECT_NE(str(unauthorized, {"error", "message"}).find("disabled"), std::string::npos) << after;
  EXPECT_EQ(s.backend->requestCount(), 2u);
}

TEST(KeysWebSocket, CompactIsOneModelCallOfTheKey) {
  KeysStack s;
  auto proxy = s.start(R"(,"rpm":1,"models":["gpt-5.4"])");
  // Outside the allow-list: 403 before the backend.
  const HttpResult forbidden = compact(*proxy, "gpt-4o");
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  EXPECT_EQ(str(parsed(forbidden.body), {"error", "code"}), "model_not_allowed");
  EXPECT_TRUE(s.backend->sideRequests().empty());
  // One request in the minute, with the compaction answer's usage (the fake's: 1200 in, 80 out).
  const HttpResult ok = compact(*proxy, "gpt-5.4");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("x-ratelimit-remaining-requests"), "0");
  const HttpResult limited = compact(*proxy, "gpt-5.4");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.header("x-ratelimit-limit-requests"), "1");
  EXPECT_EQ(s.backend->sideRequests().size(), 1u);
  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = metricsText(*proxy);
        return sample(text, tokens("input")) == 1200 && sample(text, requests("4xx")) == 2;
      },
      5s))
      << text;
  EXPECT_EQ(sample(text, tokens("output")), 80);
  EXPECT_EQ(sample(text, requests("2xx")), 1);
}
