#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net/url.h"
#include "common/util/result.h"

namespace cosp::common {

// The outbound HTTP proxy to use for one target.
struct ProxyEndpoint {
  std::string host;  // lower-case; IPv6 without brackets
  std::uint16_t port = 0;
  std::string username;  // percent-decoded; empty = no credentials
  std::string password;

  bool hasCredentials() const { return !username.empty() || !password.empty(); }
  // host:port (brackets around IPv6) — what we connect to.
  std::string hostPort() const;
  // "Basic <base64(user:pass)>" for Proxy-Authorization; "" without credentials.
  // The result is a secret: never log it.
  std::string basicAuthorization() const;
};

// HTTPS_PROXY + NO_PROXY, parsed once at start-up and then queried per target.
// Pure: no DNS (a host name never matches an IP entry and vice versa).
//
// HTTPS_PROXY: "http://[user:pass@]host[:port][/]" or "host:port" (http assumed).
//   The port defaults to 80 when the scheme is given without one. "https://"
//   proxies (TLS to the proxy itself) and socks are refused with an error.
//   The one proxy is used for https AND http targets: token refresh and model calls
//   take one route (docs/ARCHITECTURE.md §5); http only occurs against test fakes.
// NO_PROXY: comma/space separated entries, case-insensitive:
//   "*"                       -> no target uses the proxy;
//   "example.com", ".example.com", "*.example.com"
//                             -> example.com and every subdomain (curl and Go agree);
//   "host:port"               -> that host only on that port;
//   "10.1.2.3", "::1", "[::1]:8443", "10.0.0.0/8", "fd00::/8"
//                             -> IP literal targets equal to / inside the entry.
//   Unlike Go, loopback targets are NOT bypassed implicitly (curl's behaviour):
//   tests route 127.0.0.1 through a local proxy on purpose.
class ProxyRules {
 public:
  ProxyRules() = default;  // no proxy at all

  // Errors name the variable ("HTTPS_PROXY: ...") so config loading can exit 78.
  static Result<ProxyRules, std::string> parse(std::string_view https_proxy, std::string_view no_proxy);

  bool hasProxy() const { return proxy_.has_value(); }
  // The proxy for this target, or nullopt for a direct connection.
  std::optional<ProxyEndpoint> proxyFor(std::string_view host, std::uint16_t port) const;
  std::optional<ProxyEndpoint> proxyFor(const Url& url) const { return proxyFor(url.host, url.port); }
  // True when NO_PROXY exempts this target (independent of whether a proxy is set).
  bool bypasses(std::string_view host, std::uint16_t port) const;

 private:
  struct Entry {
    enum class Kind { Any, Domain, Ip } kind = Kind::Domain;
    std::string domain;                 // Kind::Domain, without leading dots
    std::array<std::uint8_t, 16> ip{};  // Kind::Ip (IPv4 stored as v4-mapped)
    int prefix_bits = 128;              // Kind::Ip
    std::uint16_t port = 0;             // 0 = any port
  };
  static Result<Entry, std::string> parseEntry(std::string_view text);

  std::optional<ProxyEndpoint> proxy_;
  std::vector<Entry> no_proxy_;
};

// Standard base64 (with padding) of arbitrary bytes. Exposed for tests.
std::string base64Encode(std::string_view bytes);

}  // namespace cosp::common
