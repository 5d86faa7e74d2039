#include "common/codex/fingerprint.h"

#include <sys/utsname.h>

#include <cctype>

#include "common/version.h"

namespace cosp::common {

namespace {

// uname strings are the kernel's, but a header value must not carry control bytes, and the
// User-Agent's own punctuation (parentheses, ';') would make it ambiguous.
std::string headerSafe(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '(' || c == ')' || c == ';') continue;
    out += c;
  }
  return out.empty() ? std::string("unknown") : out;
}

bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

const HostDescription& thisHost() {
  static const HostDescription host = [] {
    HostDescription h;
    struct utsname u {};
    if (uname(&u) == 0) {
      h.os = headerSafe(u.sysname);
      h.os_version = headerSafe(u.release);
      h.arch = headerSafe(u.machine);
    } else {
      h.os = h.os_version = h.arch = "unknown";
    }
    return h;
  }();
  return host;
}

CodexFingerprint makeCodexFingerprint(std::string_view originator, std::string_view version,
                                      const HostDescription& host) {
  CodexFingerprint f;
  f.originator = std::string(originator);
  f.version = std::string(version);
  // The CLI's shape, `<originator>/<version> (<os> <os version>; <arch>) <terminal>`, with the proxy
  // named where the CLI names its terminal: honest about who is calling, still recognised as Codex.
  f.user_agent = f.originator + "/" + f.version + " (" + host.os + " " + host.os_version + "; " + host.arch + ") " +
                 kProductName + "/" + kVersion;
  return f;
}

CodexFingerprint codexFingerprint(std::string_view originator, std::string_view version) {
  return makeCodexFingerprint(originator, version, thisHost());
}

bool isCodexClientUserAgent(std::string_view user_agent) {
  return user_agent.rfind("codex_", 0) == 0 || user_agent.rfind("codex-", 0) == 0;
}

bool isCodexVersion(std::string_view version) {
  const std::size_t dash = version.find('-');
  const std::string_view core = version.substr(0, dash);
  if (dash != std::string_view::npos) {
    const std::string_view suffix = version.substr(dash + 1);
    if (suffix.empty()) return false;
    for (char c : suffix) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
    }
  }
  const std::size_t a = core.find('.');
  if (a == std::string_view::npos) return false;
  const std::size_t b = core.find('.', a + 1);
  if (b == std::string_view::npos) return false;
  return isDigits(core.substr(0, a)) && isDigits(core.substr(a + 1, b - a - 1)) && isDigits(core.substr(b + 1));
}

}  // namespace cosp::common
