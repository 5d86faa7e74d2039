#include "worker/upstream/header_rules.h"

#include <string>

#include "common/util/http_syntax.h"

namespace cosp::worker {

namespace {

constexpr std::string_view kCodexPrefix = "x-codex-";
constexpr std::string_view kOpenAiPrefix = "x-openai-";

bool hasPrefix(std::string_view name, std::string_view prefix) {
  return name.size() > prefix.size() && headerNameEquals(name.substr(0, prefix.size()), prefix);
}

}  // namespace

bool isHeaderToken(std::string_view name) { return common::isToken(name); }

bool isSafeHeaderValue(std::string_view value) { return common::isFieldValue(value); }

bool isCodexHeaderName(std::string_view name) { return hasPrefix(name, kCodexPrefix); }

bool isForwardedRequestHeader(std::string_view name) {
  return hasPrefix(name, kCodexPrefix) || hasPrefix(name, kOpenAiPrefix) || headerNameEquals(name, "thread-id") ||
         headerNameEquals(name, "x-client-request-id") ||
         headerNameEquals(name, "x-responsesapi-include-timing-metrics");
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
      "Invalid header '" + header +
          "': its name or value contains a character HTTP does not allow there (CR, "
          "LF, NUL or another control character), so it cannot be forwarded to the Codex backend.",
      header, std::string("invalid_header_value"));
}

}  // namespace cosp::worker
