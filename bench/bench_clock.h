#pragma once

#include <sys/timerfd.h>
#include <time.h>

#include <charconv>
#include <cstdint>
#include <string_view>

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

// The first "t=<digits>" with at least 10 digits in `text` (a monoNs() stamp the fake upstream
// put in an event), or -1.
inline std::int64_t findStamp(std::string_view text) {
  std::size_t pos = 0;
  while ((pos = text.find("t=", pos)) != std::string_view::npos) {
    pos += 2;
    std::size_t end = pos;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end - pos >= 10) {
      std::int64_t v = 0;
      std::from_chars(text.data() + pos, text.data() + end, v);
      return v;
    }
  }
  return -1;
}

// Arms the CLOCK_MONOTONIC timerfd `timer_fd` for `due` (absolute ns) unless it is already armed
// (`armed`, 0 = not) for that time or sooner; sub-millisecond wake-ups for an epoll loop.
inline void armTimerFd(int timer_fd, std::int64_t due, std::int64_t& armed) {
  if (armed != 0 && armed <= due) return;
  itimerspec its{};
  its.it_value.tv_sec = due / 1'000'000'000;
  its.it_value.tv_nsec = due % 1'000'000'000;
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  ::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, nullptr);
  armed = due;
}

}  // namespace cosp::bench
