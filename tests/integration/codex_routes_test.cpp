// The routes and headers the Codex CLI needs beyond the model calls (README.md, HTTP surface and
// "Model calls: Upstream headers"), through the real binaries against the fake backend: the wham
// paths a ChatGPT-mode CLI probes, the turn-state and catalog ETag headers, the Codex-shaped
// catalog, /v1/responses/compact and the quota endpoints. Each test asserts what the client got
// and what the backend received.
#include <gtest/gtest.h>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/json_fields.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using cosp::common::JsonValue;

namespace {

constexpr const char* kKey = "sk-proxy-codex-routes";
const std::vector<std::pair<std::string, std::string>> kAuthed = {{"Authorization", std::string("Bearer ") + kKey},
                                                                  {"Content-Type", "application/json"}};

std::unique_ptr<ProxyProcess> startProxy(const FakeCodexBackend& backend, ProxyProcess::Env extra = {}) {
  extra.try_emplace("PROXY_API_KEY", kKey);
  return startReadyProxy(backend, std::move(extra));
}

const std::string kResponsesBody = R"({"model":"gpt-5.4","stream":false,"input":"hi"})";

}  // namespace

TEST(CodexRoutes, OtherWhamPathsAre404WithoutAKeyCheck) {
  auto backend = makeFixtureBackend();
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
  auto backend = makeFixtureBackend();
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
  auto backend = makeFixtureBackend();
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

TEST(CodexRoutes, CompactIsForwardedWithTheRemovalsOnlyAndRelayedAsItIs) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  auto headers = kAuthed;
  headers.emplace_back("User-Agent", "codex_cli_rs/0.150.0 (Debian 12; x86_64) xterm (codex_cli_rs; 0.150.0)");
  headers.emplace_back("originator", "codex_cli_rs");
  headers.emplace_back("session_id", "sess-compact-1");
  headers.emplace_back("ChatGPT-Account-ID", "acct-of-the-caller");
  const std::string body =
      R"({"model":"gpt-5.4","instructions":"sys","input":[{"type":"message","role":"user","content":"hi","id":"m1"}],)"
      R"("temperature":0.3,"parallel_tool_calls":true})";
  const HttpResult r = httpRequest(proxy->port(), "POST", "/v1/responses/compact", headers, body);
  ASSERT_EQ(r.status, 200) << r.body;
  const JsonValue answer = parsed(r.body);
  EXPECT_EQ(str(answer, {"object"}), "response.compaction");
  EXPECT_NE(r.body.find(R"("encrypted_content":"gAAAAABfake-compacted-state")"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-codex-sub-proxy-dropped"), "temperature");
  EXPECT_EQ(r.header("x-codex-primary-used-percent"), "7");

  const auto side = backend->sideRequests();
  ASSERT_EQ(side.size(), 1u);
  EXPECT_EQ(side[0].path, "/backend-api/codex/responses/compact");
  EXPECT_EQ(
      side[0].body,
      R"({"model":"gpt-5.4","instructions":"sys","input":[{"type":"message","role":"user","content":"hi","id":"m1"}],)"
      R"("parallel_tool_calls":true})");
  EXPECT_EQ(side[0].header("Authorization"), "Bearer upstream-access-token");
  EXPECT_EQ(side[0].header("ChatGPT-Account-ID"), "acct-123");  // the proxy's, never the caller's
  EXPECT_EQ(side[0].header("session_id"), "sess-compact-1");
  EXPECT_EQ(side[0].header("originator"), "codex_cli_rs");
  EXPECT_EQ(side[0].header("Accept"), "application/json");
  EXPECT_EQ(backend->requestCount(), 0u);  // no model stream was asked for

  // The backend's error comes back with its status and body.
  const HttpResult refused = httpRequest(proxy->port(), "POST", "/v1/responses/compact", kAuthed, R"({"model":"x"})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(str(parsed(refused.body), {"error", "code"}), "missing_required_parameter");
  // Bad JSON is the client's 400, answered without asking the backend.
  EXPECT_EQ(httpRequest(proxy->port(), "POST", "/v1/responses/compact", kAuthed, "{nope").status, 400);
  EXPECT_EQ(backend->sideRequests().size(), 2u);
}

TEST(CodexRoutes, UsageIsTheBackendsQuotaAnswer) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  for (const char* path : {"/api/codex/usage", "/backend-api/wham/usage"}) {
    SCOPED_TRACE(path);
    const HttpResult r = httpRequest(proxy->port(), "GET", path, kAuthed);
    ASSERT_EQ(r.status, 200) << r.body;
    const JsonValue usage = parsed(r.body);
    EXPECT_EQ(str(usage, {"plan_type"}), "plus");
    const JsonValue* primary =
        cosp::common::jsonMember(*cosp::common::jsonMember(usage, "rate_limit"), "primary_window");
    ASSERT_NE(primary, nullptr) << r.body;
    EXPECT_EQ(cosp::common::jsonMember(*primary, "limit_window_seconds")->getInt64(), 18000);
  }
  const auto side = backend->sideRequests();
  ASSERT_EQ(side.size(), 2u);
  for (const auto& seen : side) {
    EXPECT_EQ(seen.method, "GET");
    EXPECT_EQ(seen.path, "/backend-api/wham/usage");
    EXPECT_EQ(seen.header("Authorization"), "Bearer upstream-access-token");
    EXPECT_EQ(seen.header("ChatGPT-Account-ID"), "acct-123");
    EXPECT_TRUE(seen.header("User-Agent").value_or("").rfind("codex_cli_rs/", 0) == 0);
  }
  // A key is required.
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/api/codex/usage").status, 401);
  EXPECT_EQ(backend->sideRequests().size(), 2u);
}

TEST(CodexRoutes, UsageUrlCanBeSet) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend, {{"CODEX_USAGE_URL", backend->origin() + "/elsewhere/usage"}});
  const HttpResult r = httpRequest(proxy->port(), "GET", "/api/codex/usage", kAuthed);
  // The fake has no such route: its 404 comes back as it is, and shows where the proxy asked.
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("/elsewhere/usage"), std::string::npos) << r.body;
}

