#pragma once

#include <algorithm>
#include <chrono>

namespace cosp::worker {

// The overall time budget of one model call: REQUEST_TIMEOUT for a non-streaming call, whose
// client sees nothing until the end (a stream shows its progress and is bounded by the upstream
// idle timeout instead). Every wait of the call - the response head, retry back-offs, a
// credential refresh, each read of the body - is cut to what is left, and the call ends with a
// 504 once it has run out. Unlimited by default.
class CallDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  CallDeadline() = default;  // unlimited
  static CallDeadline after(std::chrono::milliseconds budget, Clock::time_point start = Clock::now()) {
    CallDeadline d;
    d.at_ = start + budget;
    return d;
  }

  bool limited() const { return at_ != Clock::time_point::max(); }
  Clock::time_point at() const { return at_; }
  bool expired(Clock::time_point now = Clock::now()) const { return now >= at_; }

  // The time left, rounded up to whole milliseconds (a wait of it never ends just before the
  // deadline and leaves a spin); zero once expired.
  std::chrono::milliseconds left(Clock::time_point now = Clock::now()) const {
    if (!limited()) return std::chrono::milliseconds::max();
    if (now >= at_) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(at_ - now);
  }
  // `wait`, shortened to the time left.
  std::chrono::milliseconds cap(std::chrono::milliseconds wait, Clock::time_point now = Clock::now()) const {
    return std::min(wait, left(now));
  }
  // A time point `wait` from now, but not past the deadline.
  Clock::time_point capPoint(std::chrono::milliseconds wait, Clock::time_point now = Clock::now()) const {
    return std::min(now + wait, at_);
  }

 private:
  Clock::time_point at_ = Clock::time_point::max();
};

}  // namespace cosp::worker
