#include "supervisor/worker_process.h"

#include <algorithm>

namespace cosp::supervisor {

const char* workerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::Starting:
      return "starting";
    case WorkerState::Ready:
      return "ready";
    case WorkerState::Draining:
      return "draining";
  }
  return "unknown";
}

int readySlots(const WorkerMap& workers, int slots) {
  int ready_slots = 0;
  for (int slot = 0; slot < slots; ++slot) {
    bool ready = false;
    for (const auto& [pid, worker] : workers) {
      if (worker.slot == slot && worker.state == WorkerState::Ready) ready = true;
    }
    if (ready) ++ready_slots;
  }
  return ready_slots;
}

bool everySlotReady(const WorkerMap& workers, int slots) { return readySlots(workers, slots) == std::max(slots, 0); }

}  // namespace cosp::supervisor
