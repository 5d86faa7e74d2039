#include "supervisor/credentials/codex_auth_file.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cosp::supervisor {

common::Result<CodexAuthTokens, std::string> loadCodexAuthFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "CODEX_AUTH_FILE " + path + ": cannot open: " + std::strerror(errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return "CODEX_AUTH_FILE " + path + ": read error";
  try {
    Poco::JSON::Parser parser;
    parser.setDepth(16);
    Poco::JSON::Object::Ptr root = parser.parse(buf.str()).extract<Poco::JSON::Object::Ptr>();
    Poco::JSON::Object::Ptr tokens = root ? root->getObject("tokens") : nullptr;
    if (!tokens) return "CODEX_AUTH_FILE " + path + ": no \"tokens\" object (not a ChatGPT login?)";
    auto str = [&](const char* key) -> std::string {
      if (!tokens->has(key) || !tokens->get(key).isString()) return {};
      return tokens->getValue<std::string>(key);
    };
    CodexAuthTokens t{str("id_token"), str("access_token"), str("refresh_token"), str("account_id")};
    if (t.refresh_token.empty()) return "CODEX_AUTH_FILE " + path + ": tokens.refresh_token is missing";
    return t;
  } catch (const Poco::Exception& e) {
    return "CODEX_AUTH_FILE " + path + ": not valid JSON (" + e.className() + ")";
  }
}

}  // namespace cosp::supervisor
