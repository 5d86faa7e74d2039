#include "common/config/config.h"

#include <arpa/inet.h>

#include "common/codex/fingerprint.h"

namespace cosp::common {

std::string Config::codexClientVersion() const {
  return codex_client_version.empty() ? std::string(kCheckedCodexVersion) : codex_client_version;
}

std::string Config::codexUsageUrl() const {
  return codex_usage_url.empty() ? defaultCodexUsageUrl(codex_base_url) : codex_usage_url;
}

std::string defaultCodexUsageUrl(std::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  const std::size_t scheme = base_url.find("://");
  const std::size_t path = base_url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (path == std::string_view::npos) return std::string(base_url) + "/wham/usage";
  return std::string(base_url.substr(0, base_url.rfind('/'))) + "/wham/usage";
}

std::string Config::listenAddress() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool isLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "ip6-localhost") return true;
  in_addr addr{};
  if (::inet_pton(AF_INET, host.c_str(), &addr) == 1) {
    return (ntohl(addr.s_addr) >> 24) == 127;  // 127.0.0.0/8
  }
  return false;
}

}  // namespace cosp::common
