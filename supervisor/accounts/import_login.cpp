#include "supervisor/accounts/import_login.h"

#include "common/os/exit_codes.h"
#include "supervisor/credentials/codex_auth_file.h"
#include "supervisor/credentials/credential_seed.h"
#include "supervisor/credentials/credential_store.h"

namespace cosp::supervisor {

int runImportLogin(const CredentialSettings& settings, const std::string& auth_file, Clock& clock, std::ostream& err) {
  if (settings.state_dir.empty()) {
    err << "codex-sub-proxy login: no state directory (set STATE_DIR)\n";
    return common::kExitConfig;
  }
  auto tokens = loadCodexAuthFile(auth_file);
  if (!tokens.ok()) {
    err << "codex-sub-proxy login: " << tokens.error() << "\n";
    return common::kExitConfig;
  }
  StoredCredentials creds;
  creds.refresh_token = tokens->refresh_token;
  creds.access_token = tokens->access_token;
  creds.id_token = tokens->id_token;
  creds.account_id = tokens->account_id;
  // As a device login does: record the configured seed's hash, so the imported file wins over a
  // stale seed at the next start (only `default` has a seed; the others have none).
  if (auto seed = loadCredentialSeed(settings); seed.ok()) creds.seed_hash = seed->creds.seed_hash;
  creds.last_refresh_s = clock.unixMillis() / 1000;
  deriveFields(creds, settings.account_id);
  CredentialStore store(settings.state_dir, settings.store_file);
  if (auto write_error = store.save(creds)) {
    err << "codex-sub-proxy login: " << *write_error << "\n";
    return common::kExitFailure;
  }
  err << "Imported; credentials saved to " << store.path() << "\n"
      << "The refresh token is single-use: the Codex CLI that wrote " << auth_file
      << " must log in again (codex login) before it is used, and the same login must never be given to two "
         "proxies or to the Codex CLI at the same time.\n";
  return common::kExitOk;
}

}  // namespace cosp::supervisor
