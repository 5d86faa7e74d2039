#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cosp::common {

enum class LogLevel { Debug, Info, Warn, Error };
enum class LogFormat { Json, Text };

// The validated configuration of one generation. Built by loadConfig() in the supervisor, sent
// whole to each worker over its channel (config_codec), so a worker never parses options itself
// and a HUP reload hands new workers exactly what the supervisor validated.
struct Config {
  // Listener and callers
  std::string host = "0.0.0.0";
  uint16_t port = 3000;
  std::vector<std::string> api_keys;
  bool allow_unauthenticated = false;
  // API_KEYS_FILE: named caller keys with limits (SPEC §10); empty = none. The supervisor reads it
  // and sends workers the digests, never the file.
  std::string api_keys_file;
  // FORWARD_QUOTA_HEADERS: pass the backend's x-codex-* quota headers to callers (a key's own
  // forward_quota_headers wins).
  bool forward_quota_headers = true;

  // Credential seeds (supervisor only; stripped before the config goes to workers)
  std::string refresh_token;
  std::string access_token;
  std::optional<int64_t> expires_at_ms;
  std::string account_id;
  std::string auth_base_url = "https://auth.openai.com";
  std::string codex_auth_file;
  std::chrono::seconds refresh_margin{300};
  // How long a model call waits for a refresh in flight when no usable access token is held.
  std::chrono::milliseconds credentials_wait{15000};

  // Upstream
  std::string codex_base_url = "https://chatgpt.com/backend-api/codex";
  std::string codex_responses_path = "/responses";
  // CODEX_USAGE_URL: the backend's quota endpoint; empty = derived from codex_base_url
  // (codexUsageUrl()).
  std::string codex_usage_url;
  // CODEX_MODELS: a fixed list that wins over the catalog; empty = unset, the served models are
  // the backend's catalog (README.md, Model catalog).
  std::vector<std::string> models;
  std::chrono::milliseconds upstream_connect_timeout{10000};
  std::chrono::milliseconds upstream_idle_timeout{300000};
  std::string https_proxy;
  std::string no_proxy;
  std::string upstream_ca_file;
  std::string originator = "codex_cli_rs";
  std::string codex_client_version;  // empty = kCheckedCodexVersion (common/codex/fingerprint.h)
  bool strict_params = false;
  std::vector<std::string> dropped_params;  // empty = the built-in list
  std::string reasoning_compat = "none";    // none | reasoning_content | think-tags

  // Processes
  std::string state_dir;
  std::string control_socket;
  int workers = 1;
  int worker_threads = 1024;
  uint64_t max_body_bytes = 16ull * 1024 * 1024;
  std::chrono::milliseconds shutdown_grace{30000};

  // Client connections (SECURITY.md says what each of these protects against)
  std::chrono::milliseconds request_head_timeout{10000};  // whole request line + headers
  std::chrono::milliseconds keep_alive_timeout{5000};     // idle between requests
  std::chrono::milliseconds request_body_timeout{20000};  // body: this, plus 1 s per body_min_rate bytes
  uint64_t request_body_min_rate = 16 * 1024;             // bytes per second
  uint64_t max_header_bytes = 64 * 1024;                  // request line + headers
  int max_connections = 4096;                             // per worker, idle and pre-head included
  int max_connections_per_client = 0;                     // per worker and peer address; 0 = no cap
  std::chrono::milliseconds send_timeout{60000};          // to write one piece to a client that stops reading
  std::chrono::milliseconds request_timeout{900000};      // a whole non-streaming model call
  uint64_t max_event_bytes = 16ull * 1024 * 1024;         // one upstream SSE line or event

  // Several accounts (SPEC §9): sticky (the session id decides the account) | round-robin.
  std::string account_strategy = "sticky";

  // Logging
  LogLevel log_level = LogLevel::Info;
  LogFormat log_format = LogFormat::Json;

  std::string config_file;  // where the INI values came from, if any

  std::string listenAddress() const;
  // The Codex version presented upstream: CODEX_CLIENT_VERSION, else kCheckedCodexVersion.
  std::string codexClientVersion() const;
  // CODEX_USAGE_URL, or defaultCodexUsageUrl(codex_base_url) when unset.
  std::string codexUsageUrl() const;
};

bool isLoopbackHost(const std::string& host);

// The quota endpoint beside a Codex base URL (README.md, Configuration: CODEX_USAGE_URL): its last
// path segment replaced by `wham/usage` (`…/backend-api/codex` -> `…/backend-api/wham/usage`), or
// `{base}/wham/usage` when the URL has no path.
std::string defaultCodexUsageUrl(std::string_view base_url);

}  // namespace cosp::common
