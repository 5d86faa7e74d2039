#include "supervisor/credentials/oauth_client.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "supervisor/credentials/refresh_backoff.h"
#include "tests/support/fakes/credential_fakes.h"

namespace cosp::supervisor {
namespace {

using cosp::test::ScriptedTransport;
using std::chrono::milliseconds;

TEST(ClassifyTokenError, PermanentCases) {
  // The real endpoint's shape for a rotated-away token.
  auto reused = classifyTokenError(
      401,
      R"({"error":{"message":"already used","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}})",
      "");
  EXPECT_EQ(reused.kind, FailureKind::Permanent);
  EXPECT_EQ(reused.code, "refresh_token_reused");
  EXPECT_EQ(reused.http_status, 401);
  EXPECT_EQ(reused.message, "token endpoint returned HTTP 401 (refresh_token_reused)");

  EXPECT_EQ(classifyTokenError(401, "", "").kind, FailureKind::Permanent);  // any 401
  auto grant = classifyTokenError(400, R"({"error":"invalid_grant","error_description":"bad"})", "");
  EXPECT_EQ(grant.kind, FailureKind::Permanent);
  EXPECT_EQ(grant.code, "invalid_grant");
  EXPECT_EQ(classifyTokenError(400, R"({"code":"refresh_token_expired"})", "").kind, FailureKind::Permanent);
  EXPECT_EQ(classifyTokenError(400, R"({"error":{"code":"REFRESH_TOKEN_INVALIDATED"}})", "").kind,
            FailureKind::Permanent);
}

// Every code the backend was seen to answer for a dead refresh token or account, in each shape it
// may come in, with a status that alone would be transient: the code decides.
TEST(ClassifyTokenError, EveryPermanentCodeInEveryShape) {
  const char* const codes[] = {"invalid_grant",        "invalid_refresh_token",     "refresh_token_expired",
                               "refresh_token_reused", "refresh_token_invalidated", "token_expired",
                               "token_revoked",        "account_deactivated"};
  for (const std::string code : codes) {
    const std::string shapes[] = {
        R"({"error":")" + code + R"(","error_description":"x"})",
        R"({"error":{"message":"x","type":"invalid_request_error","param":null,"code":")" + code + R"("}})",
        R"({"error":{"message":"x","type":")" + code + R"("}})",
        R"({"code":")" + code + R"(","message":"x"})",
    };
    for (const std::string& body : shapes) {
      for (int status : {400, 403}) {
        OAuthFailure f = classifyTokenError(status, body, "");
        EXPECT_EQ(f.kind, FailureKind::Permanent) << status << " " << body;
        EXPECT_EQ(f.code, code) << body;
        EXPECT_EQ(f.message, "token endpoint returned HTTP " + std::to_string(status) + " (" + code + ")");
      }
    }
  }
}

TEST(ClassifyTokenError, APermanentCodeIsNotHiddenByAGenericOne) {
  // An OAuth-style "error" beside the specific code: the specific one decides and is shown.
  OAuthFailure f = classifyTokenError(400, R"({"error":"invalid_request","code":"refresh_token_reused"})", "");
  EXPECT_EQ(f.kind, FailureKind::Permanent);
  EXPECT_EQ(f.code, "refresh_token_reused");
  f = classifyTokenError(400, R"({"error":{"type":"invalid_request_error","code":"token_revoked"}})", "");
  EXPECT_EQ(f.kind, FailureKind::Permanent);
  EXPECT_EQ(f.code, "token_revoked");
}

TEST(ClassifyTokenError, Any401IsPermanent) {
  for (const char* body : {"", "<html>nope</html>", R"({"error":"invalid_request"})", R"({"error":{"code":"x"}})"}) {
    EXPECT_EQ(classifyTokenError(401, body, "").kind, FailureKind::Permanent) << body;
  }
}

TEST(ClassifyTokenError, TransientCases) {
  auto server = classifyTokenError(500, R"({"error":{"message":"boom","type":"server_error"}})", "");
  EXPECT_EQ(server.kind, FailureKind::Transient);
  auto limited = classifyTokenError(429, "{}", "17");
  EXPECT_EQ(limited.kind, FailureKind::Transient);
  ASSERT_TRUE(limited.retry_after.has_value());
  EXPECT_EQ(*limited.retry_after, milliseconds(17000));
  EXPECT_FALSE(classifyTokenError(429, "{}", "Wed, 21 Oct 2015 07:28:00 GMT").retry_after.has_value());
  EXPECT_EQ(classifyTokenError(403, "<html>challenge</html>", "").kind, FailureKind::Transient);
  EXPECT_EQ(classifyTokenError(502, "", "").kind, FailureKind::Transient);
  EXPECT_EQ(classifyTokenError(400, R"({"error":"invalid_request"})", "").kind, FailureKind::Transient);
  // A code that merely contains a permanent one is not it.
  EXPECT_EQ(classifyTokenError(400, R"({"code":"invalid_grant_type_hint"})", "").kind, FailureKind::Transient);
  EXPECT_EQ(classifyTokenError(500, R"({"error":{"code":"server_error","type":"token_expired_cache"}})", "").kind,
            FailureKind::Transient);
}

TEST(ClassifyTokenError, CodeIsSanitised) {
  auto f = classifyTokenError(
      500, R"({"error":{"code":"weird <script> \"code\" with spaces and more text than anyone needs here........"}})",
      "");
  EXPECT_EQ(f.code.find('<'), std::string::npos);
  EXPECT_EQ(f.code.find(' '), std::string::npos);
  EXPECT_LE(f.code.size(), 64u);
}

