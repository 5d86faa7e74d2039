#include "supervisor/credentials/codex_auth_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

common::Result<CodexAuthTokens, std::string> loadCodexAuthFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "CODEX_AUTH_FILE " + path + ": cannot open: " + std::strerror(errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return "CODEX_AUTH_FILE " + path + ": read error";
  std::optional<common::JsonValue> root = common::parseJsonObject(buf.str(), kCredentialJsonOptions);
  if (!root) return "CODEX_AUTH_FILE " + path + ": not a JSON object";
  const common::JsonValue* tokens = common::jsonObjectValue(*root, "tokens");
  if (tokens == nullptr) return "CODEX_AUTH_FILE " + path + ": no \"tokens\" object (not a ChatGPT login?)";
  auto str = [&](const char* key) { return common::jsonStringOr(*tokens, key); };
  CodexAuthTokens t{str("id_token"), str("access_token"), str("refresh_token"), str("account_id")};
  if (t.refresh_token.empty()) return "CODEX_AUTH_FILE " + path + ": tokens.refresh_token is missing";
  return t;
}

}  // namespace cosp::supervisor
