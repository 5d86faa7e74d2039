#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/json/json_value.h"
#include "worker/accounts/quota_weight.h"

namespace cosp::worker::accounts {

// What the attempt loop saw of one failed attempt, before the first byte went to the client.
struct FailureFacts {
  int status = 0;                             // HTTP status (or an in-stream event's own status)
  std::string code;                           // error.code, else error.type, from the body or event
  std::optional<std::int64_t> retry_after_s;  // the Retry-After header
  std::optional<std::int64_t> resets_in_seconds;
  std::optional<std::int64_t> resets_at;  // unix seconds
  QuotaWindows windows;                   // from the response's x-codex-* headers
  bool after_refresh = false;             // a 401 that already followed this account's refresh
};

enum class AccountFailureKind { None, UsageLimit, UsageNotIncluded, Unauthorized, Deactivated };

struct AccountFailure {
  AccountFailureKind kind = AccountFailureKind::None;
  std::int64_t cooling_until_ms = 0;  // set for UsageLimit and UsageNotIncluded
};

constexpr std::int64_t kDefaultCoolingSeconds = 60;
constexpr std::int64_t kUsageNotIncludedCoolingSeconds = 3600;
constexpr std::int64_t kMaxCoolingSeconds = 8 * 24 * 3600;

// SPEC §9 account-level failures (they move the call to the next account):
//   code account_deactivated, any status            -> Deactivated (needs login)
//   code usage_not_included, any 4xx or in-stream   -> UsageNotIncluded, cooling 1 h
//   429 (any code: the Codex backend's 429s are per account, its overload is a 503), or the
//   codes usage_limit_reached / usage_limit_exceeded / rate_limit_exceeded (a 404 or an
//   in-stream event without a status)               -> UsageLimit, cooling until Retry-After,
//                                                      else resets_in_seconds, else resets_at,
//                                                      else the exhausted window's reset, else 60 s;
//                                                      at least 1 s, at most 8 days
//   401 after_refresh                               -> Unauthorized (needs login)
//   code server_is_overloaded / model_at_capacity, any status -> None (retried on this account)
// Everything else (5xx, overload, timeouts, 401 before the refresh, 400s) -> None: transient or
// the request's own fault, retried on the same account or answered as today (SPEC §4, §6).
AccountFailure classifyAccountFailure(const FailureFacts& facts, std::int64_t now_ms);

// status / code / resets fields from an HTTP error body ({"error":{...}}, {"detail":{...}}) or a
// response.failed / error event, the same shapes worker/translate/upstream_error.cpp reads.
// `status` is the event's own numeric status / status_code when it has one, else `http_status`.
// Only status, code, resets_in_seconds and resets_at are filled.
FailureFacts backendErrorFields(const common::JsonValue& body_or_event, int http_status = 0);

}  // namespace cosp::worker::accounts
