#pragma once

#include <chrono>
#include <thread>

namespace cosp::supervisor {

// Time source for the credential subsystem. Scheduling uses the steady clock (immune to wall
// clock jumps); token expiry is wall-clock (unix) time because that is what OAuth servers and
// JWTs speak. Sleeping goes through the clock too so tests of the device login (which polls
// every few seconds for up to 15 minutes) run instantly against a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
  virtual std::chrono::system_clock::time_point systemNow() const = 0;
  virtual void sleepFor(std::chrono::milliseconds duration) = 0;

  // Unix time in milliseconds, the unit every expiry is kept in internally.
  int64_t unixMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(systemNow().time_since_epoch()).count();
  }
};

class RealClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steadyNow() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point systemNow() const override { return std::chrono::system_clock::now(); }
  void sleepFor(std::chrono::milliseconds duration) override { std::this_thread::sleep_for(duration); }

  // Process-wide instance for callers that do not inject one.
  static RealClock& instance() {
    static RealClock clock;
    return clock;
  }
};

}  // namespace cosp::supervisor
