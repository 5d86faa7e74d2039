#include "supervisor/supervisor.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/config/config_codec.h"
#include "common/ipc/account_messages.h"
#include "common/keys/usage_snapshot.h"
#include "common/log/log.h"
#include "common/metrics/prometheus.h"
#include "common/os/spawn.h"
#include "common/os/systemd.h"
#include "common/version.h"
#include "supervisor/accounts/account_pool.h"
#include "supervisor/accounts/usage_poll.h"
#include "supervisor/catalog/catalog_manager.h"
#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_manager.h"
#include "supervisor/credentials/http_transport.h"
#include "supervisor/ctl_dispatch.h"
#include "supervisor/deadlines.h"
#include "supervisor/keys_manager.h"
#include "supervisor/worker_environment.h"

namespace cosp::supervisor {

namespace {

using std::chrono::milliseconds;

// SPEC §9: each logged-in account's quota is asked for this often (CODEX_USAGE_URL).
constexpr milliseconds kUsagePollInterval{5 * 60 * 1000};

std::string describeExit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int64_t unixMillisNow() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Supervisor::Supervisor(common::Config config, std::vector<std::string> args)
    : args_(std::move(args)),
      config_(std::move(config)),
      started_(Clock::now()),
      signals_({SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD}),
      listener_(Listener::open(config_)),
      reload_(kBootTimeout) {
  control_ = std::make_unique<ControlServer>(config_.control_socket,
                                             [this](const std::string& request) { return handleControl(request); });
  const CredentialSettings credential_settings = credentialSettingsFromConfig(config_);
  // Two transports with the same proxy, CA file and fingerprint: cancelling a hung catalog fetch at
  // shutdown must not cut a token refresh short.
  for (auto* transport : {&credential_transport_, &catalog_transport_, &usage_transport_}) {
    auto made = makeTransportFor(credential_settings);
    if (!made.ok()) throw StartupConfigError(made.error());
    *transport = made.value();
  }
  CredentialManager::Hooks hooks;
  hooks.transport = credential_transport_;
  auto credentials = CredentialManager::create(credential_settings, RealClock::instance(), std::move(hooks));
  if (!credentials) {
    const CredentialSetupError& error = credentials.error();
    if (error.kind == CredentialSetupError::Kind::Config) throw StartupConfigError(error.message);
    throw std::runtime_error(error.message);
  }
  credentials_ = std::move(credentials.value());
  accounts_ = std::make_unique<AccountPool>(AccountPool::Settings{credential_settings, config_.account_strategy},
                                            RealClock::instance(), credential_transport_, *credentials_);
  accounts_->on_credentials_change = [this](const std::string& account) { sendAccountCredentials(account); };
  accounts_->on_roster_change = [this] { broadcastRoster(); };
  auto usage = UsagePoller::create(usage_transport_, config_.codexUsageUrl(), *accounts_, kUsagePollInterval);
  if (!usage.ok()) throw std::runtime_error(usage.error());
  usage_ = std::move(usage.value());

  auto catalog = CatalogManager::create(catalogSettingsFromConfig(config_), catalog_transport_, RealClock::instance());
  if (!catalog.ok()) throw std::runtime_error(catalog.error());
  catalog_ = std::move(catalog.value());
  catalog_->on_change = [this] { broadcastCatalog(); };
  catalog_->on_unauthorized = [this](uint64_t generation) { credentials_->reportUnauthorized(generation); };
  catalog_->onCredentials(credentials_->current());
  credentials_->on_change = [this] {
    broadcastCredentials();
    catalog_->onCredentials(credentials_->current());
    accounts_->onDefaultChanged();
  };

  keys_ = std::make_unique<KeysManager>(config_.api_keys_file, config_.state_dir);
  if (auto error = keys_->load()) throw StartupConfigError("API_KEYS_FILE: " + *error);

  slots_.resize(static_cast<size_t>(config_.workers));
  watchdog_interval_ = common::watchdogInterval();
  next_watchdog_ = Clock::now();
}

Supervisor::~Supervisor() = default;

int Supervisor::run() {
  common::logInfo("supervisor_start")
      .field("version", kVersion)
      .field("listen", listener_.address())
      .field("workers", config_.workers)
      .field("control_socket", control_->path())
      .field("caller_auth", !config_.api_keys.empty() || !config_.api_keys_file.empty())
      .field("file_keys", static_cast<int64_t>(keys_->keyCount()));
  if (config_.api_keys.empty() && config_.api_keys_file.empty()) {
    common::logWarn("caller_auth_disabled").field("reason", "PROXY_API_KEY is not set; every caller is accepted");
  }
  for (int i = 0; i < config_.workers; ++i) spawnWorker(i);

  std::vector<pollfd> fds;
  while (!(phase_ == Phase::Stopping && workers_.empty())) {
    if (!pollOnce(fds)) return common::kExitFailure;
    onTimers();
  }

  if (auto error = keys_->saveUsage()) common::logWarn("keys_usage_save_failed").field("error", *error);
  common::sdNotify("STATUS=stopped");
  common::logInfo("supervisor_exit").field("code", exit_code_);
  return exit_code_;
}

// One turn of the loop: waits until a descriptor is ready or the next deadline, then handles
// what is ready. False when poll itself fails.
bool Supervisor::pollOnce(std::vector<pollfd>& fds) {
  fds.clear();
  fds.push_back({signals_.fd(), POLLIN, 0});
  if (int fd = credentials_->eventFd(); fd >= 0) fds.push_back({fd, POLLIN, 0});
  fds.push_back({catalog_->eventFd(), POLLIN, 0});
  for (int fd : accounts_->eventFds()) fds.push_back({fd, POLLIN, 0});
  fds.push_back({usage_->eventFd(), POLLIN, 0});
  control_->appendPollFds(fds);
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid()) fds.push_back({worker.channel.fd(), POLLIN, 0});
  }
  const auto now = Clock::now();
  const auto wake = nextWake(
      now, slots_, workers_,
      {credentials_->nextDeadline(), catalog_->nextDeadline(), accounts_->nextDeadline(), usage_->nextDeadline(),
       reload_.deadline(), watchdog_interval_ ? std::optional(next_watchdog_) : std::nullopt});
  auto wait = std::chrono::duration_cast<milliseconds>(wake - now);
  int timeout = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, kLoopTick.count()));
  int ready = ::poll(fds.data(), fds.size(), timeout);
  if (ready < 0 && errno != EINTR) {
    common::logError("poll_failed").field("error", std::strerror(errno));
    return false;
  }
  for (const auto& pfd : fds) {
    if (pfd.revents == 0) continue;
    if (pfd.fd == signals_.fd()) {
      while (auto signo = signals_.read()) onSignal(*signo);
    } else if (pfd.fd == credentials_->eventFd()) {
      credentials_->onEvent();
    } else if (pfd.fd == catalog_->eventFd()) {
      catalog_->onEvent();
    } else if (pfd.fd == usage_->eventFd()) {
      usage_->onEvent();
    } else if (accounts_->onEvent(pfd.fd)) {
      // one of the other accounts' refresh jobs finished
    } else if (control_->handle(pfd.fd, pfd.revents)) {
      // handled by the control server
    } else {
      for (auto& [pid, worker] : workers_) {
        if (worker.channel.valid() && worker.channel.fd() == pfd.fd) {
          onChannelReadable(worker);
          break;
        }
      }
    }
  }
  return true;
}

