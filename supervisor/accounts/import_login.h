#pragma once

#include <ostream>
#include <string>

#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

// `codex-sub-proxy login --account NAME --import FILE`: takes over the login of a Codex CLI
// auth.json as the credentials of the account whose settings are `settings`
// (accountCredentialSettings), written with the §7 rules (0600, atomic). The refresh token is
// single-use: the first refresh by either holder kills the other's copy, so the message on `err`
// tells the operator that the Codex CLI on FILE must log in again. Never prints a token.
// Returns the exit code: 0 ok, 1 write failure, 78 unreadable/invalid file or no state dir.
int runImportLogin(const CredentialSettings& settings, const std::string& auth_file, Clock& clock, std::ostream& err);

}  // namespace cosp::supervisor