TEST(CodexRoutes, CatalogInTheCodexShapeIsTheBackendsOwnCachedPerVersion) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  ASSERT_TRUE(backend->waitForCatalogRequests(1, 10s));
  const std::size_t before = backend->catalogRequestCount();
  const HttpResult r = httpRequest(proxy->port(), "GET", "/v1/models?client_version=0.169.0", kAuthed);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("etag"), backend->catalogEtag());
  // Every entry as the backend sent it: the fields the proxy does not read are there.
  const JsonValue mine = parsed(r.body);
  const JsonValue theirs = parsed(backend->catalog());
  const auto* models = cosp::common::jsonMember(mine, "models");
  const auto* backend_models = cosp::common::jsonMember(theirs, "models");
  ASSERT_TRUE(models && models->getArray() && backend_models && backend_models->getArray());
  ASSERT_EQ(models->getArray()->size(), backend_models->getArray()->size());
  for (std::size_t i = 0; i < models->getArray()->size(); ++i) {
    EXPECT_EQ(cosp::common::toJson((*models->getArray())[i]), cosp::common::toJson((*backend_models->getArray())[i]));
  }
  // Asked once for that version, with the caller's version; the next ask is answered from the cache.
  ASSERT_EQ(backend->catalogRequestCount(), before + 1);
  EXPECT_EQ(backend->catalogRequests().back().uri, "/backend-api/codex/models?client_version=0.169.0");
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/v1/models?client_version=0.169.0", kAuthed).body, r.body);
  EXPECT_EQ(backend->catalogRequestCount(), before + 1);
  // Without client_version: the OpenAI list as before.
  const HttpResult list = httpRequest(proxy->port(), "GET", "/v1/models", kAuthed);
  EXPECT_EQ(str(parsed(list.body), {"object"}), "list");
  // A version that cannot go into a URL is the client's 400.
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/v1/models?client_version=a%20b", kAuthed).status, 400);
}

TEST(CodexRoutes, CatalogInTheCodexShapeIsFilteredToCodexModels) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend, {{"CODEX_MODELS", "gpt-5.4,not-in-the-catalog"}});
  const HttpResult r = httpRequest(proxy->port(), "GET", "/v1/models?client_version=0.169.0", kAuthed);
  ASSERT_EQ(r.status, 200) << r.body;
  const JsonValue catalog = parsed(r.body);
  const auto* models = cosp::common::jsonMember(catalog, "models");
  ASSERT_TRUE(models && models->getArray());
  ASSERT_EQ(models->getArray()->size(), 1u) << r.body;  // a model without an entry is left out
  EXPECT_EQ(str((*models->getArray())[0], {"slug"}), "gpt-5.4");
}

TEST(CodexRoutes, CatalogFallsBackToTheHeldOneWhenTheBackendFails) {
  auto backend = makeFixtureBackend();
  auto proxy = startProxy(*backend);
  ASSERT_TRUE(backend->waitForCatalogRequests(1, 10s));
  backend->failCatalog(503);
  const HttpResult r = httpRequest(proxy->port(), "GET", "/v1/models?client_version=0.170.0", kAuthed);
  ASSERT_EQ(r.status, 200) << r.body;
  const JsonValue catalog = parsed(r.body);
  const auto* models = cosp::common::jsonMember(catalog, "models");
  ASSERT_TRUE(models && models->getArray());
  EXPECT_FALSE(models->getArray()->empty()) << r.body;
  EXPECT_EQ(backend->catalogRequests().back().uri, "/backend-api/codex/models?client_version=0.170.0");
}

TEST(CodexRoutes, CatalogIs502WhenNeitherTheBackendNorTheHeldCatalogHasEntries) {
  auto backend = makeFixtureBackend();
  auto rules = backend->rules();
  rules.catalog = false;  // no catalog endpoint: the supervisor serves the built-in list, without raw entries
  backend->setRules(rules);
  auto proxy = startProxy(*backend);
  const HttpResult r = httpRequest(proxy->port(), "GET", "/v1/models?client_version=0.169.0", kAuthed);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(str(parsed(r.body), {"error", "code"}), "upstream_catalog_unavailable") << r.body;
  // The OpenAI list still answers from the built-in catalog.
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/v1/models", kAuthed).status, 200);
}