TEST(ParseTokenResponse, ReadsTokensAndExpiresIn) {
  auto ok = parseTokenResponse(
      HttpReply{200, R"({"access_token":"a","refresh_token":"r","id_token":"i","expires_in":3600})", ""});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->access_token, "a");
  EXPECT_EQ(ok->refresh_token, "r");
  EXPECT_EQ(ok->id_token, "i");
  EXPECT_EQ(ok->expires_in_s, std::optional<int64_t>(3600));
  auto no_rotation = parseTokenResponse(HttpReply{200, R"({"access_token":"a"})", ""});
  ASSERT_TRUE(no_rotation.ok());
  EXPECT_EQ(no_rotation->refresh_token, "");
  EXPECT_FALSE(no_rotation->expires_in_s.has_value());
  auto missing = parseTokenResponse(HttpReply{200, R"({"refresh_token":"r"})", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, FailureKind::Transient);
  EXPECT_FALSE(parseTokenResponse(HttpReply{200, "not json", ""}).ok());
}

TEST(RefreshTokens, SendsTheDocumentedJsonBody) {
  ScriptedTransport http;
  http.reply(200, R"({"access_token":"new-a","refresh_token":"new-r"})");
  auto result = refreshTokens(http, "http://auth.example/", "rt-1");
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(http.calls(), 1u);
  auto req = http.requests()[0];
  EXPECT_EQ(req.url, "http://auth.example/oauth/token");
  EXPECT_EQ(req.content_type, "application/json");
  Poco::JSON::Parser parser;
  auto obj = parser.parse(req.body).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(obj->getValue<std::string>("client_id"), "app_EMoamEEZ73f0CkXaXp7hrann");
  EXPECT_EQ(obj->getValue<std::string>("grant_type"), "refresh_token");
  EXPECT_EQ(obj->getValue<std::string>("refresh_token"), "rt-1");
  EXPECT_EQ(obj->size(), 3u);
}

TEST(RefreshTokens, NetworkErrorIsTransient) {
  ScriptedTransport http;
  http.fail("connection refused");
  auto result = refreshTokens(http, "http://auth.example", "rt-1");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, FailureKind::Transient);
  EXPECT_EQ(result.error().http_status, 0);
  EXPECT_NE(result.error().message.find("connection refused"), std::string::npos);
}

TEST(ExchangeAuthorizationCode, FormEncodesEveryField) {
  ScriptedTransport http;
  http.reply(200, R"({"access_token":"a","refresh_token":"r","id_token":"i"})");
  auto result = exchangeAuthorizationCode(http, "https://auth.openai.com", "code+/=&x", "ver ifier");
  ASSERT_TRUE(result.ok());
  auto req = http.requests()[0];
  EXPECT_EQ(req.url, "https://auth.openai.com/oauth/token");
  EXPECT_EQ(req.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(req.body,
            "grant_type=authorization_code&code=code%2B%2F%3D%26x"
            "&redirect_uri=https%3A%2F%2Fauth.openai.com%2Fdeviceauth%2Fcallback"
            "&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=ver%20ifier");
}

TEST(Backoff, DoublesUntilTheCap) {
  const milliseconds base(1000), cap(60000);
  // random01 = 1 selects the top of the jitter range, i.e. the un-jittered value.
  EXPECT_EQ(backoffDelay(1, base, cap, 1.0), milliseconds(1000));
  EXPECT_EQ(backoffDelay(2, base, cap, 1.0), milliseconds(2000));
  EXPECT_EQ(backoffDelay(3, base, cap, 1.0), milliseconds(4000));
  EXPECT_EQ(backoffDelay(6, base, cap, 1.0), milliseconds(32000));
  EXPECT_EQ(backoffDelay(7, base, cap, 1.0), milliseconds(60000));
  EXPECT_EQ(backoffDelay(1000, base, cap, 1.0), milliseconds(60000));  // no overflow
  EXPECT_EQ(backoffDelay(0, base, cap, 1.0), milliseconds(1000));
}

TEST(Backoff, DoublingDelayIsTheUnjitteredValue) {
  const milliseconds base(1000), cap(60000);
  for (int failures : {0, 1, 2, 3, 6, 7, 1000}) {
    EXPECT_EQ(doublingDelay(failures, base, cap), backoffDelay(failures, base, cap, 1.0)) << failures;
  }
  EXPECT_EQ(doublingDelay(3, milliseconds(90), milliseconds(60)), milliseconds(60));  // never past the cap
}

TEST(Backoff, JitterStaysWithinHalfToFull) {
  const milliseconds base(1000), cap(60000);
  for (int failures = 1; failures <= 10; ++failures) {
    milliseconds full = backoffDelay(failures, base, cap, 1.0);
    EXPECT_EQ(backoffDelay(failures, base, cap, 0.0), full / 2) << failures;
    for (double r : {0.1, 0.25, 0.5, 0.75, 0.999}) {
      milliseconds d = backoffDelay(failures, base, cap, r);
      EXPECT_GE(d, full / 2) << failures << " " << r;
      EXPECT_LE(d, full) << failures << " " << r;
    }
  }
  EXPECT_EQ(backoffDelay(1, base, cap, 0.5), milliseconds(750));
  EXPECT_EQ(backoffDelay(1, base, cap, 7.0), milliseconds(1000));  // clamped sample
}

}  // namespace
}  // namespace cosp::supervisor
