#include "common/net/url.h"

#include <algorithm>
#include <cctype>

#include "common/util/strings.h"

namespace cosp::common {

namespace {

bool isHostChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '.' || c == '_';
}

Result<std::uint16_t, std::string> parsePort(std::string_view port_text) {
  unsigned long value = 0;
  if (port_text.size() > 5) return std::string("URL port out of range");
  for (char c : port_text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return "invalid URL port '" + std::string(port_text) + "'";
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (value == 0 || value > 65535) return std::string("URL port out of range");
  return static_cast<std::uint16_t>(value);
}

}  // namespace

// Built with append() rather than "literal" + std::string: GCC 12 at -O3 reports a false
// -Werror=restrict inside that operator+ (GCC bug 105651), which breaks the Release build.
namespace {
std::string bracketedHost(const Url& url) {
  if (!url.isIpv6Literal()) return url.host;
  std::string out;
  out.reserve(url.host.size() + 2);
  out.append(1, '[').append(url.host).append(1, ']');
  return out;
}
}  // namespace

std::string Url::authority() const {
  std::string out = bracketedHost(*this);
  if (!hasDefaultPort()) out.append(1, ':').append(std::to_string(port));
  return out;
}

std::string Url::hostPort() const {
  std::string out = bracketedHost(*this);
  out.append(1, ':').append(std::to_string(port));
  return out;
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::string Url::toString() const { return origin() + path; }

Result<Url, std::string> parseUrl(std::string_view text) {
  // Surrounding whitespace is a common copy/paste accident in env files; anything
  // inside is an error.
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::string("empty URL");

  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::string("URL must start with http:// or https://");
  Url url;
  url.scheme = toLower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return "unsupported URL scheme '" + url.scheme + "' (only http and https)";
  }
  std::string_view rest = text.substr(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);

  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) return std::string("credentials in the URL are not supported");
  if (authority.empty()) return std::string("URL has no host");

  std::string_view host;
  std::string_view port_text;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::string("unterminated IPv6 literal in URL");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("unexpected characters after IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty()) return std::string("empty port in URL");
    }
    if (host.empty()) return std::string("URL has no host");
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return std::string("invalid IPv6 literal in URL");
      }
    }
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::string("empty port in URL");
    }
    if (host.empty()) return std::string("URL has no host");
    for (char c : host) {
      if (!isHostChar(c)) return "invalid character in URL host '" + std::string(host) + "'";
    }
  }
  url.host = toLower(host);

  if (!port_text.empty()) {
    auto port = parsePort(port_text);
    if (!port) return port.error();
    url.port = port.value();
  } else {
    url.port = url.isHttps() ? 443 : 80;
  }

  if (!path.empty() && path.front() == '?') {
    url.path.assign(1, '/').append(path);  // "http://h?x" means "/?x" (append: see bracketedHost)
  } else {
    url.path = std::string(path);
  }
  for (char c : url.path) {
    // A request target is written verbatim on the wire: refuse anything that
    // could break the request line (spaces, controls).
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::string("invalid character in URL path");
  }
  return url;
}

std::string joinUrlPath(std::string_view base_path, std::string_view suffix) {
  while (!base_path.empty() && base_path.back() == '/') base_path.remove_suffix(1);
  std::string out(base_path);
  if (suffix.empty()) return out.empty() ? std::string("/") : out;
  if (suffix.front() != '/' && suffix.front() != '?') out += '/';
  out += suffix;
  return out;
}

}  // namespace cosp::common
