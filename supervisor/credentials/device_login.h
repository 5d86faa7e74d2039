#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>

#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_types.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

struct DeviceLoginHooks {
  Clock* clock = nullptr;                    // null: RealClock (tests inject a fake: no real waiting)
  std::shared_ptr<HttpTransport> transport;  // null: POCO transport from the settings (proxy, CA)
  std::chrono::seconds deadline{15 * 60};    // how long the user has to approve the code
};

// `codex-sub-proxy login`: the ChatGPT device-code flow against settings.auth_base_url.
//   1. POST {issuer}/api/accounts/deviceauth/usercode {client_id}
//      -> {device_auth_id, user_code|usercode, interval (string or number)}
//   2. prints the verification URL ({issuer}/codex/device) and the user code on `err`
//   3. polls POST {issuer}/api/accounts/deviceauth/token {device_auth_id, user_code} every
//      `interval` seconds; 403/404 mean "not approved yet" (network errors, 429 and 5xx are
//      retried too) until the deadline -> {authorization_code, code_verifier, ...}
//   4. exchanges the code at {issuer}/oauth/token (form: grant_type=authorization_code, code,
//      redirect_uri={issuer}/deviceauth/callback, client_id, code_verifier)
//   5. print_json: writes {"refresh_token","access_token","expires_at"(unix s)} to `out`;
//      otherwise writes STATE_DIR/credentials.json (0600, atomic) which a running supervisor
//      picks up on its own (needs_login / no_credentials) or on `ctl refresh`.
// Tokens only ever go to `out` (with print_json) or the file, never to `err`.
// Returns the process exit code: 0 ok, 1 failure, 78 configuration error (no state dir, bad
// issuer URL or proxy settings).
int runDeviceLogin(const CredentialSettings& settings, bool print_json, std::ostream& err, std::ostream& out,
                   const DeviceLoginHooks& hooks = {});

}  // namespace cosp::supervisor