// Starts a worker of the current generation for `slot`; its pid, or -1 (then a retry is
// scheduled for the slot).
pid_t Supervisor::spawnWorker(int slot) {
  auto [parent_end, child_end] = common::Channel::makePair();
  int parent_fd = common::raiseFd(parent_end.release());
  int child_fd = common::raiseFd(child_end.release());
  common::UniqueFd child_guard(child_fd);

  WorkerLaunch launch = workerLaunch(slot, generation_);
  // The keys zone is descriptor 5; the worker's row of in-flight leases comes as an argument.
  const uint32_t lease_row = keys_->takeLeaseRow();
  launch.argv.insert(launch.argv.end(), {"--lease-row", std::to_string(lease_row)});
  pid_t pid = common::spawnProcess(launch.argv, launch.env, {listener_.fd(), child_fd, keys_->zoneFd()});
  if (pid < 0) {
    keys_->releaseLeaseRow(lease_row);
    ::close(parent_fd);
    common::logError("worker_spawn_failed").field("slot", slot).field("error", std::strerror(errno));
    slots_[slot].onSpawnFailed(Clock::now());
    return -1;
  }

  WorkerProcess worker;
  worker.slot = slot;
  worker.pid = pid;
  worker.lease_row = lease_row;
  worker.generation = generation_;
  worker.channel = common::Channel(common::UniqueFd(parent_fd));
  worker.started = worker.last_heartbeat = Clock::now();
  // The channel buffers these until the worker reads them, so no handshake is needed: the
  // configuration is always the first message a worker sees.
  worker.channel.send(common::encodeWorkerConfig(config_));
  worker.channel.send(common::encodeCredentials(credentials_->current()));
  // Several accounts: every other account's credentials, then the roster, before the catalog so
  // the worker holds them all before it serves (worker_app.cpp, receiveInitialState). With one
  // account this adds only the roster.
  for (const std::string& account : accounts_->names()) {
    if (account == common::kDefaultAccountName) continue;
    if (const auto* creds = accounts_->credentials(account)) {
      worker.channel.send(common::encodeAccountCredentials(account, *creds));
    }
  }
  worker.channel.send(common::encodeAccountRoster(accounts_->roster()));
  worker.channel.send(catalog_->message());
  worker.channel.send(keys_->message());
  workers_.emplace(pid, std::move(worker));
  slots_[slot].onSpawned();
  common::logInfo("worker_spawned")
      .field("slot", slot)
      .field("worker_pid", static_cast<int64_t>(pid))
      .field("generation", generation_);
  return pid;
}

