#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.h"

namespace cosp::common {

// An absolute http(s) URL split into the parts a hand-written HTTP/1.1 client
// needs. Pure: no DNS, no sockets.
struct Url {
  std::string scheme;      // "http" or "https", lower-case
  std::string host;        // lower-case; an IPv6 literal is stored WITHOUT brackets
  std::uint16_t port = 0;  // the explicit port, else the scheme's default (80/443)
  std::string path;        // "" or starting with '/'; includes "?query" when present; never a fragment

  bool isHttps() const { return scheme == "https"; }
  bool isIpv6Literal() const { return host.find(':') != std::string::npos; }
  bool hasDefaultPort() const { return port == (isHttps() ? 443 : 80); }
  // host[:port] for a Host header: brackets around IPv6, port omitted when default.
  std::string authority() const;
  // host:port always (CONNECT request target, pool keys).
  std::string hostPort() const;
  // scheme://authority
  std::string origin() const;
  // origin + path
  std::string toString() const;
};

// Parses "scheme://host[:port][/path][?query][#fragment]". Only http and https are
// accepted; userinfo is refused (credentials do not belong in a base URL). The
// fragment is dropped. Errors are short human-readable messages.
Result<Url, std::string> parseUrl(std::string_view text);

// Joins a base path ("/backend-api/codex", "" or "/") and a suffix ("/responses")
// with exactly one '/' between them. A query on the base is not supported (it
// would end up in the middle); the caller passes paths only.
std::string joinUrlPath(std::string_view base_path, std::string_view suffix);

}  // namespace cosp::common
