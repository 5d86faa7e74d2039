#include "supervisor/catalog/catalog_fetch.h"

#include "common/json/json_parser.h"
#include "common/net/url.h"

namespace cosp::supervisor {

namespace {

constexpr std::size_t kMaxErrorDetail = 200;
constexpr std::size_t kMaxEtagBytes = 512;

// The backend's own reason from an error answer ({"detail":…} or {"error":{"message":…}}), cut
// short; empty when the answer is not JSON (a proxy's or Cloudflare's HTML page).
std::string errorDetail(const std::string& body) {
  auto doc = common::parseJsonObject(body, common::JsonParseOptions{.max_depth = 16});
  if (!doc) return {};
  std::optional<std::string_view> text = common::jsonString(*doc, "detail");
  if (!text) {
    if (const common::JsonValue* error = common::jsonObjectValue(*doc, "error")) {
      text = common::jsonString(*error, "message");
    }
  }
  if (!text) return {};
  std::string out(text->substr(0, kMaxErrorDetail));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';  // one log line
  }
  return out;
}

CatalogFetchResult failed(CatalogFetchResult::Kind kind, int status, std::string error) {
  CatalogFetchResult r;
  r.kind = kind;
  r.status = status;
  r.error = std::move(error);
  return r;
}

}  // namespace

common::Result<common::Url, std::string> catalogUrl(std::string_view base_url, std::string_view client_version) {
  auto parsed = common::parseUrl(base_url);
  if (!parsed.ok()) return "CODEX_BASE_URL: " + parsed.error();
  common::Url url = std::move(parsed.value());
  url.path = common::joinUrlPath(url.path, "/models") + "?client_version=" + std::string(client_version);
  return url;
}

CatalogFetchResult fetchCatalog(HttpTransport& transport, const CatalogFetchRequest& request) {
  using Kind = CatalogFetchResult::Kind;
  HttpHeaders headers = {{"Authorization", "Bearer " + request.access_token}};
  if (!request.account_id.empty()) headers.emplace_back("ChatGPT-Account-ID", request.account_id);
  if (!request.etag.empty()) headers.emplace_back("If-None-Match", request.etag);

  auto reply = transport.get(request.url, headers, kMaxCatalogBytes);
  if (!reply.ok()) return failed(Kind::Failed, 0, reply.error());
  const HttpDocument& r = reply.value();
  if (r.status == 304) {
    CatalogFetchResult out;
    out.kind = Kind::NotModified;
    out.status = 304;
    return out;
  }
  if (r.status != 200) {
    std::string error = "HTTP " + std::to_string(r.status);
    if (std::string detail = errorDetail(r.body); !detail.empty()) error += ": " + detail;
    // Only a 401 says the token is bad: a 403 is as often Cloudflare's challenge page.
    return failed(r.status == 401 ? Kind::Unauthorized : Kind::Failed, r.status, std::move(error));
  }
  auto parsed = common::parseBackendCatalog(r.body);
  if (!parsed.ok()) return failed(Kind::Failed, 200, parsed.error());
  CatalogFetchResult out;
  out.kind = Kind::Fresh;
  out.status = 200;
  out.catalog = std::move(parsed.value());
  // Sent back as If-None-Match: a value no server would make is not worth keeping.
  if (r.etag.size() <= kMaxEtagBytes) out.etag = r.etag;
  return out;
}

}  // namespace cosp::supervisor