void Supervisor::onSignal(int signo) {
  switch (signo) {
    case SIGCHLD:
      reapChildren();
      break;
    case SIGHUP:
      beginReload();
      break;
    case SIGTERM:
      // A second TERM while draining means "now" (ClickHouse's rule).
      beginStop(phase_ != Phase::Stopping);
      break;
    case SIGINT:
    case SIGQUIT:
      beginStop(false);
      break;
    default:
      break;
  }
}

void Supervisor::reapChildren() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;  // as PID 1 in Docker we also reap orphans we never started
    onWorkerExit(pid, status);
  }
}

void Supervisor::onWorkerExit(pid_t pid, int status) {
  auto it = workers_.find(pid);
  if (it == workers_.end()) return;
  WorkerProcess worker = std::move(it->second);
  workers_.erase(it);
  // Its in-flight leases go back to their keys, whatever way it ended.
  keys_->releaseLeaseRow(worker.lease_row);
  addCounters(retired_counters_, worker.counters, false);
  accounts_->onWorkerGone(pid);
  const auto now = Clock::now();
  auto uptime = std::chrono::duration_cast<milliseconds>(now - worker.started);
  bool expected = worker.state == WorkerState::Draining || phase_ == Phase::Stopping;
  auto line = expected ? common::logInfo("worker_exit") : common::logWarn("worker_died");
  line.field("slot", worker.slot)
      .field("worker_pid", static_cast<int64_t>(pid))
      .field("status", describeExit(status))
      .field("uptime_ms", static_cast<int64_t>(uptime.count()));

  if (expected) return;

  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (reload_.waitingFor(pid)) {
    finishReload(false, "a new worker failed to start (" + describeExit(status) + ")");
    return;
  }
  if (phase_ == Phase::Starting && worker.state == WorkerState::Starting &&
      (code == common::kExitConfig || code == common::kExitWorkerBootFailed)) {
    // A worker that cannot boot with a configuration we validated will not boot on retry either.
    common::logError("worker_boot_failed").field("slot", worker.slot).field("status", describeExit(status));
    exit_code_ = code == common::kExitConfig ? common::kExitConfig : common::kExitFailure;
    beginStop(false);
    return;
  }
  if (worker.slot >= static_cast<int>(slots_.size())) return;  // slot removed by a reload
  auto delay = slots_[worker.slot].onUnexpectedExit(now, uptime);
  common::logInfo("worker_respawn_scheduled")
      .field("slot", worker.slot)
      .field("delay_ms", static_cast<int64_t>(delay.count()));
  updateSystemdStatus();
}

void Supervisor::onChannelReadable(WorkerProcess& worker) {
  std::string message;
  for (;;) {
    auto status = worker.channel.receive(message);
    if (status == common::Channel::Status::Message) {
      onWorkerMessage(worker, message);
      continue;
    }
    if (status == common::Channel::Status::Closed || status == common::Channel::Status::Error) {
      // The worker closed its end: it is exiting (SIGCHLD follows) or broken; make sure it goes.
      worker.channel.close();
      if (worker.state != WorkerState::Draining && !worker.channel_lost) {
        worker.channel_lost = true;
        worker.kill_at = channelLostKillAt(Clock::now());
      }
    }
    return;
  }
}

