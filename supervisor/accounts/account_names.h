#pragma once

#include <optional>
#include <string>

#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

// The account every single-account deployment already has: its chain is the environment seed /
// CODEX_AUTH_FILE / STATE_DIR/credentials.json, unchanged (SPEC §9).
inline constexpr const char* kDefaultAccount = "default";

// STATE_DIR/accounts holds <name>.json per imported or logged-in account, plus the supervisor's
// own state files, whose stems are therefore not account names.
inline constexpr const char* kPausedFile = "paused.json";
inline constexpr const char* kCoolingFile = "cooling.json";

// [a-z0-9_-]{1,32} and not one of the reserved stems (paused, cooling).
bool validAccountName(const std::string& name);
// Why `name` is refused, for a clear message; nullopt when it is valid.
std::optional<std::string> accountNameProblem(const std::string& name);

std::string accountsDir(const std::string& state_dir);

// The credential settings of account `name` derived from the configured ones: `default` is the
// configuration as is; any other account keeps issuer, proxy, CA, fingerprint and tuning but has
// no seed (its only source is STATE_DIR/accounts/<name>.json) and no account-id override.
CredentialSettings accountCredentialSettings(const CredentialSettings& base, const std::string& name);

}  // namespace cosp::supervisor
