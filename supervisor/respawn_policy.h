#pragma once

#include <chrono>
#include <optional>

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

// The respawn schedule of one worker slot: when its replacement is due, and how many times the
// slot's worker died. Time is a parameter: nothing here reads a clock.
class SlotSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // The slot's worker died unexpectedly at `now` after `uptime`: counts a restart and schedules
  // the replacement; returns the delay.
  std::chrono::milliseconds onUnexpectedExit(TimePoint now, std::chrono::milliseconds uptime);
  // Starting a worker for the slot failed at `now`: retry after the policy's delay (no restart is
  // counted, no worker ran).
  void onSpawnFailed(TimePoint now);
  // A worker for the slot was started: nothing is due any more.
  void onSpawned() { respawn_at_.reset(); }

  bool due(TimePoint now) const { return respawn_at_ && *respawn_at_ <= now; }
  std::optional<TimePoint> respawnAt() const { return respawn_at_; }
  int restarts() const { return restarts_; }

 private:
  RespawnPolicy policy_;
  int restarts_ = 0;
  std::optional<TimePoint> respawn_at_;
};

}  // namespace cosp::supervisor
