#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/codex/fingerprint.h"
#include "common/ipc/messages.h"
#include "common/json/json_parser.h"

namespace cosp::supervisor {

// Token endpoint answers, JWT payloads and credential files are small, nearly flat documents:
// deeper nesting than this (a hostile or broken server) is refused as malformed.
inline constexpr common::JsonParseOptions kCredentialJsonOptions{.max_depth = 32};

// The OAuth client id of the Codex CLI, which the ChatGPT token endpoint expects.
inline constexpr const char* kCodexClientId = "app_EMoamEEZ73f0CkXaXp7hrann";

// Operator input for the credential subsystem (from env / flags / config file; see README.md, Configuration).
struct CredentialSettings {
  std::string refresh_token;                              // OPENAI_REFRESH_TOKEN (seed)
  std::string access_token;                               // OPENAI_ACCESS_TOKEN
  std::string id_token;                                   // not an env option today; kept for completeness
  std::string account_id;                                 // OPENAI_CHATGPT_ACCOUNT_ID: overrides the JWT claim when set
  std::optional<int64_t> expires_at_raw;                  // OPENAI_EXPIRES_AT as given (seconds or milliseconds)
  std::string auth_base_url = "https://auth.openai.com";  // OPENAI_AUTH_BASE_URL
  std::string state_dir;                                  // STATE_DIR; empty = no credentials.json (memory only)
  std::string codex_auth_file;                            // CODEX_AUTH_FILE; empty = none
  // The credential file inside state_dir: credentials.json for the account `default`;
  // <name>.json (state_dir = STATE_DIR/accounts) for the others.
  std::string store_file = "credentials.json";
  std::chrono::seconds refresh_margin{300};  // REFRESH_MARGIN
  std::string https_proxy, no_proxy, ca_file;
  // The client fingerprint every call to the token and device endpoints presents, as the Codex
  // CLI's own login does (common/codex/fingerprint.h); empty = none, a bare product User-Agent.
  common::CodexFingerprint fingerprint;

  // Tuning knobs with production defaults; tests shrink them.
  std::chrono::milliseconds backoff_base{1000};       // first retry after a transient failure
  std::chrono::milliseconds backoff_cap{60000};       // retries never wait longer than this
  std::chrono::milliseconds retry_after_cap{600000};  // a server's Retry-After is honoured up to this
  std::chrono::milliseconds http_connect_timeout{10000};
  std::chrono::milliseconds http_timeout{30000};  // per send/receive on the token endpoint
  // A 401 for a token younger than this does not trigger another refresh right away (a backend
  // that rejects every fresh token must not turn workers' 401s into a refresh storm).
  std::chrono::milliseconds min_reactive_interval{10000};
  // A worker whose calls wait for a token (none usable: expired, or not refreshed yet) starts a
  // refresh at once unless one is in flight or the last attempt began less than this long ago;
  // then the refresh starts when this much has passed, even inside a transient back-off (the
  // back-off only spaces retries while the current token still serves).
  std::chrono::milliseconds min_demand_interval{1000};
  // While there is nothing usable (needs_login / no_credentials), how often credentials.json is
  // checked for a login written by `codex-sub-proxy login` from another process.
  std::chrono::milliseconds store_poll_interval{5000};
};

// What the supervisor pushes to every worker (never the refresh token) is the channel's own
// message type, common::WorkerCredentials (common/ipc/messages.h).
using common::CredentialState;
using common::WorkerCredentials;

// One credential lineage as it lives in memory and in STATE_DIR/credentials.json.
struct StoredCredentials {
  static constexpr int kVersion = 1;
  int version = kVersion;
  std::string refresh_token;
  std::string access_token;
  std::string id_token;
  std::string account_id;
  int64_t expires_at_ms = 0;   // unix ms; 0 = unknown (written to disk as unix seconds)
  int64_t last_refresh_s = 0;  // unix seconds of the last successful refresh/login; 0 = never
  // SHA-256 (hex) of the configured seed refresh token (env or CODEX_AUTH_FILE) this file
  // descends from. A different seed at start-up means the operator logged in again.
  std::string seed_hash;

  bool operator==(const StoredCredentials&) const = default;
};

}  // namespace cosp::supervisor
