#include "worker/translate/upstream_error.h"

#include <gtest/gtest.h>

#include <string>

#include "common/util/retry_after.h"
#include "tests/support/harness/fixtures.h"
#include "worker/translate/error_json.h"

namespace cosp::worker {
namespace {

using cosp::test::readFixture;

constexpr std::int64_t kResetsAt = 1761300000 + 3600;  // usage_limit_429.json

std::string retryAfter(const common::ApiError& e) {
  if (!e.header) return "";
  EXPECT_EQ(e.header->first, "Retry-After");
  return e.header->second;
}

TEST(MapUpstreamError, UsageLimit429PrefersResetsInSeconds) {
  // Relative seconds win over resets_at, which would depend on our clock agreeing with theirs.
  const auto e =
      mapUpstreamError(429, "application/json", readFixture("responses/usage_limit_429.json"), kResetsAt - 1800);
  EXPECT_EQ(e.status, 429);
  // type and code both: the Codex CLI reads `type` to tell a usage limit from another 429.
  EXPECT_EQ(e.type, "usage_limit_reached");
  EXPECT_EQ(e.code.value_or(""), "usage_limit_reached");
  EXPECT_EQ(retryAfter(e), "3600");
  EXPECT_NE(e.message.find("The usage limit has been reached"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("plan: plus"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("resets in 1h 0m"), std::string::npos) << e.message;
}

TEST(MapUpstreamError, UsageLimitUsesResetsAtWhenItIsTheOnlyHint) {
  const auto e = mapUpstreamError(
      429, "application/json",
      R"({"error":{"type":"usage_limit_reached","message":"m","resets_at":)" + std::to_string(kResetsAt) + "}}",
      kResetsAt - 1800);
  EXPECT_EQ(retryAfter(e), "1800");
  EXPECT_NE(e.message.find("resets in 30m 0s"), std::string::npos) << e.message;
}

TEST(MapUpstreamError, UsageLimitFallsBackToResetsInSecondsAndClampsToOne) {
  auto e = mapUpstreamError(429, "application/json",
                            R"({"error":{"type":"usage_limit_reached","message":"m","resets_in_seconds":7200}})", 1000);
  EXPECT_EQ(retryAfter(e), "7200");
  EXPECT_NE(e.message.find("resets in 2h 0m"), std::string::npos) << e.message;
  // resets_at already in the past: retry after 1 s rather than 0 or a negative value.
  e = mapUpstreamError(
      429, "application/json",
      R"({"error":{"type":"usage_limit_reached","message":"m","resets_at":)" + std::to_string(kResetsAt) + "}}",
      kResetsAt + 50);
  EXPECT_EQ(retryAfter(e), "1");
}

TEST(MapUpstreamError, UsageLimitOn404IsAlso429) {
  const auto e =
      mapUpstreamError(404, "application/json", readFixture("responses/usage_limit_429.json"), kResetsAt - 60);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.code.value_or(""), "usage_limit_reached");
  EXPECT_EQ(retryAfter(e), "3600");
}

TEST(MapUpstreamError, TheBackendsRetryAfterHeaderWinsOverTheBodysResetFields) {
  const std::string body = readFixture("responses/usage_limit_429.json");
  auto e = mapUpstreamError(429, "application/json", body, kResetsAt - 1800, common::parseRetryAfterSeconds("120"));
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(retryAfter(e), "120");
  e = mapUpstreamError(429, "application/json", body, kResetsAt - 1800,
                       common::parseRetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_EQ(retryAfter(e), "3600");  // an HTTP-date is not read: the body's hint stays
  e = mapUpstreamError(429, "application/json", R"({"error":{"message":"slow down","code":"rate_limit_exceeded"}})", 0,
                       common::parseRetryAfterSeconds(" 7 "));
  EXPECT_EQ(retryAfter(e), "7");
  e = mapUpstreamError(503, "application/json", readFixture("responses/overloaded_503.json"), 0,
                       common::parseRetryAfterSeconds("2"));
  EXPECT_EQ(retryAfter(e), "2");
}

TEST(MapUpstreamError, UsageNotIncludedIsAPermanent403) {
  for (int status : {429, 403, 400}) {
    const auto e =
        mapUpstreamError(status, "application/json",
                         R"({"error":{"type":"usage_not_included","message":"Your plan does not include Codex."}})", 0);
    EXPECT_EQ(e.status, 403) << status;
    EXPECT_EQ(e.type, "permission_error");
    EXPECT_EQ(e.code.value_or(""), "usage_not_included");
    EXPECT_EQ(e.message, "Your plan does not include Codex.");
    EXPECT_FALSE(e.header.has_value());
  }
}

TEST(MapUpstreamError, ModelAtCapacityIs503WithRetryAfterWhateverTheStatus) {
  for (int status : {400, 429, 500, 503}) {
    const auto e = mapUpstreamError(
        status, "application/json",
        R"({"error":{"message":"Selected model is at capacity. Please try a different model.","code":"x"}})", 0);
    EXPECT_EQ(e.status, 503) << status;
    EXPECT_EQ(e.code.value_or(""), "model_at_capacity");
    EXPECT_EQ(retryAfter(e), "5");
  }
}

TEST(MapUpstreamError, Plain429) {
  const auto e = mapUpstreamError(
      429, "application/json",
      R"({"error":{"message":"Rate limit reached. Please try again in 1.5s.","type":"requests","code":"rate_limit_exceeded"}})",
      0);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.code.value_or(""), "rate_limit_exceeded");
  EXPECT_EQ(retryAfter(e), "2");
  const auto bare = mapUpstreamError(429, "", "", 0);
  EXPECT_EQ(bare.status, 429);
  EXPECT_FALSE(bare.header.has_value());
}

TEST(MapUpstreamError, BadRequestPassesTheMessage) {
  auto e = mapUpstreamError(400, "application/json", readFixture("responses/bad_request_400.json"), 0);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.message, "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account.");
  e = mapUpstreamError(
      400, "application/json",
      R"({"error":{"message":"Invalid value: 'x'.","type":"invalid_request_error","param":"input[0].type","code":"invalid_value"}})",
      0);
  EXPECT_EQ(e.message, "Invalid value: 'x'.");
  EXPECT_EQ(e.param.value_or(""), "input[0].type");
  EXPECT_EQ(e.code.value_or(""), "invalid_value");
  e = mapUpstreamError(400, "text/plain", "not json", 0);
  EXPECT_EQ(e.status, 400);
  EXPECT_FALSE(e.message.empty());
  e = mapUpstreamError(413, "application/json", R"({"error":{"message":"too big"}})", 0);
  EXPECT_EQ(e.status, 413);
  EXPECT_EQ(e.message, "too big");
}

TEST(MapUpstreamError, Unauthorized401Is503) {
  const auto e = mapUpstreamError(401, "application/json", readFixture("responses/unauthorized_401.json"), 0);
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code.value_or(""), "upstream_auth_error");
  EXPECT_NE(e.message.find("codex-sub-proxy login"), std::string::npos);
}

TEST(MapUpstreamError, CloudflareHtmlIs502) {
  const std::string html = readFixture("responses/cloudflare_403.html");
  for (const auto& [status, ct] : {std::pair{403, "text/html; charset=UTF-8"}, std::pair{403, ""},
                                   std::pair{503, "text/html"}, std::pair{200, "text/html"}}) {
    const auto e = mapUpstreamError(status, ct, html, 0);
    EXPECT_EQ(e.status, 502) << status;
    EXPECT_EQ(e.code.value_or(""), "upstream_blocked");
    EXPECT_NE(e.message.find("Cloudflare"), std::string::npos);
    EXPECT_EQ(e.message.find("<html"), std::string::npos);  // never the page itself
  }
  const auto json403 = mapUpstreamError(403, "application/json", R"({"detail":"Forbidden for this account"})", 0);
  EXPECT_EQ(json403.status, 502);
  EXPECT_NE(json403.message.find("Forbidden for this account"), std::string::npos);
}

TEST(MapUpstreamError, ServerErrorsAre502WithStatus) {
  auto e = mapUpstreamError(500, "application/json", readFixture("responses/server_error_500.json"), 0);
  EXPECT_EQ(e.status, 502);
  EXPECT_EQ(e.type, "upstream_error");
  EXPECT_EQ(e.code.value_or(""), "upstream_error");
  EXPECT_NE(e.message.find("HTTP 500"), std::string::npos);
  EXPECT_NE(e.message.find("An error occurred while processing your request."), std::string::npos);
  e = mapUpstreamError(502, "", "", 0);
  EXPECT_EQ(e.status, 502);
  EXPECT_NE(e.message.find("HTTP 502"), std::string::npos);
  e = mapUpstreamError(503, "application/json", R"({"error":{"message":"maintenance"}})", 0);
  EXPECT_EQ(e.status, 502);
  EXPECT_FALSE(e.header.has_value());
}

TEST(MapUpstreamError, Overloaded503KeepsStatusWithRetryAfter) {
  const auto e = mapUpstreamError(503, "application/json", readFixture("responses/overloaded_503.json"), 0);
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code.value_or(""), "server_is_overloaded");
  EXPECT_EQ(retryAfter(e), "5");
}

