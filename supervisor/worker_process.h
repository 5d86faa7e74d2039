#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/ipc/channel.h"
#include "common/ipc/messages.h"

namespace cosp::supervisor {

enum class WorkerState { Starting, Ready, Draining };

const char* workerStateName(WorkerState state);

// One live worker process as the supervisor sees it.
struct WorkerProcess {
  int slot = 0;
  pid_t pid = -1;
  uint32_t lease_row = 0;   // its row of in-flight leases in the keys zone (supervisor/keys_manager.h)
  uint64_t generation = 0;  // configuration generation it was started with
  common::Channel channel;
  WorkerState state = WorkerState::Starting;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point last_heartbeat;
  std::chrono::steady_clock::time_point kill_at;  // for Draining: SIGKILL past this point
  bool kill_sent = false;
  // The channel hit EOF without a deliberate drain: the process is dying (SIGCHLD follows) or
  // broken; it is killed at kill_at if it lingers. Its exit still counts as unexpected.
  bool channel_lost = false;
  common::WorkerCounters counters;
  common::UpstreamObservation upstream;
};

// The live workers by pid.
using WorkerMap = std::map<pid_t, WorkerProcess>;

// How many of the slots 0..slots-1 have a ready worker (during a reload a slot may have two: it
// counts once).
int readySlots(const WorkerMap& workers, int slots);
// Whether each of the slots 0..slots-1 has a ready worker.
bool everySlotReady(const WorkerMap& workers, int slots);

}  // namespace cosp::supervisor
