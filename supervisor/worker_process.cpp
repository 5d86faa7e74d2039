#include "supervisor/worker_process.h"

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

bool everySlotReady(const WorkerMap& workers, int slots) {
  for (int slot = 0; slot < slots; ++slot) {
    bool ready = false;
    for (const auto& [pid, worker] : workers) {
      if (worker.slot == slot && worker.state == WorkerState::Ready) ready = true;
    }
    if (!ready) return false;
  }
  return true;
}

}  // namespace cosp::supervisor
