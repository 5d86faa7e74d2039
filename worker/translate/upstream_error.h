#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/json/json_value.h"

namespace cosp::worker {

// Upstream HTTP error received before any byte went to the client -> the error
// the client gets (README.md, Model calls: Errors):
//   400 (and other 4xx)             -> same status, the upstream's message
//   429, or 404 usage_limit_reached -> 429 rate_limit_error, code usage_limit_reached
//                                      (or the upstream code), Retry-After from
//                                      resets_at (needs now) / resets_in_seconds
//   401                             -> 503 upstream_error / upstream_auth_error
//   403 or an HTML body             -> 502 naming a possible Cloudflare challenge
//   503 server_is_overloaded        -> 503 with Retry-After
//   other 5xx                       -> 502 upstream_error naming the status
//   404 otherwise                   -> 502 (wrong CODEX_BASE_URL / path), unless the
//                                      upstream says model_not_found (-> 404)
// ApiError.header carries {"Retry-After", seconds} when known. Upstream messages
// are passed on (capped at 1000 bytes); HTML bodies never are.
common::ApiError mapUpstreamError(int status, std::string_view content_type, std::string_view body,
                                  std::int64_t now_unix_seconds);

// A response.failed or error event (its SSE data) -> the client error. Codes:
// rate_limit_exceeded / usage_limit_reached / insufficient_quota -> 429,
// context_length_exceeded / invalid_* -> 400, server_is_overloaded / slow_down
// -> 503, usage_not_included -> 403, anything else -> 502 upstream_error.
// Unparseable data gives a generic 502.
common::ApiError mapStreamFailure(std::string_view event_data, std::int64_t now_unix_seconds = 0);
common::ApiError mapStreamFailureJson(const common::JsonValue& event, std::int64_t now_unix_seconds = 0);

// The upstream closed the stream before response.completed.
common::ApiError upstreamTruncatedError();
// A terminal event (response.completed / response.incomplete) without its response object.
common::ApiError upstreamMalformedEventError();
// No upstream bytes for UPSTREAM_IDLE_TIMEOUT, mid-stream (502) ...
common::ApiError upstreamIdleTimeoutError();
// ... or before the response head / first event (504).
common::ApiError upstreamTimeoutError();
// Connection, TLS or protocol failure talking to the backend (502).
common::ApiError upstreamUnavailableError(std::string_view detail);
// One upstream SSE line or event longer than MAX_EVENT_BYTES (502, upstream_event_too_large): the
// stream is cut there instead of buffering without bound.
common::ApiError upstreamEventTooLargeError(std::uint64_t limit_bytes);
// The output a non-streaming call collects grew past its cap (502, upstream_response_too_large).
common::ApiError upstreamResponseTooLargeError(std::uint64_t limit_bytes);
// A non-streaming call that had not finished within REQUEST_TIMEOUT (504, upstream_timeout).
common::ApiError requestTimeoutError(std::int64_t timeout_ms);

}  // namespace cosp::worker
