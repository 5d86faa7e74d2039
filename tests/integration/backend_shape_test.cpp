// The proxy against the backend as it behaves now (the fake's defaults, fake_codex_backend.h):
// the Codex client fingerprint and the version gate, system messages, failures reported inside a
// 200 stream, session affinity, the fields the backend rejects, the headers and cookies it sends,
// the model catalog, and the original project's drop-in settings (waiting for a refresh is
// credentials_wait_test.cpp's). Each test asserts what the client got AND what the backend
// received. The calls that are not about the fingerprint use gpt-5.4, which the backend does not
// gate, so each test shows one behaviour.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/support/fakes/fake_codex_backend.h"
#include "tests/support/harness/call_bodies.h"
#include "tests/support/harness/fake_stack.h"
#include "tests/support/harness/http_client.h"
#include "tests/support/harness/json_fields.h"
#include "tests/support/harness/proxy_process.h"

using namespace cosp::test;
using namespace std::chrono_literals;
using cosp::common::JsonValue;

namespace {

const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/json"}};

HttpResult post(int port, const std::string& path, const std::string& body,
                std::vector<std::pair<std::string, std::string>> headers = kJson, int timeout_ms = 20000) {
  return httpRequest(port, "POST", path, headers, body, timeout_ms);
}

std::string header(const RecordedRequest& r, const std::string& name) { return r.header(name).value_or(""); }

RecordedRequest lastRequest(const FakeCodexBackend& backend) {
  const auto all = backend.requests();
  EXPECT_FALSE(all.empty());
  return all.empty() ? RecordedRequest{} : all.back();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The `data:` payloads of an SSE body.
std::vector<std::string> dataLines(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const auto end = body.find('\n', pos);
    out.push_back(body.substr(pos + 6, end == std::string::npos ? std::string::npos : end - pos - 6));
    pos = end == std::string::npos ? body.size() : end;
  }
  return out;
}

std::set<std::string> modelIds(const std::string& list_json) {
  std::set<std::string> ids;
  const JsonValue list = parsed(list_json);
  if (const auto* data = cosp::common::jsonArray(list, "data")) {
    for (const auto& m : *data) ids.insert(str(m, {"id"}));
  }
  return ids;
}

const std::regex kCodexUserAgent(
    R"(codex_cli_rs/([0-9]+\.[0-9]+\.[0-9]+[^ ]*) \([^;()]+ [^;()]+; [^;()]+\) codex-sub-proxy/[0-9]+\.[0-9]+\.[0-9]+.*)");

}  // namespace

// ---------------------------------------------------------------------------
// Fingerprint and version gate

TEST(BackendShape, DefaultFingerprintPassesTheVersionGate) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  auto r = post(proxy->port(), "/v1/chat/completions", chatBody("hi"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(seen.rejected_by, "");
  EXPECT_EQ(header(seen, "originator"), "codex_cli_rs");
  const std::string version = header(seen, "version");
  ASSERT_FALSE(version.empty());
  EXPECT_GE(compareVersions(version, "0.150.0"), 0) << version;
  std::smatch m;
  const std::string ua = header(seen, "User-Agent");
  ASSERT_TRUE(std::regex_match(ua, m, kCodexUserAgent)) << ua;
  EXPECT_EQ(m[1].str(), version) << "the User-Agent and the version header name one release";

  // The newest catalog model is accepted too.
  auto newest = post(proxy->port(), "/v1/responses", responsesBody("hi", false, {}, "gpt-5.6-sol"));
  EXPECT_EQ(newest.status, 200) << newest.body;
  EXPECT_EQ(lastRequest(*backend).rejected_by, "");
}

TEST(BackendShape, ConfiguredCodexVersionIsPresented) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend, {{"CODEX_CLIENT_VERSION", "0.169.0"}});
  auto r = post(proxy->port(), "/v1/chat/completions", chatBody("hi", true));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(header(seen, "originator"), "codex_cli_rs");
  EXPECT_EQ(header(seen, "version"), "0.169.0");
  std::smatch m;
  const std::string ua = header(seen, "User-Agent");
  ASSERT_TRUE(std::regex_match(ua, m, kCodexUserAgent)) << ua;
  EXPECT_EQ(m[1].str(), "0.169.0");
}

