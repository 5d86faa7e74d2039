#pragma once

#include <cstdint>
#include <string>

namespace cosp::worker::accounts {

// What the selection policy needs to know about one account, as the worker last heard it from the
// supervisor. Time is always passed in (no clock is read in this library), so the policy is pure.
struct AccountView {
  std::string name;
  bool logged_in = false;
  bool paused = false;
  std::int64_t cooling_until_ms = 0;   // wall-clock ms; <= now means not cooling
  double primary_used_percent = -1;    // -1 = unknown
  double secondary_used_percent = -1;  // -1 = unknown
};

// Usable = logged in, not paused, not cooling down (SPEC §9).
inline bool usable(const AccountView& a, std::int64_t now_ms) {
  return a.logged_in && !a.paused && a.cooling_until_ms <= now_ms;
}

}  // namespace cosp::worker::accounts
