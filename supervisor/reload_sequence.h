#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <vector>

namespace cosp::supervisor {

// The steps of a reload. Workers are replaced slot by slot, new before old: a worker of the new
// generation is started for the slot, the reload waits until it is ready (at most
// `ready_timeout`), then the slot's older workers are drained and the next slot goes. So no
// connection is refused and no stream is cut while the configuration changes.
//
// This class only keeps the order and the deadline; the supervisor starts and drains the
// processes. Time is a parameter: nothing here reads a clock.
class ReloadSequence {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit ReloadSequence(std::chrono::milliseconds ready_timeout) : ready_timeout_(ready_timeout) {}

  // Starts over with slots 0..slots-1 to replace.
  void begin(int slots);
  // Forgets the reload (finished, failed or superseded by a stop).
  void clear();

  // The slot whose new worker is to be started now; nullopt when every slot was replaced.
  std::optional<int> nextSlot() const;
  // The new worker for nextSlot() was started at `now` as `pid`: wait for it.
  void started(pid_t pid, TimePoint now);
  // `pid` reported ready. True when it is the worker the reload waits for: then its slot is done
  // (the caller drains the slot's older workers) and nextSlot() moves on.
  bool onReady(pid_t pid);

  bool waitingFor(pid_t pid) const { return waiting_pid_ > 0 && pid == waiting_pid_; }
  pid_t waitingPid() const { return waiting_pid_; }
  // The waited-for worker is not ready and `now` is past its deadline: the reload is abandoned.
  bool timedOut(TimePoint now) const { return waiting_pid_ > 0 && now > deadline_; }
  std::optional<TimePoint> deadline() const;

 private:
  std::chrono::milliseconds ready_timeout_;
  std::vector<int> queue_;  // slots still to replace, in order
  pid_t waiting_pid_ = -1;
  TimePoint deadline_{};
};

}  // namespace cosp::supervisor
