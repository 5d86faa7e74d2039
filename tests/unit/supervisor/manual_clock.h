#pragma once

#include <chrono>

#include "supervisor/credentials/clock.h"

namespace cosp::supervisor::testing_support {

// Time that moves only when the test says so; sleepFor() advances it instead of waiting.
class ManualClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steadyNow() const override { return steady_; }
  std::chrono::system_clock::time_point systemNow() const override { return system_; }
  void sleepFor(std::chrono::milliseconds duration) override { advance(duration); }

  void advance(std::chrono::milliseconds duration) {
    steady_ += duration;
    system_ += duration;
  }

 private:
  std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point system_{std::chrono::seconds(1'750'000'000)};
};

}  // namespace cosp::supervisor::testing_support