TEST(BackendShape, TooOldCodexVersionGetsTheBackendsMessage) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend, {{"CODEX_CLIENT_VERSION", "0.100.0"}});
  auto r = post(proxy->port(), "/v1/chat/completions", chatBody("hi"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(str(parsed(r.body), {"error", "message"}),
            "The 'gpt-5.5' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try "
            "again.");
  EXPECT_EQ(lastRequest(*backend).rejected_by, "version_gate");
  EXPECT_EQ(header(lastRequest(*backend), "version"), "0.100.0");
}

TEST(BackendShape, CodexCallerKeepsItsOwnFingerprint) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend, {{"CODEX_CLIENT_VERSION", "0.100.0"}});
  const std::string ua = "codex_exec/0.170.0 (Mac OS 15.1.0; arm64) iTerm.app/3.5 (codex_exec; 0.170.0)";
  auto r = post(
      proxy->port(), "/v1/responses", responsesBody("hi", true),
      {{"Content-Type", "application/json"}, {"User-Agent", ua}, {"originator", "codex_exec"}, {"version", "0.170.0"}});
  EXPECT_EQ(r.status, 200) << r.body;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(header(seen, "User-Agent"), ua);
  EXPECT_EQ(header(seen, "originator"), "codex_exec");
  EXPECT_EQ(header(seen, "version"), "0.170.0");
}

// ---------------------------------------------------------------------------
// System messages

TEST(BackendShape, SystemRoleArrivesAsDeveloper) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  const std::string body = R"({"model":"gpt-5.4","input":[{"role":"system","content":"Be brief."},)"
                           R"({"type":"message","role":"system","content":[{"type":"input_text","text":"No emoji."}]},)"
                           R"({"role":"user","content":"hi"}]})";
  auto r = post(proxy->port(), "/v1/responses", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(seen.rejected_by, "");
  const JsonValue sent = parsed(seen.body);
  const auto* input = cosp::common::jsonArray(sent, "input");
  ASSERT_TRUE(input);
  ASSERT_EQ(input->size(), 3u);
  EXPECT_EQ(str((*input)[0], {"role"}), "developer");
  EXPECT_EQ(str((*input)[1], {"role"}), "developer");
  EXPECT_EQ(str((*input)[2], {"role"}), "user");

  // Chat still folds system messages into instructions.
  auto chat = post(proxy->port(), "/v1/chat/completions",
                   R"({"model":"gpt-5.4","messages":[{"role":"system","content":"Be brief."},)"
                   R"({"role":"user","content":"hi"}]})");
  ASSERT_EQ(chat.status, 200) << chat.body;
  const JsonValue chat_sent = parsed(lastRequest(*backend).body);
  EXPECT_EQ(str(chat_sent, {"instructions"}), "Be brief.");
  const auto* chat_input = cosp::common::jsonArray(chat_sent, "input");
  ASSERT_TRUE(chat_input && !chat_input->empty()) << lastRequest(*backend).body;  // else the loop checks nothing
  for (const auto& item : *chat_input) {
    EXPECT_NE(str(item, {"role"}), "system");
    EXPECT_NE(str(item, {"role"}), "developer");
  }
}

// ---------------------------------------------------------------------------
// Failures inside a 200 stream, before the first output event: an error before the first byte.

namespace {

struct InStreamCase {
  const char* scenario;
  int status;
  const char* code;  // error.code the client gets ("" = not checked)
  bool retried;      // the backend sees 2 or 3 attempts, else exactly 1
  bool retry_after;
};

std::ostream& operator<<(std::ostream& os, const InStreamCase& c) { return os << c.scenario; }

class InStreamFailure : public ::testing::TestWithParam<InStreamCase> {};

}  // namespace

