#pragma once

#include <chrono>
#include <cstdint>

namespace cosp::worker {

// Wall-clock time for what leaves the process (the `created` of a completion, token expiry
// checks against the supervisor's unix-millisecond deadlines); timers use steady_clock.
inline std::int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
inline std::int64_t unixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cosp::worker
