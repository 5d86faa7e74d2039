#include "supervisor/deadlines.h"

#include <algorithm>

namespace cosp::supervisor {

KillVerdict killVerdict(const WorkerProcess& worker, TimePoint now) {
  if (worker.kill_sent) return KillVerdict::Spare;
  if (worker.state == WorkerState::Ready && now - worker.last_heartbeat > kHeartbeatTimeout) return KillVerdict::Hung;
  if (worker.state == WorkerState::Starting && now - worker.started > kBootTimeout) return KillVerdict::Hung;
  if ((worker.state == WorkerState::Draining || worker.channel_lost) && now > worker.kill_at) {
    return KillVerdict::DrainOverdue;
  }
  return KillVerdict::Spare;
}

std::optional<TimePoint> pendingKillAt(const WorkerProcess& worker) {
  if ((worker.state == WorkerState::Draining || worker.channel_lost) && !worker.kill_sent) return worker.kill_at;
  return std::nullopt;
}

TimePoint nextWake(TimePoint now, const std::vector<SlotSchedule>& slots, const WorkerMap& workers,
                   std::initializer_list<std::optional<TimePoint>> others) {
  TimePoint next = now + kLoopTick;
  for (const SlotSchedule& slot : slots) {
    if (auto at = slot.respawnAt()) next = std::min(next, *at);
  }
  for (const auto& [pid, worker] : workers) {
    if (auto at = pendingKillAt(worker)) next = std::min(next, *at);
  }
  for (const std::optional<TimePoint>& at : others) {
    if (at) next = std::min(next, *at);
  }
  return next;
}

std::optional<std::chrono::microseconds> stopTimeoutExtension(std::chrono::milliseconds grace) {
  if (grace <= kUnitStopGrace) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(grace + kKillSlack);
}

}  // namespace cosp::supervisor
