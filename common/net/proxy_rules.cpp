#include "common/net/proxy_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/util/http_syntax.h"
#include "common/util/strings.h"

namespace cosp::common {

namespace {

std::optional<std::string> percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hexDigitValue(s[i + 1]);
      const int lo = hexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::uint16_t> parsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned long v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// IPv4 addresses are compared as v4-mapped IPv6 so one matcher serves both.
std::optional<std::array<std::uint8_t, 16>> parseIp(std::string_view text, bool* is_v4 = nullptr) {
  std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    if (is_v4) *is_v4 = true;
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    if (is_v4) *is_v4 = false;
    return out;
  }
  return std::nullopt;
}

bool prefixMatch(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, int bits) {
  int full = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[static_cast<size_t>(full)] & mask) == (b[static_cast<size_t>(full)] & mask);
}

// The HTTPS_PROXY value, already trimmed and not empty: http://[user:pass@]host[:port].
Result<ProxyEndpoint, std::string> parseProxyEndpoint(std::string_view p) {
  ProxyEndpoint ep;
  std::uint16_t default_port = 0;
  if (const auto sep = p.find("://"); sep != std::string_view::npos) {
    const std::string scheme = toLower(p.substr(0, sep));
    if (scheme != "http") {
      return "HTTPS_PROXY: unsupported proxy scheme '" + scheme + "' (only http:// proxies)";
    }
    default_port = 80;
    p = p.substr(sep + 3);
  }
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  if (p.find('/') != std::string_view::npos || p.find('?') != std::string_view::npos) {
    return std::string("HTTPS_PROXY: a proxy URL takes no path");
  }
  if (const auto at = p.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = p.substr(0, at);
    p = p.substr(at + 1);
    const auto colon = userinfo.find(':');
    auto user = percentDecode(userinfo.substr(0, colon));
    auto pass = colon == std::string_view::npos ? std::optional<std::string>(std::string{})
                                                : percentDecode(userinfo.substr(colon + 1));
    if (!user || !pass) return std::string("HTTPS_PROXY: invalid percent-encoding in proxy credentials");
    ep.username = std::move(*user);
    ep.password = std::move(*pass);
  }
  std::string_view host;
  std::string_view port_text;
  if (!p.empty() && p.front() == '[') {
    const auto close = p.find(']');
    if (close == std::string_view::npos) return std::string("HTTPS_PROXY: unterminated IPv6 literal");
    host = p.substr(1, close - 1);
    const std::string_view rest = p.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::string("HTTPS_PROXY: invalid proxy address");
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = p.rfind(':');
    host = p.substr(0, colon);
    if (colon != std::string_view::npos) port_text = p.substr(colon + 1);
  }
  if (host.empty()) return std::string("HTTPS_PROXY: proxy URL has no host");
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '.' && c != '_' && c != ':') {
      return std::string("HTTPS_PROXY: invalid proxy host");
    }
  }
  ep.host = toLower(host);
  if (!port_text.empty()) {
    auto port = parsePort(port_text);
    if (!port) return std::string("HTTPS_PROXY: invalid proxy port");
    ep.port = *port;
  } else if (default_port != 0) {
    ep.port = default_port;
  } else {
    return std::string("HTTPS_PROXY: proxy port missing (use http://host:port)");
  }
  return ep;
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (const size_t left = bytes.size() - i; left > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += left == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string ProxyEndpoint::hostPort() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string ProxyEndpoint::basicAuthorization() const {
  if (!hasCredentials()) return {};
  return "Basic " + base64Encode(username + ":" + password);
}

Result<ProxyRules::Entry, std::string> ProxyRules::parseEntry(std::string_view text) {
  Entry e;
  std::string s = toLower(text);
  if (s == "*") {
    e.kind = Entry::Kind::Any;
    return e;
  }
  // [v6]:port or [v6]
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) return "NO_PROXY: unterminated IPv6 literal in '" + std::string(text) + "'";
    const std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      auto port = rest.front() == ':' ? parsePort(std::string_view(rest).substr(1)) : std::nullopt;
      if (!port) return "NO_PROXY: invalid port in '" + std::string(text) + "'";
      e.port = *port;
    }
    s = s.substr(1, close - 1);
  }
  // CIDR
  if (const auto slash = s.find('/'); slash != std::string::npos) {
    bool v4 = false;
    auto ip = parseIp(std::string_view(s).substr(0, slash), &v4);
    if (!ip) return "NO_PROXY: invalid CIDR '" + std::string(text) + "'";
    const std::string_view bits_text = std::string_view(s).substr(slash + 1);
    int bits = 0;
    if (bits_text.empty() || bits_text.size() > 3) return "NO_PROXY: invalid CIDR '" + std::string(text) + "'";
    for (char c : bits_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return "NO_PROXY: invalid CIDR '" + std::string(text) + "'";
      bits = bits * 10 + (c - '0');
    }
    if (bits > (v4 ? 32 : 128)) return "NO_PROXY: invalid CIDR '" + std::string(text) + "'";
    e.kind = Entry::Kind::Ip;
    e.ip = *ip;
    e.prefix_bits = v4 ? 96 + bits : bits;
    return e;
  }
  // A bare IPv6 literal contains colons: never treat its last group as a port.
  if (auto ip = parseIp(s)) {
    e.kind = Entry::Kind::Ip;
    e.ip = *ip;
    e.prefix_bits = 128;
    return e;
  }
  // host:port (IPv4 or name)
  if (const auto colon = s.rfind(':'); colon != std::string::npos) {
    auto port = parsePort(std::string_view(s).substr(colon + 1));
    if (!port) return "NO_PROXY: invalid port in '" + std::string(text) + "'";
    e.port = *port;
    s = s.substr(0, colon);
    if (auto ip = parseIp(s)) {
      e.kind = Entry::Kind::Ip;
      e.ip = *ip;
      e.prefix_bits = 128;
      return e;
    }
  }
  if (s.rfind("*.", 0) == 0) s = s.substr(2);
  while (!s.empty() && s.front() == '.') s.erase(0, 1);
  while (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty()) return "NO_PROXY: empty host in '" + std::string(text) + "'";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '.' && c != '_') {
      return "NO_PROXY: invalid host '" + std::string(text) + "'";
    }
  }
  e.kind = Entry::Kind::Domain;
  e.domain = s;
  return e;
}

