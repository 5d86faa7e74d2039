#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cosp::supervisor {

// The claims this project reads from OpenAI's OAuth JWTs. Signatures are NOT verified: the
// tokens come straight from the issuer over TLS (or from the operator), and the claims are
// only used for scheduling (exp) and for the ChatGPT-Account-ID header; the backend is the
// party that validates the token.
struct JwtClaims {
  std::optional<int64_t> exp;                     // unix seconds
  std::optional<std::string> chatgpt_account_id;  // "https://api.openai.com/auth".chatgpt_account_id
};

// RFC 4648 §5 base64url, padding optional. nullopt on an invalid character or length.
std::optional<std::string> base64UrlDecode(std::string_view in);

// Decodes the payload (second segment) of a compact JWT. nullopt when the token is not a JWT
// or the payload is not a JSON object. Never throws.
std::optional<JwtClaims> parseJwtClaims(std::string_view token);

// Account id from the id token's claim, else the access token's claim; empty when neither has it.
std::string accountIdFromTokens(std::string_view id_token, std::string_view access_token);

// OPENAI_EXPIRES_AT and stored expiries may be unix seconds or milliseconds: values above
// 9,999,999,999 (year 2286 in seconds) are milliseconds. Returns milliseconds; 0 stays 0.
int64_t normalizeExpiresAtMs(int64_t raw);

}  // namespace cosp::supervisor
