#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error/api_error.h"
#include "common/keys/keys_file.h"
#include "common/keys/limits_zone.h"

namespace cosp::common::keys {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What the policy decided for one model call of a file key (SPEC §10).
struct KeyDecision {
  std::optional<ApiError> error;  // set: refuse with it (its `header` is Retry-After for a 429)
  // OpenAI's x-ratelimit-* headers for the key's limits, on refusals and admissions alike.
  HeaderList headers;
  LeaseGuard lease;  // the in-flight lease of an admitted call (empty without max_concurrent)
};

struct KeyCall {
  const KeyEntry* key = nullptr;
  std::string_view model;       // as the client wrote it
  std::string_view base_model;  // with a "-<effort>" suffix split off (== model without one)
  std::int64_t now = 0;         // unix seconds
  std::uint32_t slot = 0;       // the key's zone slot
  std::uint32_t lease_row = 0;  // this worker's lease row
};

// Whether `key` may use `model` (its allow-list names it or its base model).
bool modelAllowed(const KeyEntry& key, std::string_view model, std::string_view base_model);
// Whether `key` may be served by `account` (no list: every account).
bool accountAllowed(const KeyEntry& key, std::string_view account);

// The decision per call, in this order (the checks without side effects first):
// 401 expired / disabled, 403 model_not_allowed, 429 tokens (tpm, daily, monthly: refused once
// the used count has reached the limit), 429 over max_concurrent (a lease is taken), 429 requests
// (rpm: the request is counted when admitted). A refusal after the lease returns it.
KeyDecision decideKeyCall(const KeyCall& call, LimitsZone& zone);
// 401 for a key that is expired or disabled at `now`; nullopt otherwise (for routes that are not
// model calls, such as /v1/models).
std::optional<ApiError> keyStateError(const KeyEntry& key, std::int64_t now);

// "0s", "12s", "1m30s", "2h0m5s": Go-style durations, as OpenAI writes x-ratelimit-reset-*.
std::string resetDuration(std::int64_t seconds);

}  // namespace cosp::common::keys
