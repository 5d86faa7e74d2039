#include "supervisor/credentials/credential_seed.h"

#include "supervisor/credentials/codex_auth_file.h"
#include "supervisor/credentials/credential_store.h"
#include "supervisor/credentials/jwt.h"

namespace cosp::supervisor {

common::Result<CredentialSeed, std::string> loadCredentialSeed(const CredentialSettings& settings) {
  CredentialSeed seed;
  if (!settings.codex_auth_file.empty()) {
    auto file = loadCodexAuthFile(settings.codex_auth_file);
    if (!file.ok()) return file.error();
    seed.creds.refresh_token = file->refresh_token;
    seed.creds.access_token = file->access_token;
    seed.creds.id_token = file->id_token;
    seed.creds.account_id = file->account_id;
    seed.source = "codex_auth_file";
    if (!settings.refresh_token.empty()) {
      seed.warning = "both CODEX_AUTH_FILE and OPENAI_REFRESH_TOKEN are set; using CODEX_AUTH_FILE";
    }
  } else if (!settings.refresh_token.empty() || !settings.access_token.empty()) {
    seed.creds.refresh_token = settings.refresh_token;
    seed.creds.access_token = settings.access_token;
    seed.creds.id_token = settings.id_token;
    if (settings.expires_at_raw) seed.creds.expires_at_ms = normalizeExpiresAtMs(*settings.expires_at_raw);
    seed.source = "environment";
  }
  if (!seed.creds.refresh_token.empty()) seed.creds.seed_hash = sha256Hex(seed.creds.refresh_token);
  deriveFields(seed.creds, settings.account_id);
  return seed;
}

void deriveFields(StoredCredentials& creds, const std::string& account_override) {
  if (creds.expires_at_ms == 0 && !creds.access_token.empty()) {
    auto claims = parseJwtClaims(creds.access_token);
    if (claims && claims->exp) creds.expires_at_ms = normalizeExpiresAtMs(*claims->exp);
  }
  if (!account_override.empty()) {
    creds.account_id = account_override;
  } else if (std::string from_jwt = accountIdFromTokens(creds.id_token, creds.access_token); !from_jwt.empty()) {
    creds.account_id = std::move(from_jwt);
  }
}

StoredCredentials applyTokens(const StoredCredentials& old, const OAuthTokens& tokens, int64_t now_ms,
                              const std::string& account_override) {
  StoredCredentials next = old;
  next.access_token = tokens.access_token;
  if (!tokens.refresh_token.empty()) next.refresh_token = tokens.refresh_token;
  if (!tokens.id_token.empty()) next.id_token = tokens.id_token;
  next.expires_at_ms = 0;
  if (tokens.expires_in_s && *tokens.expires_in_s > 0) next.expires_at_ms = now_ms + *tokens.expires_in_s * 1000;
  next.last_refresh_s = now_ms / 1000;
  deriveFields(next, account_override);
  return next;
}

}  // namespace cosp::supervisor