TEST_P(InStreamFailure, IsAnsweredBeforeTheFirstByteWithItsMappedStatus) {
  const InStreamCase& c = GetParam();
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  for (const CallForm& form : kCallForms) {
    SCOPED_TRACE(form.name);
    const std::size_t before = backend->requestCount();
    auto r = post(proxy->port(), form.path, form.body(std::string("hi [[scenario:") + c.scenario + "]]", "gpt-5.4"));
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_TRUE(contains(r.header("content-type"), "application/json")) << r.header("content-type");
    EXPECT_FALSE(contains(r.body, "data:")) << "an SSE body went out: " << r.body;
    const JsonValue error = parsed(r.body);
    EXPECT_FALSE(str(error, {"error", "message"}).empty()) << r.body;
    if (*c.code) {
      EXPECT_EQ(str(error, {"error", "code"}), c.code) << r.body;
    }
    if (c.status == 400) {  // a refusal keeps the backend's words
      const std::string code = std::string(c.scenario).substr(std::string(c.scenario).find(':') + 1);
      EXPECT_EQ(str(error, {"error", "message"}), failureBody(code).message);
    }
    if (c.retry_after) {
      EXPECT_FALSE(r.header("retry-after").empty());
    }
    const std::size_t attempts = backend->requestCount() - before;
    if (c.retried) {
      EXPECT_GE(attempts, 2u);
      EXPECT_LE(attempts, 3u);
    } else {
      EXPECT_EQ(attempts, 1u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    BackendShape, InStreamFailure,
    ::testing::Values(InStreamCase{"fail:server_is_overloaded", 503, "", true, true},
                      InStreamCase{"error-event:server_is_overloaded", 503, "", true, true},
                      InStreamCase{"fail:at_capacity", 503, "", true, true},
                      InStreamCase{"fail:at_capacity_no_code", 503, "", true, true},
                      InStreamCase{"fail:context_length_exceeded", 400, "context_length_exceeded", false, false},
                      InStreamCase{"error-event:context_length_exceeded", 400, "context_length_exceeded", false, false},
                      InStreamCase{"fail:rate_limit_exceeded", 429, "", false, false},
                      InStreamCase{"fail:usage_not_included", 403, "", false, false},
                      InStreamCase{"fail:cyber_policy", 400, "", false, false},
                      // A status in the event wins over the code's own mapping.
                      InStreamCase{"error-event:server_error:429", 429, "", false, false}));

TEST(BackendShape, InStreamUsageLimitIs429WithRetryAfterAndTypeAndCode) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  for (const CallForm& form : kCallForms) {
    SCOPED_TRACE(form.name);
    const std::size_t before = backend->requestCount();
    auto r = post(proxy->port(), form.path, form.body("hi [[scenario:fail:usage_limit_reached]]", "gpt-5.4"));
    EXPECT_EQ(r.status, 429) << r.body;
    const JsonValue error = parsed(r.body);
    EXPECT_EQ(str(error, {"error", "type"}), "usage_limit_reached");
    EXPECT_EQ(str(error, {"error", "code"}), "usage_limit_reached");
    // resets_in_seconds is 3600 (fake_backend_failures.h); a second or two may have passed.
    const long retry_after = std::strtol(r.header("retry-after").c_str(), nullptr, 10);
    EXPECT_GE(retry_after, kFakeResetsInSeconds - 5) << r.header("retry-after");
    EXPECT_LE(retry_after, kFakeResetsInSeconds);
    EXPECT_EQ(backend->requestCount() - before, 1u);
  }
}

TEST(BackendShape, RetriedInStreamFailureThenSucceeds) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  auto r = post(proxy->port(), "/v1/chat/completions",
                chatBody("hi [[scenario:fail:server_is_overloaded+first:1]]", true, {}, "gpt-5.4"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.body, "data: [DONE]")) << r.body;
  EXPECT_FALSE(contains(r.body, "\"error\"")) << r.body;
  EXPECT_EQ(backend->requestCount(), 2u);
}

TEST(BackendShape, FailureAfterOutputGoesOutInStream) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  auto chat = post(proxy->port(), "/v1/chat/completions",
                   chatBody("hi [[scenario:fail-after-output:server_is_overloaded]]", true, {}, "gpt-5.4"));
  EXPECT_EQ(chat.status, 200) << chat.body;
  const auto lines = dataLines(chat.body);
  ASSERT_FALSE(lines.empty()) << chat.body;
  int errors = 0;
  for (const auto& l : lines) errors += contains(l, "{\"error\":") ? 1 : 0;
  EXPECT_EQ(errors, 1) << chat.body;
  EXPECT_TRUE(contains(lines.back(), "{\"error\":")) << chat.body;
  EXPECT_TRUE(contains(chat.body, "Partial answer"));
  EXPECT_FALSE(contains(chat.body, "[DONE]"));
  EXPECT_EQ(backend->requestCount(), 1u) << "nothing is retried after the first byte";

  auto relay = post(proxy->port(), "/v1/responses",
                    responsesBody("hi [[scenario:fail-after-output:server_is_overloaded]]", true, {}, "gpt-5.4"));
  EXPECT_EQ(relay.status, 200) << relay.body;
  EXPECT_TRUE(contains(relay.body, "event: response.output_text.delta"));
  EXPECT_TRUE(contains(relay.body, "event: response.failed")) << relay.body;
  EXPECT_TRUE(contains(relay.body, "\"code\":\"server_is_overloaded\""));
  EXPECT_EQ(backend->requestCount(), 2u);
}

