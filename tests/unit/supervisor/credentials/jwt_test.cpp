#include "supervisor/credentials/jwt.h"

#include <gtest/gtest.h>

#include "tests/support/fakes/fake_oauth_server.h"

namespace cosp::supervisor {
namespace {

using test::FakeOAuthServer;

TEST(Base64Url, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(base64UrlDecode("aGVsbG8"), std::optional<std::string>("hello"));
  EXPECT_EQ(base64UrlDecode("aGVsbG8="), std::optional<std::string>("hello"));
  EXPECT_EQ(base64UrlDecode(""), std::optional<std::string>(""));
  // '-' and '_' are the URL-safe 62/63: 0xfb 0xff -> "-_8"
  EXPECT_EQ(base64UrlDecode("-_8"), std::optional<std::string>("\xfb\xff"));
  EXPECT_EQ(base64UrlDecode("+/8"), std::optional<std::string>("\xfb\xff"));
}

TEST(Base64Url, RejectsGarbage) {
  EXPECT_FALSE(base64UrlDecode("a$bc").has_value());
  EXPECT_FALSE(base64UrlDecode("abcde").has_value());  // 5 chars cannot encode whole bytes
}

TEST(Jwt, ExtractsExpAndAccountClaim) {
  std::string jwt = FakeOAuthServer::makeJwt(1'900'000'000, "acct-123", "user");
  auto claims = parseJwtClaims(jwt);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->exp, std::optional<int64_t>(1'900'000'000));
  EXPECT_EQ(claims->chatgpt_account_id, std::optional<std::string>("acct-123"));
}

TEST(Jwt, MissingClaimsAreEmpty) {
  std::string jwt = FakeOAuthServer::makeJwt(1'900'000'000, "", "user");
  auto claims = parseJwtClaims(jwt);
  ASSERT_TRUE(claims.has_value());
  EXPECT_FALSE(claims->chatgpt_account_id.has_value());
}

TEST(Jwt, HandWrittenPayloadWithDoubleExp) {
  // {"exp":1900000000.0,"https://api.openai.com/auth":{"chatgpt_account_id":"x-y"}}
  std::string payload =
      "eyJleHAiOjE5MDAwMDAwMDAuMCwiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS9hdXRoIjp7ImNoYXRncHRfYWNjb3VudF9pZCI6IngteSJ9fQ";
  auto claims = parseJwtClaims("e30." + payload + ".sig");
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->exp, std::optional<int64_t>(1'900'000'000));
  EXPECT_EQ(claims->chatgpt_account_id, std::optional<std::string>("x-y"));
}

TEST(Jwt, NotAJwt) {
  EXPECT_FALSE(parseJwtClaims("opaque-token").has_value());
  EXPECT_FALSE(parseJwtClaims("a.b").has_value());
  EXPECT_FALSE(parseJwtClaims("a.!!!.c").has_value());
  EXPECT_FALSE(parseJwtClaims("a.WzEsMl0.c").has_value());  // payload is an array: [1,2]
}

TEST(Jwt, AccountIdPrefersIdToken) {
  std::string id = FakeOAuthServer::makeJwt(1, "from-id", "u");
  std::string access = FakeOAuthServer::makeJwt(1, "from-access", "u");
  EXPECT_EQ(accountIdFromTokens(id, access), "from-id");
  EXPECT_EQ(accountIdFromTokens("", access), "from-access");
  EXPECT_EQ(accountIdFromTokens("not-a-jwt", access), "from-access");
  EXPECT_EQ(accountIdFromTokens("", "opaque"), "");
}

TEST(ExpiresAt, SecondsOrMilliseconds) {
  EXPECT_EQ(normalizeExpiresAtMs(1'760'000'000), 1'760'000'000'000);
  EXPECT_EQ(normalizeExpiresAtMs(9'999'999'999), 9'999'999'999'000);
  EXPECT_EQ(normalizeExpiresAtMs(10'000'000'000), 10'000'000'000);
  EXPECT_EQ(normalizeExpiresAtMs(1'760'000'000'123), 1'760'000'000'123);
  EXPECT_EQ(normalizeExpiresAtMs(0), 0);
  EXPECT_EQ(normalizeExpiresAtMs(-5), 0);
}

}  // namespace
}  // namespace cosp::supervisor
