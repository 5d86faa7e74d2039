#pragma once

#include <sys/types.h>

#include <chrono>
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
#include "supervisor/ctl_dispatch.h"
#include "supervisor/listener.h"
#include "supervisor/reload_sequence.h"
#include "supervisor/respawn_policy.h"
#include "supervisor/status_report.h"
#include "supervisor/worker_process.h"

namespace cosp::supervisor {

class AccountPool;
class UsagePoller;
class CredentialManager;
class CatalogManager;
class HttpTransport;
class KeysManager;

struct StartupConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The master process: owns the listening socket, the workers, the credentials and the control
// socket, all driven from one single-threaded poll loop (signalfd, worker channels, control
// clients, timers). It never handles an HTTP request and never blocks: anything slow (the OAuth
// refresh, the model catalog fetch) runs elsewhere and reports back through a descriptor this
// loop polls.
//
// The decisions it takes on a timer live in pure code with the time as a parameter: respawn
// back-off (respawn_policy.h), the reload steps (reload_sequence.h), kill and stop deadlines
// (deadlines.h). What it reports lives in status_report.h, the control commands in
// ctl_dispatch.h, what a worker is started with in worker_environment.h. The reload and stop
// transitions are defined in reload_and_stop.cpp.
class Supervisor {
 public:
  // `args` are the command-line arguments used to (re)load the configuration on HUP.
  // Throws StartupConfigError for operator input that cannot work (exit 78) and
  // std::runtime_error for anything else that prevents starting (exit 1).
  Supervisor(common::Config config, std::vector<std::string> args);
  ~Supervisor();

  // Runs until stopped; returns the process exit code (common/os/exit_codes.h: 0, 1 or 78).
  int run();

 private:
  using Clock = std::chrono::steady_clock;
  using Phase = SupervisorPhase;

  bool pollOnce(std::vector<pollfd>& fds);
  pid_t spawnWorker(int slot);
  void onSignal(int signo);
  void reapChildren();
  void onWorkerExit(pid_t pid, int status);
  void onChannelReadable(WorkerProcess& worker);
  void onWorkerMessage(WorkerProcess& worker, const std::string& message);
  void onWorkerReady(WorkerProcess& worker);
  void onTimers();
  void killOverdueWorkers(Clock::time_point now);

  ReloadStart beginReload();
  void reloadStep();
  void finishReload(bool ok, const std::string& why);
  void beginStop(bool graceful);
  void drainWorker(WorkerProcess& worker, std::chrono::milliseconds grace);

  void broadcastCredentials();
  void sendAccountCredentials(const std::string& account);
  void broadcastRoster();
  void onAccountsControl(const std::string& action, const std::string& name, std::string& error);
  void broadcastCatalog();
  // Re-reads API_KEYS_FILE and sends the table to every worker; the error when the file is refused.
  std::optional<std::string> reloadKeys();
  void pushMetrics();
  void updateSystemdStatus();
  bool allSlotsReady() const;
  SupervisorView view() const;
  std::string handleControl(const std::string& request);

  std::vector<std::string> args_;
  common::Config config_;
  uint64_t generation_ = 1;
  Phase phase_ = Phase::Starting;
  int exit_code_ = common::kExitOk;
  bool fast_stop_ = false;
  Clock::time_point started_;

  common::SignalFd signals_;
  Listener listener_;
  Listener old_listener_;  // kept until a reload to a new address completes
  std::unique_ptr<ControlServer> control_;
  // Built here, not by the managers, so a reload can give both the new fingerprint.
  std::shared_ptr<HttpTransport> credential_transport_, catalog_transport_, usage_transport_;
  std::unique_ptr<CredentialManager> credentials_;
  // Every account (SPEC §9); `default` is credentials_ above, the others are the pool's own.
  std::unique_ptr<AccountPool> accounts_;
  std::unique_ptr<UsagePoller> usage_;       // every account's quota, every 5 minutes
  std::unique_ptr<CatalogManager> catalog_;  // fetched with credentials_' token, pushed to workers
  std::unique_ptr<KeysManager> keys_;        // API_KEYS_FILE, the limits zone, usage persistence

  std::vector<SlotSchedule> slots_;
  WorkerMap workers_;
  common::WorkerCounters retired_counters_;  // totals of workers that have exited
  common::UpstreamObservation upstream_;     // the newest backend observation of any worker
  ReloadSequence reload_;
  std::optional<ReloadResult> last_reload_;  // for `ctl status` and `ctl reload`

  std::optional<std::chrono::microseconds> watchdog_interval_;
  Clock::time_point next_watchdog_;
  Clock::time_point next_metrics_push_;
  std::string last_status_;
};

}  // namespace cosp::supervisor
