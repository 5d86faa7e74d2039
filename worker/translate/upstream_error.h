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
//   4xx usage_not_included             -> 403 permission_error (a plan without Codex: permanent)
//   429, or 404 usage_limit_reached    -> 429, error.type and error.code both usage_limit_reached,
//                                         Retry-After from resets_in_seconds / resets_at (needs now)
//   "... at capacity" (any status)     -> 503 model_at_capacity with Retry-After (default 5)
//   429 otherwise                      -> 429 rate_limit_error (the upstream code)
//   401                                -> 503 upstream_error / upstream_auth_error
//   403 or an HTML body                -> 502 naming a possible Cloudflare challenge
//   503 server_is_overloaded           -> 503 with Retry-After (default 5)
//   other 5xx                          -> 502 upstream_error naming the status
//   404 otherwise                      -> 502 (wrong CODEX_BASE_URL / path), unless the
//                                         upstream says model_not_found (-> 404)
//   400 and other 4xx                  -> the same status with the upstream's message
// ApiError.header carries {"Retry-After", seconds} when known; the backend's own Retry-After
// header (`retry_after_header`, parsed with common::parseRetryAfterSeconds) wins over the body's reset fields.
// Upstream messages are passed on (capped at 1000 bytes); HTML bodies never are.
common::ApiError mapUpstreamError(int status, std::string_view content_type, std::string_view body,
                                  std::int64_t now_unix_seconds,
                                  std::optional<std::int64_t> retry_after_header = std::nullopt);

// A response.failed or error event (its SSE data) -> the client error. A numeric `status` or
// `status_code` in the event (or its error object) wins: the event maps as that HTTP status
// would (above; a 403 there is the backend's own, not Cloudflare's). Otherwise by code:
//   "... at capacity" in the message (any code)         -> 503 model_at_capacity, Retry-After
//   usage_limit_reached                                 -> 429 usage_limit_reached, Retry-After
//   rate_limit_exceeded / insufficient_quota            -> 429 rate_limit_error
//   context_length_exceeded / invalid_*                 -> 400
//   server_is_overloaded / slow_down / "overloaded"     -> 503 server_is_overloaded, Retry-After
//   usage_not_included                                  -> 403 (permanent)
//   cyber_policy and other *policy* codes               -> 400 with the backend's message
//   anything else                                       -> 502 upstream_error (the code kept)
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
