#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json/json_value.h"
#include "common/keys/limits_zone.h"

namespace cosp::common::keys {

// A key's accounting as persisted in STATE_DIR/keys_usage.json, reported to `ctl keys list`
// and restored into the zone at start. Keyed by the key's name (never the key).
struct KeyUsage {
  std::string name;
  std::array<std::int64_t, KeySlot::kStatusClasses> requests_by_class{};  // 1xx … 5xx
  std::vector<std::pair<std::string, std::int64_t>> requests_by_model;
  std::int64_t other_model_requests = 0;
  std::int64_t input_tokens = 0, cached_tokens = 0, output_tokens = 0, reasoning_tokens = 0;
  std::int64_t last_use = 0;  // unix seconds, 0 never
  std::int64_t day = 0, day_tokens = 0, month = 0, month_tokens = 0;

  std::int64_t requests() const;
  // Today's / this month's tokens as of `now` (0 when the counter belongs to an earlier period).
  std::int64_t tokensToday(std::int64_t now) const { return day == utcDayNumber(now) ? day_tokens : 0; }
  std::int64_t tokensThisMonth(std::int64_t now) const { return month == utcMonthNumber(now) ? month_tokens : 0; }
};

KeyUsage readSlotUsage(LimitsZone& zone, std::uint32_t slot, std::string name);
// Puts persisted accounting back into a slot the supervisor just gave to that key.
void restoreSlotUsage(LimitsZone& zone, std::uint32_t slot, const KeyUsage& usage);

JsonValue usageToJson(const std::vector<KeyUsage>& usage);
std::string encodeUsageFile(const std::vector<KeyUsage>& usage);
// The keys of a usage document (a file or the `keys-usage` control reply's data); nullopt when malformed.
std::optional<std::vector<KeyUsage>> usageFromJson(const JsonValue& document);
std::optional<std::vector<KeyUsage>> decodeUsageFile(const std::string& text);

}  // namespace cosp::common::keys
