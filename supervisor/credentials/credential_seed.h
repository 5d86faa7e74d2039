#pragma once

#include <cstdint>
#include <string>

#include "common/util/result.h"
#include "supervisor/credentials/credential_types.h"
#include "supervisor/credentials/oauth_client.h"

namespace cosp::supervisor {

// The credentials the operator configured (OPENAI_* environment or CODEX_AUTH_FILE), before
// the state file is consulted. creds.seed_hash is the hash of creds.refresh_token (empty when
// there is none).
struct CredentialSeed {
  StoredCredentials creds;
  std::string source;   // "environment", "codex_auth_file" or "" (nothing configured)
  std::string warning;  // operator-visible note (e.g. two sources configured); may be empty
};

// CODEX_AUTH_FILE, when set, wins over OPENAI_REFRESH_TOKEN (it is the more specific request).
// Errors: an unreadable / malformed CODEX_AUTH_FILE (exit 78 material).
common::Result<CredentialSeed, std::string> loadCredentialSeed(const CredentialSettings& settings);

// Fills what can be derived from the tokens: expiry from the access token's JWT exp when
// unknown, and the account id (override > id token claim > access token claim > as stored).
void deriveFields(StoredCredentials& creds, const std::string& account_override);

// The lineage after a successful token response received at now_ms: new access token, the
// rotated refresh token (the old one when the server did not rotate), expiry from expires_in
// else the JWT exp, account id re-derived, last_refresh = now. seed_hash is kept.
StoredCredentials applyTokens(const StoredCredentials& old, const OAuthTokens& tokens, int64_t now_ms,
                              const std::string& account_override);

}  // namespace cosp::supervisor
