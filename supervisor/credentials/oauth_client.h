#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/util/result.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// Tokens as the OAuth token endpoint returns them.
struct OAuthTokens {
  std::string access_token;
  std::string refresh_token;  // empty when the server did not rotate it (keep the old one)
  std::string id_token;
  std::optional<int64_t> expires_in_s;
};

enum class FailureKind {
  Transient,  // network, 5xx, 429, unexpected answers: retry with backoff
  Permanent,  // the refresh token is dead (401, invalid_grant, refresh_token_*, …): log in again
};

struct OAuthFailure {
  FailureKind kind = FailureKind::Transient;
  int http_status = 0;  // 0 = no HTTP answer (network)
  std::string code;     // OAuth / OpenAI error code when the body named one (sanitised)
  std::string message;  // for status and logs; never contains a token or the server's prose
  std::optional<std::chrono::milliseconds> retry_after;  // from a 429/503 Retry-After
};

// Base URL without trailing slashes + path.
std::string joinIssuerUrl(const std::string& base, const std::string& path);

// Classifies a non-2xx answer of the token endpoint. Permanent: HTTP 401 (any body), or any
// status whose body names invalid_grant, invalid_refresh_token, refresh_token_expired,
// refresh_token_reused, refresh_token_invalidated, token_expired, token_revoked or
// account_deactivated in any of the shapes seen in the wild ({"error":"…"},
// {"error":{"code":…}} or its "type", {"code":…}). Everything else (5xx, 429, 403 from a CDN, …)
// is transient.
OAuthFailure classifyTokenError(int status, const std::string& body, const std::string& retry_after);

// Parses a 2xx token response; a missing access_token is a (transient) failure.
common::Result<OAuthTokens, OAuthFailure> parseTokenResponse(const HttpReply& reply);

// POST {base}/oauth/token with the JSON refresh_token grant.
common::Result<OAuthTokens, OAuthFailure> refreshTokens(HttpTransport& http, const std::string& auth_base_url,
                                                        const std::string& refresh_token);

// POST {issuer}/oauth/token with the form-encoded authorization_code grant of the device flow.
common::Result<OAuthTokens, OAuthFailure> exchangeAuthorizationCode(HttpTransport& http, const std::string& issuer,
                                                                    const std::string& code,
                                                                    const std::string& code_verifier);

}  // namespace cosp::supervisor
