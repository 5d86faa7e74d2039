#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/json/json_value.h"

namespace cosp::worker::accounts {

// One quota window (the 5 h "primary" or the weekly "secondary"). Unknown fields are -1.
struct QuotaWindow {
  double used_percent = -1;
  std::int64_t window_minutes = -1;
  std::int64_t reset_after_seconds = -1;
  std::int64_t reset_at = -1;  // unix seconds
  bool known() const { return used_percent >= 0; }
};

struct QuotaWindows {
  QuotaWindow primary;
  QuotaWindow secondary;
};

// The share of new sessions an account gets, from its used percents: the fuller window decides;
// (100 - used) / 100 rounded DOWN to 5 % steps, so a percent more or less does not move sessions
// between accounts (rendezvous scores only change when a weight does); at least 0.01 so a nearly
// full account still takes a few new sessions (and reports fresh quota); unknown (-1) = 1.0.
double quotaWeight(double primary_used_percent, double secondary_used_percent);

// x-codex-primary-used-percent, -window-minutes, -reset-after-seconds, -reset-at and the same for
// secondary (BACKEND.md). Names are matched case-insensitively; unparseable values stay -1.
QuotaWindows quotaWindowsFromHeaders(const std::map<std::string, std::string>& headers);

// A codex.rate_limits event: {"type":"codex.rate_limits","rate_limits":{"primary":{"used_percent",
// "window_minutes","reset_after_seconds"|"resets_in_seconds","reset_at"|"resets_at"},"secondary":…}}.
// Lenient: the windows may also sit at the top level, any field may be missing (-1).
QuotaWindows quotaWindowsFromEvent(const common::JsonValue& event);

}  // namespace cosp::worker::accounts
