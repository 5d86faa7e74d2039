#include "supervisor/respawn_policy.h"

#include <algorithm>
#include <cstdint>

namespace cosp::supervisor {

std::chrono::milliseconds RespawnPolicy::onExit(std::chrono::milliseconds uptime) {
  if (uptime >= kStableUptime) consecutive_ = 0;
  ++consecutive_;
  if (consecutive_ == 1) return std::chrono::milliseconds(0);
  int shift = std::min(consecutive_ - 2, 20);
  return std::min<std::chrono::milliseconds>(kFirstBackoff * (int64_t{1} << shift), kMaxBackoff);
}

std::chrono::milliseconds SlotSchedule::onUnexpectedExit(TimePoint now, std::chrono::milliseconds uptime) {
  ++restarts_;
  const std::chrono::milliseconds delay = policy_.onExit(uptime);
  respawn_at_ = now + delay;
  return delay;
}

void SlotSchedule::onSpawnFailed(TimePoint now) { respawn_at_ = now + policy_.onExit(std::chrono::milliseconds(0)); }

}  // namespace cosp::supervisor
