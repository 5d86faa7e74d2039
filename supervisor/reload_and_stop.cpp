// The supervisor's two transitions that involve every worker: a reload (SIGHUP, `ctl reload`)
// and a stop (SIGTERM, SIGINT, SIGQUIT, `ctl stop`). The rest of the class is in supervisor.cpp.
#include <signal.h>

#include "common/codex/fingerprint.h"
#include "common/config/config_loader.h"
#include "common/log/log.h"
#include "common/os/systemd.h"
#include "supervisor/accounts/account_pool.h"
#include "supervisor/accounts/usage_poll.h"
#include "supervisor/catalog/catalog_manager.h"
#include "supervisor/credentials/credential_manager.h"
#include "supervisor/credentials/http_transport.h"
#include "supervisor/deadlines.h"
#include "supervisor/keys_manager.h"
#include "supervisor/supervisor.h"

namespace cosp::supervisor {

using std::chrono::milliseconds;

void Supervisor::drainWorker(WorkerProcess& worker, milliseconds grace) {
  worker.state = WorkerState::Draining;
  worker.kill_at = drainKillAt(Clock::now(), grace);
  if (!worker.channel.send(common::encodeDrain(grace.count()))) ::kill(worker.pid, SIGTERM);
  common::logInfo("worker_drain").field("slot", worker.slot).field("worker_pid", static_cast<int64_t>(worker.pid));
}

ReloadStart Supervisor::beginReload() {
  if (phase_ == Phase::Stopping) return ReloadStart{false, 0, "the proxy is stopping"};
  if (phase_ == Phase::Reloading) {
    common::logWarn("reload_ignored").field("reason", "a reload is already in progress");
    return ReloadStart{false, 0, "a reload is already in progress"};
  }
  auto loaded = common::loadConfig(args_, common::processEnv());
  if (!loaded) {
    // A bad edit must not take a serving proxy down: keep the running configuration.
    common::logError("reload_rejected").field("reason", loaded.error().message);
    return ReloadStart{false, 0, loaded.error().message};
  }
  common::Config next = loaded->config;
  if (next.control_socket != config_.control_socket) {
    common::logWarn("reload_control_socket_unchanged").field("reason", "CONTROL_SOCKET changes need a restart");
    next.control_socket = config_.control_socket;
  }
  // The keys file is re-read with the configuration; a bad one rejects the reload (the old keys
  // keep serving), and a good one is in force at once, before the workers are replaced.
  if (next.api_keys_file != keys_->file()) keys_->setFile(next.api_keys_file);
  if (auto error = reloadKeys()) {
    keys_->setFile(config_.api_keys_file);
    return ReloadStart{false, 0, "API_KEYS_FILE: " + *error};
  }
  if (listener_.differsFrom(next)) {
    try {
      Listener fresh = Listener::open(next);
      old_listener_ = std::move(listener_);
      listener_ = std::move(fresh);
    } catch (const std::exception& e) {
      common::logError("reload_rejected").field("reason", e.what());
      return ReloadStart{false, 0, e.what()};
    }
  }
  common::Log::configure(next.log_level, next.log_format, "supervisor");
  // A `codex-sub-proxy login` may have written new credentials since the start.
  credentials_->reloadStore();
  accounts_->setStrategy(next.account_strategy);
  accounts_->rescan();  // accounts added or re-logged since the last scan
  common::sdNotify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(common::monotonicMicros()));
  phase_ = Phase::Reloading;
  config_ = std::move(next);
  const common::CodexFingerprint fingerprint =
      common::codexFingerprint(config_.originator, config_.codexClientVersion());
  credential_transport_->setFingerprint(fingerprint);
  catalog_transport_->setFingerprint(fingerprint);
  usage_transport_->setFingerprint(fingerprint);
  usage_->setUsageUrl(config_.codexUsageUrl());
  catalog_->reconfigure(catalogSettingsFromConfig(config_));
  ++generation_;
  common::logInfo("reload_begin").field("generation", generation_).field("workers", config_.workers);

  // Slots beyond the new count are drained; the others are replaced one by one, new before old.
  for (auto& [pid, worker] : workers_) {
    if (worker.slot >= config_.workers && worker.state != WorkerState::Draining)
      drainWorker(worker, config_.shutdown_grace);
  }
  slots_.resize(static_cast<size_t>(config_.workers));
  reload_.begin(config_.workers);
  const uint64_t started_generation = generation_;
  reloadStep();
  return ReloadStart{true, started_generation, ""};
}

void Supervisor::reloadStep() {
  if (phase_ != Phase::Reloading) return;
  std::optional<int> slot = reload_.nextSlot();
  if (!slot) {
    finishReload(true, "");
    return;
  }
  pid_t pid = spawnWorker(*slot);
  if (pid < 0) {
    finishReload(false, "could not start a new worker");
    return;
  }
  reload_.started(pid, Clock::now());
}

void Supervisor::finishReload(bool ok, const std::string& why) {
  reload_.clear();
  if (ok) old_listener_.close();
  phase_ = Phase::Running;
  last_reload_ = ReloadResult{generation_, ok, why};
  if (ok) {
    common::logInfo("reload_done").field("generation", generation_);
  } else {
    common::logError("reload_failed").field("reason", why).field("generation", generation_);
  }
  common::sdNotify("READY=1");
  updateSystemdStatus();
}

void Supervisor::beginStop(bool graceful) {
  bool first = phase_ != Phase::Stopping;
  phase_ = Phase::Stopping;
  reload_.clear();
  if (first) common::sdNotify("STOPPING=1");
  // Close our copy of the listening socket: once the workers close theirs, new connections are
  // refused at once instead of waiting in a backlog nobody will accept from.
  listener_.close();
  old_listener_.close();
  if (graceful && !fast_stop_) {
    common::logInfo("shutdown_graceful").field("grace_ms", static_cast<int64_t>(config_.shutdown_grace.count()));
    for (auto& [pid, worker] : workers_) {
      if (worker.state != WorkerState::Draining) drainWorker(worker, config_.shutdown_grace);
    }
    if (auto extend = stopTimeoutExtension(config_.shutdown_grace)) {
      common::sdNotify("EXTEND_TIMEOUT_USEC=" + std::to_string(extend->count()));
    }
    return;
  }
  fast_stop_ = true;
  common::logInfo("shutdown_fast");
  for (auto& [pid, worker] : workers_) {
    worker.channel.send(common::encodeSimple(common::msg::kStop));
    ::kill(pid, SIGQUIT);
    worker.state = WorkerState::Draining;
    worker.kill_at = fastStopKillAt(Clock::now());
  }
}

}  // namespace cosp::supervisor
