#include "supervisor/accounts/account_names.h"

namespace cosp::supervisor {

std::optional<std::string> accountNameProblem(const std::string& name) {
  if (name.empty() || name.size() > 32) return "account name must be 1 to 32 characters";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return "account name may only contain a-z, 0-9, '_' and '-'";
  }
  if (name == "paused" || name == "cooling") return "account name '" + name + "' is reserved";
  return std::nullopt;
}

bool validAccountName(const std::string& name) { return !accountNameProblem(name); }

std::string accountsDir(const std::string& state_dir) { return state_dir + "/accounts"; }

CredentialSettings accountCredentialSettings(const CredentialSettings& base, const std::string& name) {
  if (name == kDefaultAccount) return base;
  CredentialSettings s = base;
  s.refresh_token.clear();
  s.access_token.clear();
  s.id_token.clear();
  s.account_id.clear();
  s.expires_at_raw.reset();
  s.codex_auth_file.clear();
  s.state_dir = base.state_dir.empty() ? std::string() : accountsDir(base.state_dir);
  s.store_file = name + ".json";
  return s;
}

}  // namespace cosp::supervisor
