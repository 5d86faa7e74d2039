#pragma once

#include <time.h>

#include <cstdint>

namespace cosp::bench {

// CLOCK_MONOTONIC in nanoseconds. The fake upstream stamps every event with it and the load
// tool subtracts it from its own receive time: both processes run on the same host, so the
// clock is shared and the difference is the event's delivery latency (not the gap between
// two events, which would hide a constant delay).
inline std::int64_t monoNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace cosp::bench