void Supervisor::onWorkerMessage(WorkerProcess& worker, const std::string& message) {
  worker.last_heartbeat = Clock::now();
  std::string type = common::messageType(message);
  if (type == common::msg::kReady) {
    onWorkerReady(worker);
  } else if (type == common::msg::kHeartbeat) {
    if (auto beat = common::decodeHeartbeat(message)) {
      worker.counters = std::move(beat->counters);
      // Keep the newest view of the backend across all workers (and beyond their lifetime).
      keepNewest(upstream_, beat->upstream);
      if (auto seen = common::decodeHeartbeatAccounts(message)) accounts_->onHeartbeat(worker.pid, *seen);
    }
  } else if (type == common::msg::kUnauthorized) {
    if (auto report = common::decodeAccountGenerationReport(message)) {
      if (report->account == common::kDefaultAccountName) {
        credentials_->reportUnauthorized(report->generation);
      } else {
        accounts_->reportUnauthorized(report->account, report->generation);
      }
    }
  } else if (type == common::msg::kRefreshNeeded) {
    if (auto report = common::decodeAccountGenerationReport(message)) {
      if (report->account == common::kDefaultAccountName) {
        credentials_->reportRefreshNeeded(report->generation);
      } else {
        accounts_->reportRefreshNeeded(report->account, report->generation);
      }
    }
  } else if (type == common::msg::kAccountFailed) {
    if (auto failure = common::decodeAccountFailed(message)) {
      accounts_->onAccountFailed(*failure);
    } else {
      common::logWarn("account_failed_malformed").field("slot", worker.slot);
    }
  } else {
    common::logWarn("worker_message_unknown").field("slot", worker.slot);
  }
}

void Supervisor::onWorkerReady(WorkerProcess& worker) {
  if (worker.state != WorkerState::Starting) return;
  worker.state = WorkerState::Ready;
  common::logInfo("worker_ready").field("slot", worker.slot).field("worker_pid", static_cast<int64_t>(worker.pid));
  if (reload_.onReady(worker.pid)) {
    // New before old: only now does the previous worker of this slot stop accepting.
    for (auto& [pid, other] : workers_) {
      if (other.slot == worker.slot && other.pid != worker.pid && other.state != WorkerState::Draining) {
        drainWorker(other, config_.shutdown_grace);
      }
    }
    reloadStep();
  }
  if (phase_ == Phase::Starting && allSlotsReady()) {
    phase_ = Phase::Running;
    common::sdNotify("READY=1");
    common::logInfo("supervisor_ready").field("workers", config_.workers).field("listen", listener_.address());
  }
  updateSystemdStatus();
}

void Supervisor::onTimers() {
  auto now = Clock::now();
  control_->expire(now);
  // Compare against a fresh clock reading: a deadline meaning "now" is computed after `now` above.
  if (auto deadline = credentials_->nextDeadline(); deadline && *deadline <= Clock::now()) credentials_->onTick();
  if (auto deadline = catalog_->nextDeadline(); deadline && *deadline <= Clock::now()) catalog_->onTick();
  if (auto deadline = accounts_->nextDeadline(); deadline && *deadline <= Clock::now()) accounts_->onTick();
  if (auto deadline = usage_->nextDeadline(); deadline && *deadline <= Clock::now()) usage_->onTick();

  killOverdueWorkers(now);

  if (phase_ != Phase::Stopping) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].due(now)) spawnWorker(static_cast<int>(i));
    }
    if (reload_.timedOut(now)) {
      ::kill(reload_.waitingPid(), SIGKILL);  // reaped later; the reload is abandoned
      finishReload(false, "a new worker did not become ready in time");
    }
  }

  keys_->onTick(now);

  if (now >= next_metrics_push_) {
    pushMetrics();
    next_metrics_push_ = now + std::chrono::seconds(1);
  }

  if (watchdog_interval_ && now >= next_watchdog_) {
    common::sdNotify("WATCHDOG=1");
    next_watchdog_ = now + *watchdog_interval_;
  }
}

