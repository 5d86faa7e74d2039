// The fake backend behaves like the real one by default (fake_codex_backend.h): refusals,
// in-stream failures, the catalog endpoint, cookies, response headers, the session cache; and
// each behaviour can be turned off (options, program flags, POST /__fake/options).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "tests/support/fakes/fake_backend_compaction.h"
#include "tests/support/fakes/fake_backend_wire.h"
#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/paths.h"
#include "tests/support/harness/piped_process.h"
#include "tests/support/harness/temp_dir.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::test {
namespace {

using namespace std::chrono_literals;

std::string acceptedBody(const std::string& model, const std::string& extra = "") {
  return R"({"model":")" + model + R"(","instructions":"","store":false,"stream":true,"input":[)" +
         R"({"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}])" + extra + "}";
}

struct Answer {
  int status = 0;
  worker::HeaderList headers;
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return {};
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) out.push_back(v);
    }
    return out;
  }
};

class Client {
 public:
  explicit Client(const std::string& origin) : pool_(settings(origin)) {}
  Answer send(const std::string& method, const std::string& path, const std::string& body = {},
              worker::HeaderList headers = {}) {
    worker::UpstreamRequestSpec spec;
    spec.method = method;
    spec.path = path;
    spec.body = body;
    spec.headers = std::move(headers);
    Answer a;
    auto ex = pool_.send(spec);
    EXPECT_TRUE(ex) << ex.error().message;
    if (!ex) return a;
    a.status = (*ex)->head().status;
    a.headers = (*ex)->head().headers;
    a.body = (*ex)->readAll(1 << 20, 5s);
    return a;
  }
  Answer model(const std::string& body, worker::HeaderList headers = {}) {
    return send("POST", "/backend-api/codex/responses", body, std::move(headers));
  }

 private:
  static worker::UpstreamSettings settings(const std::string& origin) {
    worker::UpstreamSettings s;
    s.base_url = origin;
    return s;
  }
  worker::UpstreamPool pool_;
};

std::unique_ptr<FakeCodexBackend> makeBackend(BackendRules rules = {}) {
  FakeBackendOptions o;
  o.fixtures_dir = fixturePath("responses");
  o.rules = std::move(rules);
  return std::make_unique<FakeCodexBackend>(o);
}

TEST(FakeBackendRealism, VersionGateByHeaderAndUserAgent) {
  auto backend = makeBackend();
  Client c(backend->origin());
  auto refused = c.model(acceptedBody("gpt-5.5"));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(
      refused.body,
      R"({"detail":"The 'gpt-5.5' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again."})");
  EXPECT_EQ(backend->request(0)->rejected_by, "version_gate");
  EXPECT_EQ(c.model(acceptedBody("gpt-5.5"), {{"version", "0.100.0"}}).status, 400);
  EXPECT_EQ(c.model(acceptedBody("gpt-5.5"), {{"version", "0.169.0"}}).status, 200);
  EXPECT_EQ(
      c.model(acceptedBody("gpt-5.6-sol"), {{"User-Agent", "codex_exec/0.169.0 (Linux 6.1; x86_64) xterm"}}).status,
      200);
  EXPECT_EQ(backend->request(3)->rejected_by, "");
  backend->setRules([] {
    BackendRules r;
    r.version_gate = false;
    return r;
  }());
  EXPECT_EQ(c.model(acceptedBody("gpt-5.5")).status, 200);
}

TEST(FakeBackendRealism, BodyAndSystemRoleRefusals) {
  auto backend = makeBackend();
  Client c(backend->origin());
  auto sys = c.model(R"({"model":"gpt-5.4","instructions":"","store":false,"stream":true,"input":[)"
                     R"({"type":"message","role":"system","content":[{"type":"input_text","text":"x"}]}]})");
  EXPECT_EQ(sys.status, 400);
  EXPECT_EQ(sys.body, R"({"detail":"System messages are not allowed"})");
  auto temp = c.model(acceptedBody("gpt-5.4", R"(,"context_management":[{"type":"compaction"}])"));
  EXPECT_EQ(temp.status, 400);
  EXPECT_EQ(temp.body, R"({"detail":"Unsupported parameter: context_management"})");
  auto noinstr = c.model(R"({"model":"gpt-5.4","store":false,"stream":true,"input":[]})");
  EXPECT_EQ(noinstr.body, R"({"detail":"Instructions are required"})");
  EXPECT_EQ(c.model(R"({"model":"gpt-5.4","store":false,"stream":true,"input":[]})",
                    {{"x-openai-internal-codex-responses-lite", "true"}})
                .status,
            200);
  auto retired = c.model(acceptedBody("gpt-5.5-pro"), {{"version", "0.169.0"}});
  EXPECT_EQ(retired.status, 400);
  EXPECT_EQ(backend->request(4)->rejected_by, "unknown_model");
  // Refusals are recorded with the body as sent.
  EXPECT_EQ(backend->requestCount(), 5u);
  EXPECT_EQ(backend->request(1)->rejected_by, "body");
}

