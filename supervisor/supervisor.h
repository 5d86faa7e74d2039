#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/ipc/messages.h"
#include "common/json/json_value.h"
#include "common/os/exit_codes.h"
#include "common/os/signals.h"
#include "supervisor/control_server.h"
#include "supervisor/listener.h"
#include "supervisor/respawn_policy.h"
#include "supervisor/worker_process.h"

namespace cosp::supervisor {

class CredentialManager;

struct StartupConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The master process: owns the listening socket, the workers, the credentials and the control
// socket, all driven from one single-threaded poll loop (signalfd, worker channels, control
// clients, timers). It never handles an HTTP request and never blocks: anything slow (the OAuth
// refresh) runs elsewhere and reports back through a descriptor this loop polls.
class Supervisor {
 public:
  // `args` are the command-line arguments used to (re)load the configuration on HUP.
  // Throws StartupConfigError for operator input that cannot work (exit 78) and
  // std::runtime_error for anything else that prevents starting (exit 1).
  Supervisor(common::Config config, std::vector<std::string> args);
  ~Supervisor();

  // Runs until stopped; returns the process exit code (0, 1 or 78).
  int run();

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { Starting, Running, Reloading, Stopping };

  struct Slot {
    RespawnPolicy respawn;
    int restarts = 0;
    std::optional<Clock::time_point> respawn_at;
  };

  void spawnWorker(int slot);
  void onSignal(int signo);
  void reapChildren();
  void onWorkerExit(pid_t pid, int status);
  void onChannelReadable(WorkerProcess& worker);
  void onWorkerMessage(WorkerProcess& worker, const std::string& message);
  void onTimers();
  Clock::time_point nextDeadline() const;

  void beginReload();
  void reloadStep();
  void finishReload(bool ok, const std::string& why);
  void beginStop(bool graceful);
  void drainWorker(WorkerProcess& worker, std::chrono::milliseconds grace);

  void broadcastCredentials();
  void pushMetrics();
  common::WorkerCounters metricSeries() const;
  void updateSystemdStatus();
  bool allSlotsReady() const;
  std::string handleControl(const std::string& request);
  common::JsonValue statusReport() const;

  std::vector<std::string> args_;
  common::Config config_;
  uint64_t generation_ = 1;
  Phase phase_ = Phase::Starting;
  int exit_code_ = common::kExitOk;
  bool fast_stop_ = false;
  Clock::time_point started_;
  Clock::time_point stop_deadline_;

  common::SignalFd signals_;
  Listener listener_;
  Listener old_listener_;  // kept until a reload to a new address completes
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<CredentialManager> credentials_;
  std::string credentials_warning_;

  std::vector<Slot> slots_;
  std::map<pid_t, WorkerProcess> workers_;
  common::WorkerCounters retired_counters_;  // totals of workers that have exited
  common::UpstreamObservation upstream_;     // the newest backend observation of any worker

  // Reload bookkeeping: slots still to replace, and the new worker we are waiting for.
  std::vector<int> reload_queue_;
  pid_t reload_waiting_pid_ = -1;
  Clock::time_point reload_step_deadline_;

  std::optional<std::chrono::microseconds> watchdog_interval_;
  Clock::time_point next_watchdog_;
  Clock::time_point next_metrics_push_;
  std::string last_status_;
};

}  // namespace cosp::supervisor
