#pragma once

#include <array>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace cosp::common {

// What the supervisor's credential manager can say about the upstream credentials; sent to
// every worker with the token (WorkerCredentials::state), shown by `ctl status`, logged, and
// exported as the credential_state metric.
enum class CredentialState {
  Ok,              // a token is held, nothing in progress
  Refreshing,      // a refresh is in flight; the current token (if any) is still served
  RefreshFailing,  // transient refresh failures; retrying while the current token keeps serving
  NeedsLogin,      // the refresh token is dead: no token is handed out until a new login
  NoCredentials,   // nothing configured or stored
};

inline constexpr std::array<CredentialState, 5> kAllCredentialStates = {
    CredentialState::Ok, CredentialState::Refreshing, CredentialState::RefreshFailing, CredentialState::NeedsLogin,
    CredentialState::NoCredentials};

// The name on the wire, in JSON and in logs: "ok", "refreshing", "refresh_failing",
// "needs_login", "no_credentials".
std::string_view credentialStateName(CredentialState state);
// The inverse; nullopt for a name this build does not know.
std::optional<CredentialState> parseCredentialState(std::string_view name);

// For test failure messages: the name.
std::ostream& operator<<(std::ostream& out, CredentialState state);

}  // namespace cosp::common
