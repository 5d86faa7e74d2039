// The routes and headers the Codex CLI needs beyond the model calls (README.md, HTTP surface and
// "Model calls: Upstream headers"), through the real binaries against the fake backend: the wham
// paths a ChatGPT-mode CLI probes, the turn-state and catalog ETag headers, the Codex-shaped
// catalog, /v1/responses/compact and the quota endpoints. Each test asserts what the client got
// and what the backend received.
#include <gtest/gtest.h>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using cosp::common::JsonValue;

namespace {

constexpr const char* kKey = "sk-proxy-codex-routes";
const std::vector<std::pair<std::string, std::string>> kAuthed = {{"Authorization", std::string("Bearer ") + kKey},
                                                                  {"Content-Type", "application/json"}};

std::unique_ptr<FakeCodexBackend> makeBackend() {
  FakeBackendOptions options;
  options.fixtures_dir = fixturePath("responses");
  return std::make_unique<FakeCodexBackend>(options);
}

std::unique_ptr<ProxyProcess> startProxy(const FakeCodexBackend& backend, ProxyProcess::Env extra = {}) {
  ProxyProcess::Env env = {{"CODEX_BASE_URL", backend.baseUrl()},
                           {"OPENAI_ACCESS_TOKEN", "upstream-access-token"},
                           {"OPENAI_CHATGPT_ACCOUNT_ID", "acct-123"},
                           {"PROXY_API_KEY", kKey},
                           {"WORKERS", "1"}};
  for (auto& [k, v] : extra) env[k] = v;
  auto proxy = std::make_unique<ProxyProcess>(env);
  proxy->start();
  EXPECT_TRUE(proxy->waitReady()) << proxy->stderrText();
  return proxy;
}

JsonValue parsed(const std::string& text) {
  auto v = cosp::common::parseJsonObject(text);
  EXPECT_TRUE(v) << "not a JSON object: " << text.substr(0, 400);
  return v ? std::move(*v) : JsonValue::object();
}

std::string str(const JsonValue& v, std::initializer_list<std::string_view> path) {
  const JsonValue* at = &v;
  for (auto key : path) {
    at = cosp::common::jsonMember(*at, key);
    if (!at) return {};
  }
  return std::string(at->stringView().value_or(""));
}

const std::string kResponsesBody = R"({"model":"gpt-5.4","stream":false,"input":"hi"})";

}  // namespace

TEST(CodexRoutes, OtherWhamPathsAre404WithoutAKeyCheck) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  for (const char* path : {"/backend-api/wham/accounts/check", "/backend-api/wham/settings/user"}) {
    SCOPED_TRACE(path);
    // No key at all: still a 404, never the 401 that would make a ChatGPT-mode CLI log in again.
    const HttpResult r = httpRequest(proxy->port(), "GET", path);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(str(parsed(r.body), {"error", "code"}), "unknown_url");
  }
  // The routes that do need a key still ask for one.
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/backend-api/wham/usage").status, 401);
  EXPECT_EQ(httpRequest(proxy->port(), "POST", "/v1/responses", {}, kResponsesBody).status, 401);
  EXPECT_EQ(backend->requestCount(), 0u);
}

TEST(CodexRoutes, TurnStateTravelsBothWays) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  // First turn: the backend hands out a turn state, which reaches the client.
  const HttpResult first = httpRequest(proxy->port(), "POST", "/v1/responses", kAuthed, kResponsesBody);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string state = first.header("x-codex-turn-state");
  EXPECT_EQ(state, "turn-state-0");
  // Next turn: the client echoes it, and the backend receives it.
  auto headers = kAuthed;
  headers.emplace_back("x-codex-turn-state", state);
  const HttpResult second = httpRequest(proxy->port(), "POST", "/v1/responses", headers, kResponsesBody);
  ASSERT_EQ(second.status, 200) << second.body;
  ASSERT_EQ(backend->requestCount(), 2u);
  EXPECT_EQ(backend->request(0)->header("x-codex-turn-state"), std::nullopt);
  EXPECT_EQ(backend->request(1)->header("x-codex-turn-state"), state);
  EXPECT_EQ(second.header("x-codex-turn-state"), state);
}

TEST(CodexRoutes, ModelResponsesCarryTheCatalogEtagWhenTheBackendSendsNone) {
  auto backend = makeBackend();
  auto proxy = startProxy(*backend);
  ASSERT_TRUE(backend->waitForCatalogRequests(1, 10s));
  const std::string etag = backend->catalogEtag();
  ASSERT_FALSE(etag.empty());
  // The backend's own header passes.
  const HttpResult own = httpRequest(proxy->port(), "POST", "/v1/responses", kAuthed, kResponsesBody);
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.header("x-models-etag"), etag);
  // Without it, the worker's catalog ETag stands in (the catalog came from the same backend).
  auto rules = backend->rules();
  rules.models_etag_header = false;
  backend->setRules(rules);
  const HttpResult stood_in = httpRequest(proxy->port(), "POST", "/v1/chat/completions", kAuthed,
                                          R"({"model":"gpt-5.4","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(stood_in.status, 200) << stood_in.body;
  EXPECT_FALSE(backend->request(1)->header("x-models-etag").has_value());
  EXPECT_EQ(stood_in.header("x-models-etag"), etag);
}