TEST(FakeBackendRealism, InStreamFailuresAndFirstN) {
  auto backend = makeBackend();
  Client c(backend->origin());
  auto failed = c.model(acceptedBody("gpt-5.4"), {{"x-fake-scenario", "fail:server_is_overloaded"}});
  EXPECT_EQ(failed.status, 200);
  EXPECT_NE(failed.body.find("event: response.created"), std::string::npos);
  EXPECT_NE(failed.body.find("event: codex.rate_limits"), std::string::npos);
  EXPECT_NE(failed.body.find(R"("code":"server_is_overloaded")"), std::string::npos) << failed.body;
  EXPECT_LT(failed.body.find("response.in_progress"), failed.body.find("response.failed"));

  auto error = c.model(acceptedBody("gpt-5.4"), {{"x-fake-scenario", "error-event:rate_limit_exceeded:429"}});
  EXPECT_NE(error.body.find(R"("type":"error","sequence_number":2,"code":"rate_limit_exceeded")"), std::string::npos)
      << error.body;
  EXPECT_NE(error.body.find(R"("status":429)"), std::string::npos);

  auto late = c.model(acceptedBody("gpt-5.4"), {{"x-fake-scenario", "fail-after-output:server_error"}});
  EXPECT_LT(late.body.find("response.output_text.delta"), late.body.find("response.failed"));

  // first:1 fails once, then plays the transcript.
  const std::string marker = acceptedBody("gpt-5.4", R"(,"x":"[[scenario:fail:at_capacity+first:1]]")");
  EXPECT_NE(c.model(marker).body.find("Selected model is at capacity"), std::string::npos);
  auto second = c.model(marker);
  EXPECT_NE(second.body.find("response.completed"), std::string::npos);
  EXPECT_EQ(second.body.find("response.failed"), std::string::npos);
  // The existing fixtures still replay.
  EXPECT_NE(c.model(acceptedBody("gpt-5.4"), {{"x-fake-scenario", "failed"}}).body.find("response.failed"),
            std::string::npos);
  EXPECT_NE(c.model(acceptedBody("gpt-5.4"), {{"x-fake-scenario", "error_event"}}).body.find("event: error"),
            std::string::npos);
}

TEST(FakeBackendRealism, ResponseHeadersAndCookies) {
  auto backend = makeBackend();
  Client c(backend->origin());
  auto a = c.model(acceptedBody("gpt-5.4", R"(,"include":["reasoning.encrypted_content"])"));
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.header("openai-model"), "gpt-5.4");
  EXPECT_EQ(a.header("x-reasoning-included"), "true");
  EXPECT_EQ(a.header("x-models-etag"), backend->catalogEtag());
  EXPECT_EQ(a.header("x-codex-primary-used-percent"), "7");
  EXPECT_EQ(a.header("x-request-id").size(), 36u);
  EXPECT_EQ(a.header("x-request-id"), backend->request(0)->response_request_id);
  const auto cookies = a.all("Set-Cookie");
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[0].rfind("__cf_bm=", 0), 0u);
  EXPECT_NE(cookies[0].find("; path=/; expires="), std::string::npos);
  EXPECT_NE(cookies[0].find("; domain=.chatgpt.com; HttpOnly; Secure; SameSite=None"), std::string::npos);
  EXPECT_EQ(cookies[1].rfind("_puid=", 0), 0u);
  EXPECT_EQ(backend->request(0)->set_cookies, cookies);

  auto plain = c.model(acceptedBody("gpt-5.4"), {{"Cookie", "__cf_bm=abc"}});
  EXPECT_EQ(plain.header("x-reasoning-included"), "");
  EXPECT_EQ(backend->request(1)->header("Cookie"), "__cf_bm=abc");
  // Refusals carry the request id and the cookies too.
  auto refused = c.model("{}");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.all("Set-Cookie").size(), 2u);
  EXPECT_FALSE(refused.header("x-request-id").empty());

  backend->setRules([] {
    BackendRules r;
    r.cookies = false;
    return r;
  }());
  EXPECT_TRUE(c.model(acceptedBody("gpt-5.4")).all("Set-Cookie").empty());
}

