#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error/api_error.h"
#include "common/keys/key_policy.h"
#include "common/keys/keys_file.h"
#include "common/keys/keys_message.h"
#include "common/keys/limits_zone.h"

namespace cosp::worker {

struct Exchange;
class CallerAuth;

// The file keys the supervisor sent last (never the keys themselves: digests, limits, zone slots).
struct CallerKeysTable {
  common::keys::KeyTable table;  // presented key → index into keys
  std::vector<common::keys::ServedKey> keys;
};

// A worker's view of API_KEYS_FILE: the table (swapped whole on each keys message; a call keeps
// the snapshot it authenticated with) and its mapping of the supervisor's limits zone.
class CallerKeys {
 public:
  void set(std::vector<common::keys::ServedKey> keys);
  std::shared_ptr<const CallerKeysTable> get() const;
  void attachZone(common::keys::LimitsZone zone, std::uint32_t lease_row);
  common::keys::LimitsZone* zone() { return zone_.valid() ? &zone_ : nullptr; }
  std::uint32_t leaseRow() const { return lease_row_; }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const CallerKeysTable> table_ = std::make_shared<CallerKeysTable>();
  common::keys::LimitsZone zone_;
  std::uint32_t lease_row_ = 0;
};

// Caller authentication of a request (SPEC §10): a PROXY_API_KEY key (named env-1, env-2, …,
// unlimited) or a file key (one SHA-256 and one hash lookup). Sets ex.key_name and, for a file
// key, ex.file_key. Refuses (401) a missing or unknown key when caller auth is on, and a file key
// that is disabled or expired (the message says which, never the key).
std::optional<common::ApiError> authenticateCaller(Exchange& ex, const CallerAuth& env_keys);

// A long-lived call (a WebSocket) re-reads its file key from the worker's current table, so a
// reload applies to it: 401 when the key was removed or replaced since (the limits and the
// disabled / expired state of the key as it is now are then decideKeyModelCall's).
std::optional<common::ApiError> refreshFileKey(Exchange& ex);

// The key's decision for one model call of `model` (common/keys/key_policy.h): empty (admitted,
// no headers, no lease) without a file key or a zone. A WebSocket decides once per turn.
common::keys::KeyDecision decideKeyModelCall(Exchange& ex, std::string_view model);

// The accounts the exchange's file key may use (SPEC §10 `accounts`); empty = every account.
const std::vector<std::string>& keyAccounts(const Exchange& ex);

// The key's limits for a model call, once ex.model is known: 403 / 429 with OpenAI's
// x-ratelimit-* headers (set on ex.response also when admitted); keeps the in-flight lease in ex.
std::optional<common::ApiError> admitModelCall(Exchange& ex);

// One model call of the exchange's file key ended: its request (status class, model) and its
// tokens into the zone. Nothing without a file key.
void accountKeyRequest(Exchange& ex, int status, std::string_view model,
                       const std::optional<common::keys::TokenUsage>& usage);

// When the exchange ends: the key's request (status class, model) and tokens into the zone.
void accountKeyCall(Exchange& ex);

// The token usage of a terminal Responses event (response.completed, …: its response.usage).
std::optional<common::keys::TokenUsage> usageOfTerminalEvent(std::string_view event_data);
// The token usage of a JSON answer with a top-level "usage" (the compaction answer).
std::optional<common::keys::TokenUsage> usageOfJsonAnswer(std::string_view body);

// Takes the token usage of a terminal Responses event (response.completed, …) into ex.usage.
void captureUsage(Exchange& ex, std::string_view event_data);

}  // namespace cosp::worker
