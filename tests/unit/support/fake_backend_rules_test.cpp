// The pure parts of the fake backend's realism: the rules the real backend enforces, the
// in-stream failure transcripts, and the wire helpers (ETag, cookies, cached-token rewrite).
#include "tests/support/fakes/fake_backend_rules.h"

#include <gtest/gtest.h>

#include <set>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/support/fakes/fake_backend_compaction.h"
#include "tests/support/fakes/fake_backend_failures.h"
#include "tests/support/fakes/fake_backend_wire.h"
#include "tests/support/fakes/fake_codex_backend.h"

namespace cosp::test {
namespace {

const std::set<std::string> kSlugs = {"gpt-5.6-sol", "gpt-5.5", "gpt-5.4"};

std::optional<Rejection> check(const std::string& body, std::optional<std::string> version = std::nullopt,
                               std::optional<std::string> ua = std::nullopt, bool lite = false,
                               const BackendRules& rules = BackendRules{}) {
  RuleInput in;
  in.body = body;
  in.version_header = std::move(version);
  in.user_agent = std::move(ua);
  in.responses_lite = lite;
  in.catalog_slugs = &kSlugs;
  return checkRequest(rules, in);
}

std::string body(const std::string& model, const std::string& extra = "") {
  return R"({"model":")" + model +
         R"(","instructions":"","store":false,"stream":true,)"
         R"("input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}])" +
         extra + "}";
}

TEST(FakeBackendRules, ComparesVersions) {
  EXPECT_LT(compareVersions("0.100.0", "0.150.0"), 0);
  EXPECT_EQ(compareVersions("0.150.0", "0.150"), 0);
  EXPECT_GT(compareVersions("0.169.0-alpha.2", "0.150.0"), 0);
  EXPECT_GT(compareVersions("1.0.0", "0.999.9"), 0);
}

TEST(FakeBackendRules, ReadsTheCodexVersionFromTheHeaderThenTheUserAgent) {
  EXPECT_EQ(codexVersionOf("0.169.0", std::nullopt), "0.169.0");
  EXPECT_EQ(codexVersionOf(std::nullopt, "codex_cli_rs/0.169.0 (Ubuntu 24.4.0; x86_64) xterm-256color"), "0.169.0");
  EXPECT_EQ(codexVersionOf(std::nullopt, "codex_exec/0.170.1 (Linux 6.1; x86_64) tmux (codex_exec; 0.170.1)"),
            "0.170.1");
  EXPECT_EQ(codexVersionOf("garbage", "codex_cli_rs/0.151.0"), "0.151.0");
  EXPECT_EQ(codexVersionOf(std::nullopt, "codex-sub-proxy/0.1.0"), "0.1.0");  // a Codex-ish product, too old
  EXPECT_FALSE(codexVersionOf(std::nullopt, "python-requests/2.31.0"));
  EXPECT_FALSE(codexVersionOf(std::nullopt, std::nullopt));
}

TEST(FakeBackendRules, GatesNewerModelsByCodexVersion) {
  const std::string gate =
      R"({"detail":"The 'gpt-5.5' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again."})";
  auto absent = check(body("gpt-5.5"));
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->status, 400);
  EXPECT_EQ(absent->body, gate);
  EXPECT_EQ(absent->rule, "version_gate");
  EXPECT_TRUE(check(body("gpt-5.5"), "0.100.0"));
  EXPECT_FALSE(check(body("gpt-5.5"), "0.150.0"));
  EXPECT_FALSE(check(body("gpt-5.5"), std::nullopt, "codex_cli_rs/0.169.0 (Linux 6.1; x86_64) codex-sub-proxy/0.1.0"));
  EXPECT_TRUE(check(body("gpt-5.6-sol"), std::nullopt, "codex_cli_rs/0.149.9"));
  EXPECT_FALSE(check(body("gpt-5.4")));  // not gated
  BackendRules off;
  off.version_gate = false;
  EXPECT_FALSE(check(body("gpt-5.5"), std::nullopt, std::nullopt, false, off));
  BackendRules custom;
  custom.min_codex_version = "0.170.0";
  custom.gated_models = {"gpt-5.4*"};
  EXPECT_TRUE(check(body("gpt-5.4"), "0.169.0", std::nullopt, false, custom));
  EXPECT_FALSE(check(body("gpt-5.5"), "0.169.0", std::nullopt, false, custom));
}