// ---------------------------------------------------------------------------
// Session affinity

TEST(BackendShape, SessionIdFromTheClientsHeaders) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  for (const std::string name : {"session-id", "session_id", "x-session-id"}) {
    SCOPED_TRACE(name);
    const std::string id = "sess-" + name;
    auto r = post(proxy->port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.4"),
                  {{"Content-Type", "application/json"}, {name, id}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto seen = lastRequest(*backend);
    EXPECT_EQ(header(seen, "session-id"), id);
    EXPECT_EQ(header(seen, "session_id"), id);
    EXPECT_EQ(str(parsed(seen.body), {"prompt_cache_key"}), id);
  }
  // The client's own prompt_cache_key stays; its session header still names the session.
  auto both =
      post(proxy->port(), "/v1/responses", responsesBody("hi", false, R"(,"prompt_cache_key":"b-1")", "gpt-5.4"),
           {{"Content-Type", "application/json"}, {"session-id", "h-1"}});
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_EQ(header(lastRequest(*backend), "session-id"), "h-1");
  EXPECT_EQ(str(parsed(lastRequest(*backend).body), {"prompt_cache_key"}), "b-1");
}

TEST(BackendShape, SessionIdFromThePromptCacheKey) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  auto r = post(proxy->port(), "/v1/responses", responsesBody("hi", true, R"(,"prompt_cache_key":"pck-7")", "gpt-5.4"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(header(seen, "session-id"), "pck-7");
  EXPECT_EQ(header(seen, "session_id"), "pck-7");
  EXPECT_EQ(str(parsed(seen.body), {"prompt_cache_key"}), "pck-7");
}

TEST(BackendShape, SessionIdIsStableAcrossAConversationAndCachesItsPrompt) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  const std::string first =
      R"({"model":"gpt-5.4","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Plan a trip."}]})";
  const std::string second =
      R"({"model":"gpt-5.4","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Plan a trip."},)"
      R"({"role":"assistant","content":"Where to?"},{"role":"user","content":"Lisbon."}]})";
  auto a = post(proxy->port(), "/v1/chat/completions", first);
  ASSERT_EQ(a.status, 200) << a.body;
  const auto seen_a = lastRequest(*backend);
  auto b = post(proxy->port(), "/v1/chat/completions", second);
  ASSERT_EQ(b.status, 200) << b.body;
  const auto seen_b = lastRequest(*backend);
  const std::string id = header(seen_a, "session-id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(header(seen_b, "session-id"), id);
  EXPECT_EQ(header(seen_a, "session_id"), id);
  EXPECT_EQ(str(parsed(seen_a.body), {"prompt_cache_key"}), id);
  EXPECT_EQ(str(parsed(seen_b.body), {"prompt_cache_key"}), id);
  // The backend's cache follows the session: the second turn reports cached tokens.
  const JsonValue answer_b = parsed(b.body);
  const auto* usage_b = cosp::common::jsonObjectValue(answer_b, "usage");
  ASSERT_TRUE(usage_b) << b.body;
  const auto* details = cosp::common::jsonObjectValue(*usage_b, "prompt_tokens_details");
  ASSERT_TRUE(details) << b.body;
  EXPECT_GT(cosp::common::jsonInt(*details, "cached_tokens").value_or(0), 0) << b.body;

  // Another conversation is another session.
  auto other = post(proxy->port(), "/v1/chat/completions", chatBody("Something else.", false, {}, "gpt-5.4"));
  ASSERT_EQ(other.status, 200);
  EXPECT_NE(header(lastRequest(*backend), "session-id"), id);
}

// ---------------------------------------------------------------------------
// Fields the backend rejects, and rewritten tools

TEST(BackendShape, RejectedFieldsAreRemovedAndNamed) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  const std::string body = R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":[)"
                           R"({"type":"input_text","text":"hi","prompt_cache_breakpoint":{"type":"ephemeral"}}]}],)"
                           R"("context_management":[{"type":"compaction","compact_threshold":200000}],)"
                           R"("prompt_cache_options":{"retention":"24h"},"tools":[{"type":"web_search_preview"}]})";
  auto r = post(proxy->port(), "/v1/responses", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string dropped = r.header("x-codex-sub-proxy-dropped");
  EXPECT_TRUE(contains(dropped, "context_management")) << dropped;
  EXPECT_TRUE(contains(dropped, "prompt_cache_options")) << dropped;
  EXPECT_TRUE(contains(dropped, "prompt_cache_breakpoint")) << dropped;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(seen.rejected_by, "");
  EXPECT_FALSE(contains(seen.body, "context_management"));
  EXPECT_FALSE(contains(seen.body, "prompt_cache_options"));
  EXPECT_FALSE(contains(seen.body, "prompt_cache_breakpoint"));
  const JsonValue sent = parsed(seen.body);
  const auto* tools = cosp::common::jsonArray(sent, "tools");
  ASSERT_TRUE(tools && tools->size() == 1) << seen.body;
  EXPECT_EQ(str((*tools)[0], {"type"}), "web_search");
}

// ---------------------------------------------------------------------------
// Response headers and cookies

TEST(BackendShape, BackendHeadersAreForwardedAndCookiesKeptUpstream) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  const std::string body = responsesBody(
      "hi", false, R"(,"reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"])", "gpt-5.4");
  auto r = post(proxy->port(), "/v1/responses", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto first = lastRequest(*backend);
  EXPECT_EQ(r.header("x-reasoning-included"), "true");
  EXPECT_EQ(r.header("openai-model"), "gpt-5.4");
  EXPECT_EQ(r.header("x-models-etag"), backend->catalogEtag());
  EXPECT_EQ(r.header("x-upstream-request-id"), first.response_request_id);
  EXPECT_NE(r.header("x-request-id"), first.response_request_id) << "the proxy's own request id stays its own";
  EXPECT_EQ(r.headers.count("set-cookie"), 0u) << "a backend cookie reached the client";

  ASSERT_EQ(first.set_cookies.size(), 2u);
  const std::string cf_bm = first.set_cookies[0].substr(0, first.set_cookies[0].find(';'));  // __cf_bm=<value>
  ASSERT_EQ(cf_bm.rfind("__cf_bm=", 0), 0u);
  auto again = post(proxy->port(), "/v1/chat/completions", chatBody("again", true, {}, "gpt-5.4"));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.headers.count("set-cookie"), 0u);
  const std::string cookie = header(lastRequest(*backend), "Cookie");
  EXPECT_TRUE(contains(cookie, cf_bm)) << cookie;
  EXPECT_FALSE(contains(cookie, "_puid")) << cookie;
}

TEST(BackendShape, ClientHeadersForwardedAndWithheld) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend, {{"PROXY_API_KEY", "caller-key"}});
  auto r = post(proxy->port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.4"),
                {{"Content-Type", "application/json"},
                 {"x-api-key", "caller-key"},
                 {"thread-id", "thread-42"},
                 {"x-openai-subagent", "review"},
                 {"x-client-request-id", "creq-7"},
                 {"Cookie", "client=secret; __cf_bm=client-made"},
                 {"ChatGPT-Account-ID", "acct-of-the-caller"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto seen = lastRequest(*backend);
  EXPECT_EQ(header(seen, "thread-id"), "thread-42");
  EXPECT_EQ(header(seen, "x-openai-subagent"), "review");
  EXPECT_EQ(header(seen, "x-client-request-id"), "creq-7");
  EXPECT_FALSE(contains(header(seen, "Cookie"), "client")) << header(seen, "Cookie");
  EXPECT_FALSE(seen.header("x-api-key").has_value());
  EXPECT_EQ(header(seen, "ChatGPT-Account-ID"), "acct-123");
  EXPECT_EQ(header(seen, "Authorization"), "Bearer upstream-access-token");
}

// ---------------------------------------------------------------------------
// Model catalog

namespace {

const std::set<std::string> kVisibleSlugs = {"gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna",
                                             "gpt-5.5",     "gpt-5.4",       "gpt-5.4-mini"};

// Until the proxy serves the backend's catalog (fetched by the supervisor after start).
bool waitForCatalog(const ProxyProcess& proxy) {
  return eventually(
      [&] {
        auto r = httpRequest(proxy.port(), "GET", "/v1/models");
        return r.status == 200 && modelIds(r.body).count("gpt-5.6-sol") > 0;
      },
      10s);
}

}  // namespace

TEST(BackendShape, ModelsComeFromTheBackendCatalog) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend, {{"CODEX_CLIENT_VERSION", "0.169.0"}});
  ASSERT_TRUE(waitForCatalog(*proxy)) << httpRequest(proxy->port(), "GET", "/v1/models").body;
  auto list = httpRequest(proxy->port(), "GET", "/v1/models");
  EXPECT_EQ(modelIds(list.body), kVisibleSlugs) << list.body;  // neither gpt-5.5-pro nor the hidden one
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/v1/models/gpt-5.6-sol-max").status, 200);
  EXPECT_EQ(httpRequest(proxy->port(), "GET", "/v1/models/gpt-5.5-pro").status, 404);

  // The supervisor asked with the fingerprint and the client version.
  ASSERT_GE(backend->catalogRequestCount(), 1u);
  const auto fetch = backend->catalogRequests().front();
  EXPECT_EQ(fetch.uri, "/backend-api/codex/models?client_version=0.169.0");
  EXPECT_EQ(header(fetch, "Authorization"), "Bearer upstream-access-token");
  EXPECT_EQ(header(fetch, "ChatGPT-Account-ID"), "acct-123");
  EXPECT_EQ(header(fetch, "originator"), "codex_cli_rs");
  EXPECT_EQ(header(fetch, "version"), "0.169.0");
  std::smatch m;
  const std::string ua = header(fetch, "User-Agent");
  EXPECT_TRUE(std::regex_match(ua, m, kCodexUserAgent)) << ua;
}

