#include "supervisor/credentials/codex_auth_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json/json_util.h"
#include "supervisor/credentials/json_object.h"

namespace cosp::supervisor {

common::Result<CodexAuthTokens, std::string> loadCodexAuthFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "CODEX_AUTH_FILE " + path + ": cannot open: " + std::strerror(errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return "CODEX_AUTH_FILE " + path + ": read error";
  Poco::JSON::Object::Ptr root = parseJsonObject(buf.str());
  if (!root) return "CODEX_AUTH_FILE " + path + ": not a JSON object";
  Poco::JSON::Object::Ptr tokens = common::pocoOptObject(*root, "tokens");
  if (!tokens) return "CODEX_AUTH_FILE " + path + ": no \"tokens\" object (not a ChatGPT login?)";
  auto str = [&](const char* key) { return common::pocoOptString(*tokens, key).value_or(std::string()); };
  CodexAuthTokens t{str("id_token"), str("access_token"), str("refresh_token"), str("account_id")};
  if (t.refresh_token.empty()) return "CODEX_AUTH_FILE " + path + ": tokens.refresh_token is missing";
  return t;
}

}  // namespace cosp::supervisor
