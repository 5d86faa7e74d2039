#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <vector>

#include "supervisor/respawn_policy.h"
#include "supervisor/worker_process.h"

namespace cosp::supervisor {

// The supervisor's timer decisions, as pure functions of the time they are asked at: when a
// worker is given up on and killed, when the poll loop must wake up next, and how much longer
// systemd must wait for a stop.
using TimePoint = std::chrono::steady_clock::time_point;

inline constexpr std::chrono::milliseconds kHeartbeatTimeout{15000};  // a worker silent this long is hung: SIGKILL
inline constexpr std::chrono::milliseconds kBootTimeout{15000};       // a worker not ready this long is stuck
inline constexpr std::chrono::milliseconds kKillSlack{5000};          // after the drain grace, before SIGKILL
inline constexpr std::chrono::milliseconds kFastStopWait{2000};       // a fast stop's SIGQUIT, then SIGKILL
inline constexpr std::chrono::milliseconds kLoopTick{1000};           // the loop wakes at least this often
// systemd's stop timeout (TimeoutStopSec=45s in etc/systemd) covers a drain grace up to this;
// a longer grace asks systemd for more time (EXTEND_TIMEOUT_USEC).
inline constexpr std::chrono::milliseconds kUnitStopGrace{30000};

// When a worker that is asked to drain for `grace` at `now` is killed if still there.
inline TimePoint drainKillAt(TimePoint now, std::chrono::milliseconds grace) { return now + grace + kKillSlack; }
// When a worker whose channel closed unasked at `now` is killed if still there.
inline TimePoint channelLostKillAt(TimePoint now) { return now + kKillSlack; }
// When a worker told to stop at once (fast stop) at `now` is killed if still there.
inline TimePoint fastStopKillAt(TimePoint now) { return now + kFastStopWait; }

enum class KillVerdict {
  Spare,         // leave it be
  Hung,          // ready but silent past kHeartbeatTimeout, or starting past kBootTimeout
  DrainOverdue,  // draining (or its channel lost) and past its kill_at
};
// Whether the worker must be SIGKILLed at `now`. A worker already sent SIGKILL is spared.
KillVerdict killVerdict(const WorkerProcess& worker, TimePoint now);

// The worker's pending kill deadline, if one is armed and not yet acted on.
std::optional<TimePoint> pendingKillAt(const WorkerProcess& worker);

// The earliest of: now + kLoopTick (heartbeat checks), every slot's respawn, every pending kill,
// and the `others` given (credential refresh, watchdog, reload step; nullopt ones are ignored).
TimePoint nextWake(TimePoint now, const std::vector<SlotSchedule>& slots, const WorkerMap& workers,
                   std::initializer_list<std::optional<TimePoint>> others);

// How long systemd must wait for a graceful stop with drain `grace` beyond what the unit
// allows: nullopt when the unit's TimeoutStopSec covers it, else grace + kKillSlack.
std::optional<std::chrono::microseconds> stopTimeoutExtension(std::chrono::milliseconds grace);

}  // namespace cosp::supervisor