TEST(FakeBackendRules, RefusesSystemMessages) {
  const std::string sys = R"({"model":"gpt-5.4","instructions":"","store":false,"stream":true,"input":[)"
                          R"({"type":"message","role":"system","content":[{"type":"input_text","text":"be terse"}]}]})";
  auto r = check(sys);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"detail":"System messages are not allowed"})");
  EXPECT_EQ(r->rule, "system_role");
  std::string dev = sys;
  dev.replace(dev.find("system"), 6, "developer");
  EXPECT_FALSE(check(dev));
  BackendRules off;
  off.reject_system_role = false;
  EXPECT_FALSE(check(sys, std::nullopt, std::nullopt, false, off));
}

TEST(FakeBackendRules, ChecksTheBodyLikeTheBackend) {
  auto detail = [](const std::optional<Rejection>& r) { return r ? r->body : std::string("accepted"); };
  const std::string base = R"("model":"gpt-5.4","input":[])";
  EXPECT_EQ(detail(check("{" + base + R"(,"instructions":"","store":false})")),
            R"({"detail":"Stream must be set to true"})");
  EXPECT_EQ(detail(check("{" + base + R"(,"instructions":"","stream":true,"store":true})")),
            R"({"detail":"Store must be set to false"})");
  EXPECT_EQ(detail(check("{" + base + R"(,"stream":true,"store":false})")),
            R"({"detail":"Instructions are required"})");
  EXPECT_EQ(detail(check("{" + base + R"(,"instructions":null,"stream":true,"store":false})")),
            R"({"detail":"Instructions are required"})");
  // Responses-Lite: no instructions, or null ones, are the shape.
  EXPECT_EQ(detail(check("{" + base + R"(,"stream":true,"store":false})", std::nullopt, std::nullopt, true)),
            "accepted");
  EXPECT_EQ(detail(check("{" + base + R"(,"instructions":null,"stream":true,"store":false})", std::nullopt,
                         std::nullopt, true)),
            "accepted");
  ASSERT_FALSE(kRejectedFields.empty());  // else the loop checks nothing
  for (std::string_view field : kRejectedFields) {
    EXPECT_EQ(detail(check(body("gpt-5.4", ",\"" + std::string(field) + "\":1"))),
              "{\"detail\":\"Unsupported parameter: " + std::string(field) + "\"}");
  }
  EXPECT_EQ(detail(check(body("gpt-5.4", R"(,"service_tier":"flex")"))),
            R"({"detail":"Unsupported parameter: service_tier"})");
  EXPECT_EQ(detail(check(body("gpt-5.4", R"(,"service_tier":"priority")"))), "accepted");
  const std::string breakpoint =
      R"({"model":"gpt-5.4","instructions":"","store":false,"stream":true,"input":[{"type":"message","role":"user",)"
      R"("content":[{"type":"input_text","text":"x","prompt_cache_breakpoint":{"type":"ephemeral"}}]}]})";
  EXPECT_EQ(detail(check(breakpoint)), R"({"detail":"Unsupported parameter: prompt_cache_breakpoint"})");
  EXPECT_EQ(detail(check("not json")), R"({"detail":"We could not parse the JSON body of your request."})");
  BackendRules off;
  off.body_checks = false;
  EXPECT_FALSE(check(R"({"model":"gpt-5.4","temperature":0.2})", std::nullopt, std::nullopt, false, off));
  EXPECT_FALSE(check("not json", std::nullopt, std::nullopt, false, BackendRules::none()));
}

