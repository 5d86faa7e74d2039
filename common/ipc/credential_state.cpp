#include "common/ipc/credential_state.h"

#include <ostream>

namespace cosp::common {

std::string_view credentialStateName(CredentialState state) {
  switch (state) {
    case CredentialState::Ok:
      return "ok";
    case CredentialState::Refreshing:
      return "refreshing";
    case CredentialState::RefreshFailing:
      return "refresh_failing";
    case CredentialState::NeedsLogin:
      return "needs_login";
    case CredentialState::NoCredentials:
      return "no_credentials";
  }
  return "no_credentials";  // not reached: every enumerator is handled above
}

std::optional<CredentialState> parseCredentialState(std::string_view name) {
  for (CredentialState state : kAllCredentialStates) {
    if (credentialStateName(state) == name) return state;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, CredentialState state) { return out << credentialStateName(state); }

}  // namespace cosp::common