TEST(MapUpstreamError, NotFoundAndOddStatuses) {
  auto e = mapUpstreamError(404, "text/plain", "Not Found", 0);
  EXPECT_EQ(e.status, 502);
  EXPECT_NE(e.message.find("CODEX_RESPONSES_PATH"), std::string::npos);
  e = mapUpstreamError(404, "application/json", R"({"error":{"code":"model_not_found","message":"no such model"}})", 0);
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.param.value_or(""), "model");
  e = mapUpstreamError(302, "", "", 0);
  EXPECT_EQ(e.status, 502);
}

TEST(MapUpstreamError, LongMessagesAreCappedOnACharacterBoundary) {
  std::string msg;
  for (int i = 0; i < 600; ++i) msg += "\xC3\xA9";  // 1200 bytes of 'é'
  const auto e = mapUpstreamError(400, "application/json", R"({"error":{"message":")" + msg + R"("}})", 0);
  EXPECT_LE(e.message.size(), 1003u);
  EXPECT_TRUE(common::parseJson(apiErrorJson(e)).ok());  // still valid UTF-8
}

TEST(MapStreamFailure, Codes) {
  struct Case {
    const char* data;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {R"({"type":"response.failed","response":{"error":{"code":"rate_limit_exceeded","message":"Please try again in 20s."}}})",
       429, "rate_limit_exceeded"},
      {R"({"type":"response.failed","response":{"error":{"code":"insufficient_quota","message":"q"}}})", 429,
       "insufficient_quota"},
      {R"({"type":"response.failed","response":{"error":{"code":"context_length_exceeded","message":"c"}}})", 400,
       "context_length_exceeded"},
      {R"({"type":"response.failed","response":{"error":{"code":"invalid_prompt","message":"p"}}})", 400,
       "invalid_prompt"},
      {R"({"type":"response.failed","response":{"error":{"code":"server_is_overloaded","message":"o"}}})", 503,
       "server_is_overloaded"},
      {R"({"type":"response.failed","response":{"error":{"code":"usage_not_included","message":"u"}}})", 403,
       "usage_not_included"},
      {R"({"type":"response.failed","response":{"error":{"code":"server_error","message":"s"}}})", 502, "server_error"},
      {R"({"type":"response.failed","response":{}})", 502, "upstream_error"},
      {R"({"type":"error","code":"context_length_exceeded","message":"c","param":"input"})", 400,
       "context_length_exceeded"},
      {R"({"type":"error","error":{"type":"usage_limit_reached","message":"m","resets_in_seconds":60}})", 429,
       "usage_limit_reached"},
      {R"({"type":"error","error":{"type":"invalid_request_error","code":"bad_thing","message":"m"}})", 400,
       "bad_thing"},
      {"garbage", 502, "upstream_error"},
      // The code of a rate limit comes from the error's type when it has no code. (Found by
      // fuzz_sse with libstdc++ assertions: the first case, a code and no type, dereferenced the
      // empty type.)
      {R"({"type":"error","error":{"type":"rate_limit_exceeded","message":"m"}})", 429, "rate_limit_exceeded"},
      {R"({"type":"response.failed","response":{"error":{"code":"usage_limit_reached","message":"u","resets_in_seconds":90}}})",
       429, "usage_limit_reached"},
      {R"({"type":"response.failed","response":{"error":{"code":"cyber_policy","message":"This request was flagged."}}})",
       400, "cyber_policy"},
      {R"({"type":"error","error":{"type":"invalid_request_error","code":"content_policy_violation","message":"no"}})",
       400, "content_policy_violation"},
      // At capacity is recognised by its message, whatever the code says.
      {R"({"type":"error","code":"server_error","message":"Selected model is at capacity. Please try a different model."})",
       503, "model_at_capacity"},
      {R"({"type":"response.failed","response":{"error":{"message":"The model is at capacity."}}})", 503,
       "model_at_capacity"},
  };
  for (const Case& c : cases) {
    const auto e = mapStreamFailure(c.data);
    EXPECT_EQ(e.status, c.status) << c.data;
    EXPECT_EQ(e.code.value_or(""), c.code) << c.data;
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_EQ(retryAfter(mapStreamFailure(cases[0].data)), "20");
  EXPECT_EQ(retryAfter(mapStreamFailure(cases[9].data)), "60");
  EXPECT_EQ(retryAfter(mapStreamFailure(cases[13].data)), "90");
  EXPECT_EQ(retryAfter(mapStreamFailure(cases[16].data)), "5");
  EXPECT_EQ(mapStreamFailure(cases[13].data).type, "usage_limit_reached");
  EXPECT_EQ(mapStreamFailure(cases[14].data).message, "This request was flagged.");
  EXPECT_EQ(mapStreamFailure(cases[5].data).status, 403);  // usage_not_included: permanent
}

TEST(MapStreamFailure, AStatusInTheEventWins) {
  // The same code, a different status: the event's own status decides, mapped as that HTTP status.
  auto e = mapStreamFailure(R"({"type":"error","status":429,"code":"rate_limit_exceeded","message":"m"})");
  EXPECT_EQ(e.status, 429);
  e = mapStreamFailure(R"({"type":"error","status_code":400,"code":"server_error","message":"bad input"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.message, "bad input");
  e = mapStreamFailure(R"({"type":"error","error":{"status":503,"code":"server_is_overloaded","message":"busy"}})");
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code.value_or(""), "server_is_overloaded");
  EXPECT_EQ(retryAfter(e), "5");
  e = mapStreamFailure(R"({"type":"error","status":500,"code":"context_length_exceeded","message":"m"})");
  EXPECT_EQ(e.status, 502);  // a 5xx maps as an HTTP 5xx would
  // In a stream a 403 is the backend's own refusal, not a Cloudflare challenge.
  e = mapStreamFailure(R"({"type":"error","status":403,"code":"forbidden_thing","message":"not for you"})");
  EXPECT_EQ(e.status, 403);
  EXPECT_EQ(e.message, "not for you");
  e = mapStreamFailure(R"({"type":"error","status":429,"error":{"type":"usage_not_included","message":"no"}})");
  EXPECT_EQ(e.status, 403);
  // response.failed's "status":"failed" is no HTTP status; out-of-range numbers are ignored.
  e = mapStreamFailure(
      R"({"type":"response.failed","response":{"status":"failed","error":{"code":"context_length_exceeded","message":"c"}}})");
  EXPECT_EQ(e.status, 400);
  e = mapStreamFailure(R"({"type":"error","status":200,"code":"context_length_exceeded","message":"c"})");
  EXPECT_EQ(e.status, 400);
}

TEST(ErrorJson, EnvelopesAndResponsesErrorEvent) {
  common::ApiError e = common::ApiError::invalidRequest("Bad \"thing\"", std::string("messages[0]"));
  EXPECT_EQ(
      apiErrorJson(e),
      R"({"error":{"message":"Bad \"thing\"","type":"invalid_request_error","param":"messages[0]","code":null}})");
  EXPECT_EQ(
      responsesErrorEventData(upstreamTruncatedError()),
      R"({"type":"error","code":"upstream_stream_truncated","message":"The Codex backend closed the stream before the response was complete.","param":null})");
  EXPECT_EQ(upstreamTimeoutError().status, 504);
  EXPECT_EQ(upstreamIdleTimeoutError().status, 502);
  const auto unavailable = upstreamUnavailableError("connection refused");
  EXPECT_EQ(unavailable.status, 502);
  EXPECT_EQ(unavailable.message, "The Codex backend could not be reached: connection refused.");
}

}  // namespace
}  // namespace cosp::worker
