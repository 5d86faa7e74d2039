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

namespace {

// The named response headers forwarded besides x-codex-*, and the name each gets at the client.
struct NamedHeader {
  std::string_view upstream;
  std::string_view client;
};
constexpr NamedHeader kNamedResponseHeaders[] = {
    {"x-reasoning-included", "x-reasoning-included"},
    {"openai-model", "openai-model"},
    {"x-models-etag", "x-models-etag"},
    {"x-request-id", "x-upstream-request-id"},
};

}  // namespace

ForwardedHeaderSelection selectForwardedHeaders(const HeaderList& upstream_headers, const CodexHeaderLimits& limits) {
  CodexHeaderSelection codex = selectCodexHeaders(upstream_headers, limits);
  ForwardedHeaderSelection out;
  out.headers = std::move(codex.headers);
  out.dropped = codex.dropped;
  for (const NamedHeader& named : kNamedResponseHeaders) {
    for (const auto& [name, value] : upstream_headers) {
      if (!headerNameEquals(name, named.upstream)) continue;
      // The first one only: a repeated header would otherwise be set twice.
      if (!value.empty() && value.size() <= kMaxNamedResponseHeaderBytes && isSafeHeaderValue(value)) {
        out.headers.emplace_back(std::string(named.client), value);
        if (named.client == "x-upstream-request-id") out.upstream_request_id = value;
      } else {
        ++out.dropped;
      }
      break;
    }
  }
  return out;
}

void addCatalogModelsEtag(HeaderList& headers, std::string_view catalog_etag) {
  if (catalog_etag.empty() || catalog_etag.size() > kMaxNamedResponseHeaderBytes || !isSafeHeaderValue(catalog_etag)) {
    return;
  }
  for (const auto& header : headers) {
    if (headerNameEquals(header.first, "x-models-etag")) return;
  }
  headers.emplace_back("x-models-etag", std::string(catalog_etag));
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
