#include "worker/upstream/header_rules.h"

#include <string>

namespace cosp::worker {

namespace {

constexpr std::string_view kCodexPrefix = "x-codex-";

bool isTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool isHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  for (const char ch : name) {
    if (!isTchar(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

bool isSafeHeaderValue(std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 ? c != '\t' : c == 0x7F) return false;
  }
  return true;
}

bool isCodexHeaderName(std::string_view name) {
  return name.size() > kCodexPrefix.size() && headerNameEquals(name.substr(0, kCodexPrefix.size()), kCodexPrefix);
}

CodexHeaderSelection selectCodexHeaders(const HeaderList& upstream_headers, const CodexHeaderLimits& limits) {
  CodexHeaderSelection out;
  for (const auto& [name, value] : upstream_headers) {
    if (!isCodexHeaderName(name)) continue;
    const bool fits = name.size() <= limits.max_name_bytes && value.size() <= limits.max_value_bytes &&
                      out.headers.size() < limits.max_count;
    if (fits && isHeaderToken(name) && isSafeHeaderValue(value)) {
      out.headers.emplace_back(name, value);
    } else {
      ++out.dropped;
    }
  }
  return out;
}

std::optional<common::ApiError> checkForwardedHeader(std::string_view name, std::string_view value) {
  if (isHeaderToken(name) && isSafeHeaderValue(value)) return std::nullopt;
  const std::string header(name);
  return common::ApiError::invalidRequest(
      "Invalid header '" + header + "': its name or value contains a character HTTP does not allow there (CR, "
      "LF, NUL or another control character), so it cannot be forwarded to the Codex backend.",
      header, std::string("invalid_header_value"));
}

}  // namespace cosp::worker
