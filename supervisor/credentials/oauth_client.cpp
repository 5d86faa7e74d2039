#include "supervisor/credentials/oauth_client.h"

#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "common/util/retry_after.h"
#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

namespace {

// Error codes end up in status JSON and logs: keep only a short identifier-like string so a
// misbehaving server cannot smuggle anything else there.
std::string sanitizeCode(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (out.size() >= 64) break;
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

// Every error code the body names, in the shapes seen in the wild: {"error":"…"} (OAuth),
// {"error":{"code":…,"type":…}} (OpenAI), {"code":…}; the most specific first.
std::vector<std::string> errorCodesOf(const std::string& body) {
  std::vector<std::string> codes;
  std::optional<common::JsonValue> obj = common::parseJsonObject(body, kCredentialJsonOptions);
  if (!obj) return codes;
  auto add = [&codes](std::optional<std::string_view> raw) {
    if (!raw) return;
    std::string code = sanitizeCode(*raw);
    if (!code.empty()) codes.push_back(std::move(code));
  };
  add(common::jsonString(*obj, "error"));
  if (const common::JsonValue* inner = common::jsonObjectValue(*obj, "error")) {
    add(common::jsonString(*inner, "code"));
    add(common::jsonString(*inner, "type"));
  }
  add(common::jsonString(*obj, "code"));
  return codes;
}

// The refresh token (or the account behind it) is dead: retrying cannot help, only a new login
// (README.md, "Credentials and login"). Refresh tokens are single-use, so a second holder of the
// same token (another replica, the Codex CLI on the same auth.json) gets one of the reuse codes.
bool isPermanentCode(const std::string& code) {
  static constexpr std::string_view kPermanentCodes[] = {
      "invalid_grant",        "invalid_refresh_token",     "refresh_token_expired",
      "refresh_token_reused", "refresh_token_invalidated", "token_expired",
      "token_revoked",        "account_deactivated"};
  return std::find(std::begin(kPermanentCodes), std::end(kPermanentCodes), code) != std::end(kPermanentCodes);
}

std::string formEncode(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out += '&';
    std::string encoded;
    // Reserve everything but unreserved characters (RFC 3986) so '+', '&', '=' and '/' survive.
    Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]", encoded);
    out += key;
    out += '=';
    out += encoded;
  }
  return out;
}

common::Result<OAuthTokens, OAuthFailure> postTokenRequest(HttpTransport& http, const std::string& url,
                                                           const std::string& content_type, const std::string& body) {
  auto reply = http.post(url, content_type, body);
  if (!reply.ok()) {
    OAuthFailure failure;
    failure.kind = FailureKind::Transient;
    failure.message = "token endpoint unreachable: " + reply.error();
    return failure;
  }
  if (reply->status < 200 || reply->status > 299) {
    return classifyTokenError(reply->status, reply->body, reply->retry_after);
  }
  return parseTokenResponse(reply.value());
}

}  // namespace

std::string joinIssuerUrl(const std::string& base, const std::string& path) {
  std::string out = base;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out + path;
}

OAuthFailure classifyTokenError(int status, const std::string& body, const std::string& retry_after) {
  OAuthFailure failure;
  failure.http_status = status;
  const std::vector<std::string> codes = errorCodesOf(body);
  // The code shown is the permanent one when any is (an OAuth "error":"invalid_request" beside a
  // "code":"refresh_token_reused" must not hide the reuse), else the most specific.
  auto permanent = std::find_if(codes.begin(), codes.end(), isPermanentCode);
  if (permanent != codes.end()) {
    failure.code = *permanent;
  } else if (!codes.empty()) {
    failure.code = codes.front();
  }
  failure.kind = (status == 401 || permanent != codes.end()) ? FailureKind::Permanent : FailureKind::Transient;
  if (status == 429 || status == 503)
    if (const auto seconds = common::parseRetryAfterSeconds(retry_after)) {
      failure.retry_after = std::chrono::seconds(*seconds);  // an HTTP-date: the back-off covers it
    }
  failure.message = "token endpoint returned HTTP " + std::to_string(status);
  if (!failure.code.empty()) failure.message += " (" + failure.code + ")";
  return failure;
}

common::Result<OAuthTokens, OAuthFailure> parseTokenResponse(const HttpReply& reply) {
  std::optional<common::JsonValue> obj = common::parseJsonObject(reply.body, kCredentialJsonOptions);
  auto str = [&](const char* key) { return obj ? common::jsonStringOr(*obj, key) : std::string(); };
  OAuthTokens tokens{str("access_token"), str("refresh_token"), str("id_token"), std::nullopt};
  if (tokens.access_token.empty()) {
    OAuthFailure failure;
    failure.http_status = reply.status;
    failure.message = "token endpoint returned HTTP " + std::to_string(reply.status) + " without an access_token";
    return failure;
  }
  tokens.expires_in_s = common::jsonInt(*obj, "expires_in");
  return tokens;
}

common::Result<OAuthTokens, OAuthFailure> refreshTokens(HttpTransport& http, const std::string& auth_base_url,
                                                        const std::string& refresh_token) {
  common::JsonWriter body;
  body.beginObject()
      .member("client_id", kCodexClientId)
      .member("grant_type", "refresh_token")
      .member("refresh_token", refresh_token)
      .endObject();
  return postTokenRequest(http, joinIssuerUrl(auth_base_url, "/oauth/token"), "application/json", body.take());
}

common::Result<OAuthTokens, OAuthFailure> exchangeAuthorizationCode(HttpTransport& http, const std::string& issuer,
                                                                    const std::string& code,
                                                                    const std::string& code_verifier) {
  std::string body = formEncode({{"grant_type", "authorization_code"},
                                 {"code", code},
                                 {"redirect_uri", joinIssuerUrl(issuer, "/deviceauth/callback")},
                                 {"client_id", kCodexClientId},
                                 {"code_verifier", code_verifier}});
  return postTokenRequest(http, joinIssuerUrl(issuer, "/oauth/token"), "application/x-www-form-urlencoded", body);
}

}  // namespace cosp::supervisor
