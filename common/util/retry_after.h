#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cosp::common {

// A Retry-After header value in delta-seconds (RFC 9110 §10.2.3), surrounding blanks allowed;
// nullopt for anything else, an HTTP-date included: the callers fall back on the body's reset
// fields or their own back-off. Header-only so the pure worker libraries, which do not link
// cosp_common, read it the same way as the supervisor's token calls.
inline std::optional<std::int64_t> parseRetryAfterSeconds(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;
  std::int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds;
}

}  // namespace cosp::common