TEST(BackendShape, EffortsComeFromTheCatalog) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend);
  ASSERT_TRUE(waitForCatalog(*proxy));
  auto ultra = post(proxy->port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.6-sol-ultra"));
  ASSERT_EQ(ultra.status, 200) << ultra.body;
  JsonValue sent = parsed(lastRequest(*backend).body);
  EXPECT_EQ(str(sent, {"model"}), "gpt-5.6-sol");
  EXPECT_EQ(str(sent, {"reasoning", "effort"}), "ultra");

  auto minimal = post(proxy->port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.4-minimal"));
  ASSERT_EQ(minimal.status, 200) << minimal.body;
  EXPECT_TRUE(contains(minimal.header("x-codex-sub-proxy-dropped"), "reasoning.effort"))
      << minimal.header("x-codex-sub-proxy-dropped");
  sent = parsed(lastRequest(*backend).body);
  EXPECT_EQ(str(sent, {"model"}), "gpt-5.4");
  EXPECT_EQ(str(sent, {"reasoning", "effort"}), "low");

  // The same through reasoning.effort on /v1/responses: max on gpt-5.4 goes down to xhigh.
  auto max =
      post(proxy->port(), "/v1/responses", responsesBody("hi", false, R"(,"reasoning":{"effort":"max"})", "gpt-5.4"));
  ASSERT_EQ(max.status, 200) << max.body;
  EXPECT_EQ(str(parsed(lastRequest(*backend).body), {"reasoning", "effort"}), "xhigh");
}

TEST(BackendShape, StrictRefusesAnEffortTheModelLacks) {
  auto backend = makeFixtureBackend();
  auto proxy = startReadyProxy(*backend, {{"STRICT_PARAMS", "1"}});
  ASSERT_TRUE(waitForCatalog(*proxy));
  auto r = post(proxy->port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.4-minimal"));
  EXPECT_EQ(r.status, 400) << r.body;
  const std::string message = str(parsed(r.body), {"error", "message"});
  EXPECT_TRUE(contains(message, "low") && contains(message, "xhigh")) << "names the supported efforts: " << message;
  EXPECT_EQ(backend->requestCount(), 0u);
}

TEST(BackendShape, BuiltInModelListWhenTheCatalogFetchFails) {
  auto backend = makeFixtureBackend();
  backend->failCatalog(503);
  auto proxy = startReadyProxy(*backend);
  ASSERT_TRUE(backend->waitForCatalogRequests(1, 10s)) << "the supervisor never asked for the catalog";
  auto list = httpRequest(proxy->port(), "GET", "/v1/models");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto ids = modelIds(list.body);
  EXPECT_EQ(ids.count("gpt-5.5"), 1u) << list.body;
  EXPECT_EQ(ids.count("gpt-5.4"), 1u) << list.body;
  EXPECT_EQ(ids.count("gpt-5.5-pro"), 0u) << "the built-in list follows the current catalog";
  auto call = post(proxy->port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.4"));
  EXPECT_EQ(call.status, 200) << call.body;
}

// ---------------------------------------------------------------------------
// Drop-in settings of the original project

TEST(BackendShape, OriginalProjectsBaseUrlAndPathStyleServes) {
  auto backend = makeFixtureBackend();
  ProxyProcess proxy(
      proxyEnv(*backend, {{"CODEX_BASE_URL", backend->baseUrl() + "/"}, {"CODEX_RESPONSES_PATH", "responses"}}));
  proxy.start();
  ASSERT_TRUE(proxy.waitReady()) << proxy.stderrText();
  auto r = post(proxy.port(), "/v1/chat/completions", chatBody("hi", false, {}, "gpt-5.4"));
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(backend->requestCount(), 1u);
  EXPECT_EQ(backend->request(0)->path, "/backend-api/codex/responses");
}
