#pragma once

#include <chrono>

namespace cosp::supervisor {

// When to restart a worker that died. A worker that ran for a while is replaced at once; one that
// keeps dying soon after start is restarted with exponential backoff (100 ms doubling, capped at
// 10 s), so a crash loop cannot spin the supervisor while the other workers keep serving.
class RespawnPolicy {
 public:
  static constexpr std::chrono::milliseconds kStableUptime{10000};
  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{10000};

  // Record an exit after `uptime`; returns the delay before the replacement starts.
  std::chrono::milliseconds onExit(std::chrono::milliseconds uptime);
  int consecutiveFailures() const { return consecutive_; }

 private:
  int consecutive_ = 0;
};

}  // namespace cosp::supervisor
