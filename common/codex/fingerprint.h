#pragma once

#include <string>
#include <string_view>

namespace cosp::common {

// The Codex CLI release this project was last checked against: what the backend accepted from a
// client presenting this version, and what the fake backend of the tests is modelled on. Raise it
// (and re-run scripts/smoke-test) when a newer model needs a newer Codex; CODEX_CLIENT_VERSION
// overrides it without a rebuild (README.md, The client fingerprint).
inline constexpr std::string_view kCheckedCodexVersion = "0.169.0";

// The headers the Codex CLI identifies itself with. The backend gates newer models by the version
// it reads from them ("The 'gpt-5.5' model requires a newer version of Codex") and gives unknown
// clients worse priority, so every request the proxy makes upstream (inference, token refresh,
// model catalog) presents the same fingerprint.
struct CodexFingerprint {
  std::string originator;  // `originator` header, e.g. codex_cli_rs
  std::string version;     // `version` header, e.g. 0.169.0
  std::string user_agent;  // codex_cli_rs/0.169.0 (Linux 6.1.0; x86_64) codex-sub-proxy/0.2.0
};

// The host's facts for the User-Agent, as the CLI puts them: OS name and release, machine.
struct HostDescription {
  std::string os;
  std::string os_version;
  std::string arch;
};

// uname(2) of this host (sanitised for a header value); read once per process.
const HostDescription& thisHost();

// Pure: the fingerprint for `originator` and `version` on `host`.
CodexFingerprint makeCodexFingerprint(std::string_view originator, std::string_view version,
                                      const HostDescription& host);

// The fingerprint of this process (thisHost()).
CodexFingerprint codexFingerprint(std::string_view originator, std::string_view version);

// True when a caller's User-Agent says it is itself a Codex client (codex_cli_rs/…, codex_exec/…,
// codex-tui/…): its own fingerprint is forwarded, because its body shape belongs to its version.
bool isCodexClientUserAgent(std::string_view user_agent);

// "0.169.0", "1.2.3-alpha.4": digits.digits.digits, optionally a -suffix of [0-9A-Za-z.-].
bool isCodexVersion(std::string_view version);

}  // namespace cosp::common