void Supervisor::killOverdueWorkers(Clock::time_point now) {
  for (auto& [pid, worker] : workers_) {
    const KillVerdict verdict = killVerdict(worker, now);
    if (verdict == KillVerdict::Spare) continue;
    common::logWarn(verdict == KillVerdict::Hung ? "worker_hung" : "worker_drain_overdue")
        .field("slot", worker.slot)
        .field("worker_pid", static_cast<int64_t>(pid));
    ::kill(pid, SIGKILL);
    worker.kill_sent = true;
  }
}

SupervisorView Supervisor::view() const {
  std::vector<int> restarts;
  for (const SlotSchedule& slot : slots_) restarts.push_back(slot.restarts());
  return SupervisorView{Clock::now(),
                        unixMillisNow(),
                        started_,
                        ::getpid(),
                        listener_.fd() >= 0 ? listener_.address() : "closed",
                        phase_,
                        generation_,
                        config_.workers,
                        workers_,
                        std::move(restarts),
                        retired_counters_,
                        upstream_,
                        *credentials_,
                        catalog_->report(),
                        last_reload_,
                        accounts_->status(),
                        accounts_->totals()};
}

void Supervisor::pushMetrics() {
  common::MetricSeries series = metricSeries(view());
  keys_->addMetrics(series);
  std::string message = common::encodeMetrics(common::renderPrometheus(series) + keys_->cacheRatioText());
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid() && worker.state != WorkerState::Draining) worker.channel.send(message);
  }
}

void Supervisor::broadcastCredentials() {
  std::string message = common::encodeCredentials(credentials_->current());
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid() && !worker.channel.send(message)) {
      common::logWarn("credentials_send_failed").field("slot", worker.slot);
    }
  }
  updateSystemdStatus();
}

void Supervisor::sendAccountCredentials(const std::string& account) {
  const common::WorkerCredentials* creds = accounts_->credentials(account);
  if (creds == nullptr) return;
  std::string message = common::encodeAccountCredentials(account, *creds);
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid() && !worker.channel.send(message)) {
      common::logWarn("credentials_send_failed").field("slot", worker.slot).field("account", account);
    }
  }
}

void Supervisor::broadcastRoster() {
  std::string message = common::encodeAccountRoster(accounts_->roster());
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid() && !worker.channel.send(message)) {
      common::logWarn("accounts_send_failed").field("slot", worker.slot);
    }
  }
}

void Supervisor::broadcastCatalog() {
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid() && !worker.channel.send(catalog_->message())) {
      common::logWarn("catalog_send_failed").field("slot", worker.slot);
    }
  }
}

std::optional<std::string> Supervisor::reloadKeys() {
  if (auto error = keys_->load()) {
    common::logError("keys_reload_rejected").field("reason", *error);
    return error;
  }
  std::string message = keys_->message();
  for (auto& [pid, worker] : workers_) {
    if (worker.channel.valid() && !worker.channel.send(message)) {
      common::logWarn("keys_send_failed").field("slot", worker.slot);
    }
  }
  common::logInfo("keys_reloaded").field("keys", static_cast<int64_t>(keys_->keyCount()));
  return std::nullopt;
}

bool Supervisor::allSlotsReady() const { return everySlotReady(workers_, static_cast<int>(slots_.size())); }

void Supervisor::updateSystemdStatus() {
  int ready = 0;
  for (const auto& [pid, worker] : workers_) {
    if (worker.state == WorkerState::Ready) ++ready;
  }
  std::string status = "STATUS=" + std::to_string(ready) + "/" + std::to_string(config_.workers) +
                       " workers ready, credentials " +
                       std::string(common::credentialStateName(credentials_->current().state)) + ", generation " +
                       std::to_string(generation_);
  if (status != last_status_) {
    common::sdNotify(status);
    last_status_ = status;
  }
}

std::string Supervisor::handleControl(const std::string& request) {
  ControlCommands commands;
  commands.status = [this] { return statusReport(view()); };
  commands.reload = [this] { return beginReload(); };
  commands.stop = [this] { beginStop(true); };
  commands.refresh = [this] { credentials_->forceRefresh(); };
  commands.keys_reload = [this] { return reloadKeys(); };
  commands.keys_usage = [this] { return common::keys::usageToJson(keys_->usage()); };
  commands.accounts = [this] { return accounts_->status(); };
  commands.account_action = [this](const std::string& action, const std::string& name) {
    return accounts_->setPaused(name, action == "pause");
  };
  return dispatchControl(request, commands);
}

}  // namespace cosp::supervisor