TEST(FakeBackendRealism, SessionIdMakesTheSecondCallCached) {
  auto backend = makeBackend();
  Client c(backend->origin());
  auto first = c.model(acceptedBody("gpt-5.4"), {{"session-id", "s-1"}});
  EXPECT_NE(first.body.find(R"("cached_tokens":0})"), std::string::npos) << first.body;
  auto second = c.model(acceptedBody("gpt-5.4"), {{"session-id", "s-1"}});
  EXPECT_NE(second.body.find(R"("input_tokens":25,"input_tokens_details":{"cached_tokens":25})"), std::string::npos)
      << second.body;
  auto other = c.model(acceptedBody("gpt-5.4"), {{"session-id", "s-2"}});
  EXPECT_NE(other.body.find(R"("cached_tokens":0})"), std::string::npos);
  // Without the header the transcript's usage is left as written (8 cached in text.sse).
  auto none = c.model(acceptedBody("gpt-5.4"), {{"session_id", "s-1"}});
  EXPECT_NE(none.body.find(R"("cached_tokens":8})"), std::string::npos);
}

TEST(FakeBackendRealism, CatalogEndpoint) {
  auto backend = makeBackend();
  Client c(backend->origin());
  EXPECT_EQ(c.send("GET", "/backend-api/codex/models?client_version=0.169.0").status, 401);
  auto a = c.send("GET", "/backend-api/codex/models?client_version=0.169.0", {},
                  {{"Authorization", "Bearer tok"}, {"version", "0.169.0"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("Content-Type"), "application/json");
  EXPECT_EQ(a.header("ETag"), backend->catalogEtag());
  EXPECT_EQ(a.body, readFile(FakeBackendOptions::defaultCatalogFile()));
  for (const char* slug : {"\"gpt-5.6-sol\"", "\"gpt-5.6-terra\"", "\"gpt-5.6-luna\"", "\"gpt-5.5\"", "\"gpt-5.4\"",
                           "\"gpt-5.4-mini\"", "\"ultra\"", "\"hide\"", "\"instructions_template\""}) {
    EXPECT_NE(a.body.find(slug), std::string::npos) << slug;
  }
  EXPECT_EQ(a.body.find("gpt-5.5-pro"), std::string::npos);
  EXPECT_EQ(a.all("Set-Cookie").size(), 2u);

  auto cached = c.send("GET", "/backend-api/codex/models?client_version=0.169.0", {},
                       {{"Authorization", "Bearer tok"}, {"If-None-Match", backend->catalogEtag()}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_EQ(cached.body, "");

  backend->rejectToken("expired");
  EXPECT_EQ(c.send("GET", "/backend-api/codex/models", {}, {{"Authorization", "Bearer expired"}}).status, 401);
  backend->failCatalog(503);
  EXPECT_EQ(c.send("GET", "/backend-api/codex/models", {}, {{"Authorization", "Bearer tok"}}).status, 503);
  backend->failCatalog(0);
  backend->setCatalog(R"({"models":[{"slug":"gpt-9"}]})");
  auto replaced = c.send("GET", "/backend-api/codex/models", {}, {{"Authorization", "Bearer tok"}});
  EXPECT_EQ(replaced.body, R"({"models":[{"slug":"gpt-9"}]})");
  EXPECT_EQ(replaced.header("ETag"), etagOf(replaced.body));
  // The model check follows the catalog.
  EXPECT_EQ(c.model(acceptedBody("gpt-5.4")).status, 400);
  EXPECT_EQ(c.model(acceptedBody("gpt-9")).status, 200);

  // Catalog calls are recorded apart from model calls.
  ASSERT_EQ(backend->catalogRequestCount(), 6u);
  EXPECT_EQ(backend->requestCount(), 2u);
  const auto first = backend->catalogRequests()[1];
  EXPECT_EQ(first.uri, "/backend-api/codex/models?client_version=0.169.0");
  EXPECT_EQ(first.header("version"), "0.169.0");
  EXPECT_EQ(first.scenario, "catalog:200");

  backend->setRules([] {
    BackendRules r;
    r.catalog = false;
    return r;
  }());
  EXPECT_EQ(c.send("GET", "/backend-api/codex/models", {}, {{"Authorization", "Bearer tok"}}).status, 404);
}

// Remote compaction v2 (fake_backend_compaction.h): the trigger is answered with one compaction
// item that carries the conversation's marker, whatever scenario that marker names; with the rule
// off the marker's scenario is served as before.
TEST(FakeBackendRealism, CompactionTriggerGetsOneCompactionItem) {
  auto backend = makeBackend();
  Client c(backend->origin());
  const std::string body =
      R"({"model":"gpt-5.4","instructions":"","store":false,"stream":true,"input":[)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"hi [[scenario:tool_call]]"}]},)"
      R"({"type":"compaction_trigger"}]})";
  auto compacted = c.model(body);
  EXPECT_EQ(compacted.status, 200);
  EXPECT_EQ(backend->request(0)->scenario, kCompactionScenario);
  const std::string item =
      R"({"id":"cmp_fake_0","type":"compaction","encrypted_content":"gAAAAABfake-compaction-0 [[scenario:tool_call]]"})";
  EXPECT_NE(
      compacted.body.find(R"("type":"response.output_item.done","sequence_number":3,"output_index":0,"item":)" + item),
      std::string::npos)
      << compacted.body;
  EXPECT_EQ(compacted.body.find("function_call"), std::string::npos);
  EXPECT_NE(compacted.body.find("event: response.completed"), std::string::npos);

  BackendRules off;
  off.remote_compaction = false;
  backend->setRules(off);
  auto replayed = c.model(body);
  EXPECT_EQ(replayed.status, 200);
  EXPECT_EQ(backend->request(1)->scenario, "tool_call");
  EXPECT_EQ(replayed.body.find(R"("type":"compaction")"), std::string::npos);
}

TEST(FakeBackendRealism, NoRulesIsTheOldFake) {
  auto backend = makeBackend(BackendRules::none());
  Client c(backend->origin());
  auto a = c.model("{}");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.all("Set-Cookie").empty());
  EXPECT_EQ(a.header("x-models-etag"), "");
  EXPECT_EQ(c.model(R"({"model":"gpt-5.5","input":[{"role":"system","content":"x"}],"temperature":1})").status, 200);
}

// The standalone program: flags and control endpoints.
class FakeProcess : public PipedProcess {
 public:
  explicit FakeProcess(std::vector<std::string> args) : PipedProcess(COSP_FAKE_CODEX_BACKEND_BIN, std::move(args)) {}
};

TEST(FakeBackendRealismProgram, FlagsAndControlEndpoints) {
  FakeProcess proc({"--port", "0", "--fixtures", fixturePath("responses"), "--no-version-gate", "--min-codex-version",
                    "0.1.0", "--no-cookies"});
  const int port = proc.waitListening(10s);
  ASSERT_GT(port, 0);
  Client c("http://127.0.0.1:" + std::to_string(port));
  auto a = c.model(acceptedBody("gpt-5.5"));
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.all("Set-Cookie").empty());

  EXPECT_EQ(c.send("POST", "/__fake/options", R"({"version_gate":true,"min_codex_version":"0.150.0"})").status, 200);
  EXPECT_EQ(c.model(acceptedBody("gpt-5.5")).status, 400);
  EXPECT_EQ(c.send("POST", "/__fake/options", R"({"nonsense":1})").status, 400);
  EXPECT_EQ(c.send("POST", "/__fake/options", R"({"all":false})").status, 200);
  EXPECT_EQ(c.model("{}").status, 200);
  EXPECT_EQ(c.send("POST", "/__fake/options", R"({"all":true})").status, 200);

  EXPECT_EQ(c.send("POST", "/__fake/catalog-status", "502").status, 200);
  EXPECT_EQ(c.send("GET", "/backend-api/codex/models", {}, {{"Authorization", "Bearer t"}}).status, 502);
  EXPECT_EQ(c.send("POST", "/__fake/catalog-status", "0").status, 200);
  EXPECT_EQ(c.send("POST", "/__fake/catalog", "not a catalog").status, 400);
  auto set = c.send("POST", "/__fake/catalog", R"({"models":[{"slug":"gpt-5.4"}]})");
  EXPECT_EQ(set.status, 200);
  EXPECT_NE(set.body.find(etagOf(R"({"models":[{"slug":"gpt-5.4"}]})").substr(1, 16)), std::string::npos) << set.body;
  auto got = c.send("GET", "/backend-api/codex/models?client_version=0.169.0", {}, {{"Authorization", "Bearer t"}});
  EXPECT_EQ(got.body, R"({"models":[{"slug":"gpt-5.4"}]})");
  auto recorded = c.send("GET", "/__fake/catalog-requests");
  EXPECT_NE(recorded.body.find(R"("uri":"/backend-api/codex/models?client_version=0.169.0")"), std::string::npos)
      << recorded.body;
  auto requests = c.send("GET", "/__fake/requests");
  EXPECT_NE(requests.body.find(R"("rejected_by":"version_gate")"), std::string::npos) << requests.body;
  proc.closeStdin();
  EXPECT_EQ(proc.waitExit(5s), 0);
}

TEST(FakeBackendRealismProgram, LenientTurnsEveryRuleOff) {
  FakeProcess proc({"--port", "0", "--fixtures", fixturePath("responses"), "--lenient"});
  const int port = proc.waitListening(10s);
  ASSERT_GT(port, 0);
  Client c("http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(c.model("{}").status, 200);
  EXPECT_EQ(c.send("GET", "/backend-api/codex/models", {}, {{"Authorization", "Bearer t"}}).status, 404);
  proc.closeStdin();
  EXPECT_EQ(proc.waitExit(5s), 0);
}

}  // namespace
}  // namespace cosp::test
