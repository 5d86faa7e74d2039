#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/catalog/catalog_parse.h"
#include "common/net/url.h"
#include "common/util/result.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// The real catalog carries each model's instructions (tens of KiB per model); anything beyond
// this is not a catalog.
inline constexpr std::size_t kMaxCatalogBytes = 8u << 20;

// One catalog request: what goes on the wire besides the fingerprint the transport adds.
struct CatalogFetchRequest {
  std::string url;  // catalogUrl()
  std::string access_token;
  std::string account_id;  // ChatGPT-Account-ID; empty = not sent
  std::string etag;        // If-None-Match; empty = not sent
};

struct CatalogFetchResult {
  enum class Kind { Fresh, NotModified, Unauthorized, Failed };
  Kind kind = Kind::Failed;
  int status = 0;                 // 0 = no HTTP answer
  common::ParsedCatalog catalog;  // Fresh
  std::string etag;               // Fresh: the answer's ETag
  std::string error;              // Unauthorized, Failed: for logs and `ctl status`, never a secret
};

// `{CODEX_BASE_URL}/models?client_version=<version>`. The version is a checked Codex version
// (digits, dots, [0-9A-Za-z.-]), so it needs no escaping. An error for a base URL that is not one.
common::Result<common::Url, std::string> catalogUrl(std::string_view base_url, std::string_view client_version);

// GET the catalog with the access token, the account and the last ETag (a 304 then keeps the
// copy). 200 with a document parseBackendCatalog() accepts is Fresh; 401 is Unauthorized (the
// backend answers an expired or revoked token so); anything else is Failed.
CatalogFetchResult fetchCatalog(HttpTransport& transport, const CatalogFetchRequest& request);

}  // namespace cosp::supervisor
