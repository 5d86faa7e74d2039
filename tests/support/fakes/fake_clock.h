#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "supervisor/credentials/clock.h"

namespace cosp::test {

// Manual clock: steady and wall time move together, only when the test says so. sleepFor()
// advances time instead of waiting and records the request.
class FakeClock final : public supervisor::Clock {
 public:
  FakeClock() : system_(std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000))) {}

  std::chrono::steady_clock::time_point steadyNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return steady_;
  }
  std::chrono::system_clock::time_point systemNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return system_;
  }
  void sleepFor(std::chrono::milliseconds d) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sleeps_.push_back(d);
    }
    advance(d);
  }
  void advance(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    steady_ += d;
    system_ += d;
  }
  int64_t unixSeconds() const { return unixMillis() / 1000; }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point system_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace cosp::test
