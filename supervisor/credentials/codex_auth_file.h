#pragma once

#include <string>

#include "common/util/result.h"

namespace cosp::supervisor {

// Tokens of a Codex CLI auth.json ({"tokens":{"id_token","access_token","refresh_token",
// "account_id"}, ...}; other members such as OPENAI_API_KEY and last_refresh are ignored).
struct CodexAuthTokens {
  std::string id_token;
  std::string access_token;
  std::string refresh_token;
  std::string account_id;
};

// Reads CODEX_AUTH_FILE. Errors (unreadable, not JSON, no tokens.refresh_token) are operator
// errors: the message names the file and the problem, never a token.
common::Result<CodexAuthTokens, std::string> loadCodexAuthFile(const std::string& path);

}  // namespace cosp::supervisor