Result<ProxyRules, std::string> ProxyRules::parse(std::string_view https_proxy, std::string_view no_proxy) {
  ProxyRules rules;
  if (std::string_view p = trimView(https_proxy); !p.empty()) {
    auto endpoint = parseProxyEndpoint(p);
    if (!endpoint) return endpoint.error();
    rules.proxy_ = std::move(endpoint.value());
  }

  std::string_view rest = no_proxy;
  while (!rest.empty()) {
    const auto sep = rest.find_first_of(", \t");
    std::string_view item = trimView(rest.substr(0, sep));
    rest = sep == std::string_view::npos ? std::string_view{} : rest.substr(sep + 1);
    if (item.empty()) continue;
    auto entry = parseEntry(item);
    if (!entry) return entry.error();
    rules.no_proxy_.push_back(std::move(entry.value()));
  }
  return rules;
}

bool ProxyRules::bypasses(std::string_view host_in, std::uint16_t port) const {
  std::string host = toLower(host_in);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  while (!host.empty() && host.back() == '.') host.pop_back();
  const auto ip = parseIp(host);
  for (const Entry& e : no_proxy_) {
    if (e.port != 0 && e.port != port) continue;
    switch (e.kind) {
      case Entry::Kind::Any:
        return true;
      case Entry::Kind::Ip:
        if (ip && prefixMatch(*ip, e.ip, e.prefix_bits)) return true;
        break;
      case Entry::Kind::Domain:
        if (ip) break;
        if (host == e.domain) return true;
        if (host.size() > e.domain.size() &&
            host.compare(host.size() - e.domain.size(), e.domain.size(), e.domain) == 0 &&
            host[host.size() - e.domain.size() - 1] == '.') {
          return true;
        }
        break;
    }
  }
  return false;
}

std::optional<ProxyEndpoint> ProxyRules::proxyFor(std::string_view host, std::uint16_t port) const {
  if (!proxy_ || bypasses(host, port)) return std::nullopt;
  return proxy_;
}

}  // namespace cosp::common
