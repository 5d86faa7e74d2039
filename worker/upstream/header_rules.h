#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "common/error/api_error.h"
#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

// Which header names and values may cross the proxy, in either direction. A value taken from the
// client or from the backend is written into the other side's message head, so one CR, LF or NUL
// would add headers or a whole second message (request or response splitting); other control
// characters make peers disagree on where a value ends.

// RFC 9110 §5.6.2 token (1*tchar): what a header name may be.
bool isHeaderToken(std::string_view name);
// RFC 9110 §5.5 field content without control characters: VCHAR, SP, HTAB and obs-text
// (0x80-0xFF, so UTF-8 passes). No CR, LF, NUL, DEL or other CTL. Empty is allowed.
bool isSafeHeaderValue(std::string_view value);
// "x-codex-<something>", case-insensitive.
bool isCodexHeaderName(std::string_view name);

// A client request header forwarded upstream unchanged (README.md, Model calls: upstream headers):
// x-codex-*, x-openai-* (Responses-Lite, subagent, ...), thread-id, x-client-request-id and
// x-responsesapi-include-timing-metrics. Never the client's credentials (Authorization, x-api-key,
// ChatGPT-Account-ID: a Codex CLI logged in to ChatGPT sends its own account's), cookies or
// hop-by-hop headers: none of those match. The session headers and the fingerprint are set apart.
bool isForwardedRequestHeader(std::string_view name);

// Caps on the backend's x-codex-* headers copied onto every client response (rate-limit windows:
// about a dozen short ones in practice).
struct CodexHeaderLimits {
  std::size_t max_count = 32;
  std::size_t max_name_bytes = 128;
  std::size_t max_value_bytes = 1024;
};

struct CodexHeaderSelection {
  HeaderList headers;       // safe to copy to the client, in upstream order
  std::size_t dropped = 0;  // x-codex-* headers refused: not a token, unsafe value, too long, or over max_count
};

// The x-codex-* headers of an upstream response head that may reach the client; every other
// header is ignored (and not counted).
CodexHeaderSelection selectCodexHeaders(const HeaderList& upstream_headers, const CodexHeaderLimits& limits = {});

// The backend's response headers that reach the client (README.md, Model calls: Upstream headers):
// every x-codex-* (as selectCodexHeaders), `x-reasoning-included` (the Codex CLI's context meter),
// `openai-model` (a server-side reroute), `x-models-etag` (the CLI re-reads the catalog when it
// changes), and the backend's `x-request-id`, renamed `x-upstream-request-id` so the client's own
// x-request-id stays the proxy's. Nothing else crosses: never Set-Cookie (the Cloudflare cookies
// stay in the worker's jar, cookie_jar.h), never framing or connection headers.
struct ForwardedHeaderSelection {
  HeaderList headers;               // for the client's response, in upstream order (x-codex-* first)
  std::string upstream_request_id;  // the backend's x-request-id when well-formed (for the log line)
  std::size_t dropped = 0;          // candidates refused: not a token, unsafe value, too long, over max_count
};

// The other named headers are short: a request id, a model name, an ETag.
inline constexpr std::size_t kMaxNamedResponseHeaderBytes = 256;

ForwardedHeaderSelection selectForwardedHeaders(const HeaderList& upstream_headers,
                                                const CodexHeaderLimits& limits = {});

// Adds `x-models-etag: <catalog_etag>` (the ETag of the catalog the worker serves) when `headers`
// has none and the ETag is a short, safe value: the Codex CLI re-reads its catalog when a
// response's x-models-etag differs from the catalog's, so it must see one even when the backend
// sent none (README.md, Model calls: Upstream headers).
void addCatalogModelsEtag(HeaderList& headers, std::string_view catalog_etag);

// A client request header that is forwarded upstream (session id, x-codex-*, x-client-request-id):
// nullopt when its name and value may be sent, else the 400 invalid_request_error naming it (param = the
// header name) - the client's mistake, never a 502 from the upstream writer refusing it.
std::optional<common::ApiError> checkForwardedHeader(std::string_view name, std::string_view value);

}  // namespace cosp::worker
