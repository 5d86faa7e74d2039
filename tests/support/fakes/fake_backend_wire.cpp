#include "tests/support/fakes/fake_backend_wire.h"

#include <time.h>

#include <cctype>
#include <cstdio>
#include <random>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"

namespace cosp::test {

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::string cookie(std::string_view name, std::string_view value, std::string_view domain,
                   std::chrono::system_clock::time_point expires, std::string_view same_site) {
  std::string out(name);
  out += '=';
  out += value;
  out += "; path=/; expires=";
  out += httpDate(expires);
  out += "; domain=";
  out += domain;
  out += "; HttpOnly; Secure; SameSite=";
  out += same_site;
  return out;
}

}  // namespace

std::string etagOf(std::string_view body) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof(buf), "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

std::set<std::string> catalogSlugs(std::string_view catalog_json) {
  std::set<std::string> slugs;
  auto doc = common::parseJsonObject(catalog_json);
  if (!doc) return slugs;
  const auto* models = common::jsonArray(*doc, "models");
  if (!models) return slugs;
  for (const auto& m : *models) {
    if (auto slug = common::jsonString(m, "slug")) slugs.emplace(*slug);
  }
  return slugs;
}

std::string randomHex(std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    std::uint64_t r = rng()();
    for (int i = 0; i < 16 && out.size() < n; ++i, r >>= 4) out += kHex[r & 0xf];
  }
  return out;
}

std::string randomUuid() {
  const std::string h = randomHex(32);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string httpDate(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string cfBmCookie(std::string_view value, std::string_view domain, std::chrono::system_clock::time_point now) {
  // Cloudflare's bot-management cookie lives 30 minutes.
  return cookie("__cf_bm", value, domain, now + std::chrono::minutes(30), "None");
}

std::string puidCookie(std::string_view value, std::string_view domain, std::chrono::system_clock::time_point now) {
  return cookie("_puid", value, domain, now + std::chrono::hours(24 * 14), "Lax");
}

std::optional<std::int64_t> inputTokensOf(std::string_view event) {
  static constexpr std::string_view kKey = "\"input_tokens\":";
  const auto at = event.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + kKey.size();
  while (i < event.size() && event[i] == ' ') ++i;
  std::int64_t v = 0;
  bool any = false;
  for (; i < event.size() && std::isdigit(static_cast<unsigned char>(event[i])); ++i) {
    v = v * 10 + (event[i] - '0');
    any = true;
  }
  if (!any) return std::nullopt;
  return v;
}

std::string withCachedTokens(std::string_view event, std::int64_t cached) {
  static constexpr std::string_view kKey = "\"cached_tokens\":";
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto at = event.find(kKey, pos);
    if (at == std::string_view::npos) break;
    out.append(event.substr(pos, at - pos));
    out.append(kKey);
    out.append(std::to_string(cached));
    std::size_t i = at + kKey.size();
    while (i < event.size() && (event[i] == ' ' || std::isdigit(static_cast<unsigned char>(event[i])))) ++i;
    pos = i;
  }
  out.append(event.substr(pos));
  return out;
}

std::optional<std::string> modelOf(std::string_view body) {
  auto doc = common::parseJsonObject(body);
  if (!doc) return std::nullopt;
  auto model = common::jsonString(*doc, "model");
  if (!model) return std::nullopt;
  return std::string(*model);
}

bool includesEncryptedReasoning(std::string_view body) {
  auto doc = common::parseJsonObject(body);
  if (!doc) return false;
  const auto* include = common::jsonArray(*doc, "include");
  if (!include) return false;
  for (const auto& e : *include) {
    if (e.stringView() == std::optional<std::string_view>("reasoning.encrypted_content")) return true;
  }
  return false;
}

}  // namespace cosp::test