TEST(FakeBackendRules, RefusesModelsTheCatalogLacks) {
  auto r = check(body("gpt-5.5-pro"), "0.169.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rule, "unknown_model");
  EXPECT_EQ(r->body,
            R"({"detail":"The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account."})");
  BackendRules off;
  off.reject_unknown_models = false;
  EXPECT_FALSE(check(body("gpt-5.5-pro"), "0.169.0", std::nullopt, false, off));
}

TEST(FakeBackendRules, AppliesOptionsJson) {
  BackendRules r;
  EXPECT_EQ(applyRulesJson(r, R"({"version_gate":false,"min_codex_version":"0.200.0","gated_models":["x*"]})"), "");
  EXPECT_FALSE(r.version_gate);
  EXPECT_EQ(r.min_codex_version, "0.200.0");
  EXPECT_EQ(r.gated_models, std::vector<std::string>{"x*"});
  EXPECT_EQ(applyRulesJson(r, R"({"all":false})"), "");
  EXPECT_FALSE(r.body_checks || r.reject_system_role || r.cookies || r.catalog || r.session_cache);
  EXPECT_EQ(applyRulesJson(r, R"({"all":true,"cookies":false})"), "");
  EXPECT_TRUE(r.body_checks && r.version_gate && r.catalog);
  EXPECT_FALSE(r.cookies);
  EXPECT_NE(applyRulesJson(r, R"({"bogus":true})"), "");
  EXPECT_NE(applyRulesJson(r, R"({"cookies":"no"})"), "");
  EXPECT_NE(applyRulesJson(r, "[]"), "");
  EXPECT_FALSE(r.cookies);  // a refused update changes nothing
}

// The table behind none(), {"all":...}, the option keys and the program's flags.
TEST(FakeBackendRules, EverySwitchIsOnByDefaultAndSetByItsKey) {
  for (const RuleSwitch& s : kRuleSwitches) {
    SCOPED_TRACE(std::string(s.key));
    EXPECT_TRUE(BackendRules{}.*s.rule);
    EXPECT_FALSE(BackendRules::none().*s.rule);
    BackendRules r;
    EXPECT_EQ(applyRulesJson(r, "{\"" + std::string(s.key) + "\":false}"), "");
    EXPECT_FALSE(r.*s.rule);
    EXPECT_TRUE(s.off_flag.rfind("--no-", 0) == 0 || s.off_flag.rfind("--allow-", 0) == 0) << s.off_flag;
  }
}

// Every event of a synthesised transcript as parsed JSON.
std::vector<common::JsonValue> eventsOf(const std::string& sse) {
  std::vector<common::JsonValue> out;
  for (const auto& ev : splitSseEvents(sse)) {
    const auto data = ev.find("data: ");
    EXPECT_NE(data, std::string::npos) << ev;
    auto json = common::parseJsonObject(ev.substr(data + 6));
    EXPECT_TRUE(json) << ev;
    if (json) out.push_back(std::move(*json));
  }
  return out;
}

std::string typeOf(const common::JsonValue& ev) { return common::jsonStringOr(ev, "type"); }

TEST(FakeBackendFailures, ResponseFailedComesAfterTheLifecycleEvents) {
  FailureSpec spec;
  spec.code = "usage_limit_reached";
  spec.status = 429;
  const auto events = eventsOf(failureTranscript(spec, "gpt-5.5", 1'800'000'000));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(typeOf(events[0]), "response.created");
  EXPECT_EQ(typeOf(events[1]), "response.in_progress");
  EXPECT_EQ(typeOf(events[2]), "codex.rate_limits");
  EXPECT_EQ(typeOf(events[3]), "response.failed");
  EXPECT_EQ(common::jsonInt(events[3], "status"), 429);
  const auto* response = common::jsonObjectValue(events[3], "response");
  ASSERT_TRUE(response);
  EXPECT_EQ(common::jsonStringOr(*response, "status"), "failed");
  EXPECT_EQ(common::jsonStringOr(*response, "model"), "gpt-5.5");
  const auto* error = common::jsonObjectValue(*response, "error");
  ASSERT_TRUE(error);
  EXPECT_EQ(common::jsonStringOr(*error, "code"), "usage_limit_reached");
  EXPECT_EQ(common::jsonStringOr(*error, "type"), "usage_limit_reached");
  EXPECT_EQ(common::jsonInt(*error, "resets_in_seconds"), kFakeResetsInSeconds);
  EXPECT_EQ(common::jsonInt(*error, "resets_at"), 1'800'000'000 + kFakeResetsInSeconds);
}

TEST(FakeBackendFailures, ErrorEventsAndFailuresAfterOutput) {
  FailureSpec spec;
  spec.kind = FailureSpec::Kind::ErrorEvent;
  spec.code = "context_length_exceeded";
  auto events = eventsOf(failureTranscript(spec, "gpt-5.4", 1));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(typeOf(events[3]), "error");
  EXPECT_EQ(common::jsonStringOr(events[3], "code"), "context_length_exceeded");
  EXPECT_EQ(common::jsonStringOr(events[3], "param"), "input");
  EXPECT_FALSE(common::jsonMember(events[3], "status"));

  FailureSpec late;
  late.code = "server_is_overloaded";
  late.after_output = true;
  events = eventsOf(failureTranscript(late, "gpt-5.4", 1));
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(typeOf(events[5]), "response.output_text.delta");
  EXPECT_EQ(typeOf(events[6]), "response.failed");

  FailureSpec capacity;
  capacity.code = "at_capacity_no_code";
  events = eventsOf(failureTranscript(capacity, "gpt-5.4", 1));
  const auto* error = common::jsonObjectValue(*common::jsonObjectValue(events.back(), "response"), "error");
  ASSERT_TRUE(error);
  EXPECT_FALSE(common::jsonMember(*error, "code"));
  EXPECT_EQ(common::jsonStringOr(*error, "message"), "Selected model is at capacity. Please try a different model.");
  EXPECT_EQ(failureBody("at_capacity").code, "server_error");
  EXPECT_EQ(failureBody("usage_not_included").type, "usage_not_included");
}

TEST(FakeBackendCompaction, RecognisesOnlyATrailingTrigger) {
  EXPECT_TRUE(endsWithCompactionTrigger(R"({"input":[{"type":"message"},{"type":"compaction_trigger"}]})"));
  EXPECT_FALSE(endsWithCompactionTrigger(R"({"input":[{"type":"compaction_trigger"},{"type":"message"}]})"));
  EXPECT_FALSE(endsWithCompactionTrigger(R"({"input":[]})"));
  EXPECT_FALSE(endsWithCompactionTrigger(R"({"input":"compaction_trigger"})"));
  EXPECT_FALSE(endsWithCompactionTrigger("not json"));
}

TEST(FakeBackendCompaction, TranscriptHasExactlyOneCompactionItem) {
  EXPECT_EQ(compactionContent(3, std::nullopt), "gAAAAABfake-compaction-3");
  EXPECT_EQ(compactionContent(3, std::string("text")), "gAAAAABfake-compaction-3 [[scenario:text]]");
  const auto events = eventsOf(compactionTranscript("gpt-5.5", 3, "opaque \"state\""));
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(typeOf(events[0]), "response.created");
  EXPECT_EQ(typeOf(events[1]), "response.in_progress");
  EXPECT_EQ(typeOf(events[2]), "response.output_item.added");
  EXPECT_EQ(typeOf(events[3]), "response.output_item.done");
  EXPECT_EQ(typeOf(events[4]), "response.completed");
  for (int i : {2, 3}) {
    const auto* item = common::jsonObjectValue(events[i], "item");
    ASSERT_TRUE(item);
    EXPECT_EQ(common::jsonStringOr(*item, "type"), "compaction");
    EXPECT_EQ(common::jsonStringOr(*item, "encrypted_content"), "opaque \"state\"");
  }
  const auto* response = common::jsonObjectValue(events[4], "response");
  ASSERT_TRUE(response);
  EXPECT_EQ(common::jsonStringOr(*response, "model"), "gpt-5.5");
  EXPECT_EQ(common::jsonStringOr(*response, "status"), "completed");
}

TEST(FakeBackendWire, EtagCookiesAndCachedTokens) {
  EXPECT_EQ(etagOf("abc"), etagOf("abc"));
  EXPECT_NE(etagOf("abc"), etagOf("abd"));
  EXPECT_EQ(etagOf("abc").front(), '"');
  EXPECT_EQ(etagOf("abc").size(), 18u);
  EXPECT_EQ(catalogSlugs(R"({"models":[{"slug":"a"},{"slug":"b"},{"x":1}]})"), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(catalogSlugs("[]").empty());
  EXPECT_EQ(randomUuid().size(), 36u);
  EXPECT_NE(randomUuid(), randomUuid());
  const auto t = std::chrono::system_clock::from_time_t(1'761'300'000);
  EXPECT_EQ(httpDate(t), "Fri, 24 Oct 2025 10:00:00 GMT");
  EXPECT_EQ(cfBmCookie("v1", ".chatgpt.com", t),
            "__cf_bm=v1; path=/; expires=Fri, 24 Oct 2025 10:30:00 GMT; domain=.chatgpt.com; HttpOnly; Secure; "
            "SameSite=None");
  EXPECT_EQ(puidCookie("u", ".chatgpt.com", t).rfind("_puid=u; path=/;", 0), 0u);
  const std::string usage =
      R"({"usage":{"input_tokens":25,"input_tokens_details":{"cached_tokens":8},"output_tokens":42}})";
  EXPECT_EQ(inputTokensOf(usage), 25);
  EXPECT_EQ(withCachedTokens(usage, 25),
            R"({"usage":{"input_tokens":25,"input_tokens_details":{"cached_tokens":25},"output_tokens":42}})");
  EXPECT_EQ(withCachedTokens(usage, 0).find("\"cached_tokens\":0}"), usage.find("\"cached_tokens\""));
  EXPECT_EQ(modelOf(R"({"model":"gpt-5.5"})"), "gpt-5.5");
  EXPECT_FALSE(modelOf("[]"));
  EXPECT_TRUE(includesEncryptedReasoning(R"({"include":["reasoning.encrypted_content"]})"));
  EXPECT_FALSE(includesEncryptedReasoning(R"({"include":[]})"));
}

TEST(FakeScenarioTest, ParsesTheFailureTokens) {
  auto f = parseScenario("fail:server_is_overloaded");
  ASSERT_TRUE(f) << f.error();
  ASSERT_TRUE(f->failure);
  EXPECT_EQ(f->failure->kind, FailureSpec::Kind::ResponseFailed);
  EXPECT_EQ(f->failure->code, "server_is_overloaded");
  EXPECT_FALSE(f->failure->status);
  EXPECT_FALSE(f->failure->after_output);
  auto e = parseScenario("error-event:usage_limit_reached:429+first:2");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->failure->kind, FailureSpec::Kind::ErrorEvent);
  EXPECT_EQ(*e->failure->status, 429);
  EXPECT_EQ(*e->first, 2);
  EXPECT_TRUE(parseScenario("fail-after-output:server_error")->failure->after_output);
  for (const char* bad : {"fail", "fail:", "fail:a b", "fail:x:99", "error-event:x:abc", "first:x"}) {
    EXPECT_FALSE(parseScenario(bad)) << bad;
  }
}

}  // namespace
}  // namespace cosp::test
