#include "supervisor/supervisor.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/config/config_codec.h"
#include "common/config/config_loader.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "common/log/log.h"
#include "common/metrics/prometheus.h"
#include "common/os/exit_codes.h"
#include "common/os/spawn.h"
#include "common/os/systemd.h"
#include "common/version.h"
#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_manager.h"

extern char** environ;

namespace cosp::supervisor {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kHeartbeatTimeout{15000};  // a worker silent this long is hung: SIGKILL
constexpr milliseconds kBootTimeout{15000};       // a worker not ready this long is stuck
constexpr milliseconds kKillSlack{5000};          // after the drain grace, before SIGKILL
constexpr milliseconds kFastStopWait{2000};

// Variables a worker must never inherit: systemd's (its messages would be ignored or, for
// LISTEN_*, misread) and every credential (workers only get the access token over the channel).
bool keepInWorkerEnv(const char* entry) {
  static const char* const kDropped[] = {
      "NOTIFY_SOCKET=",  "WATCHDOG_USEC=",        "WATCHDOG_PID=",        "LISTEN_PID=",    "LISTEN_FDS=",
      "LISTEN_FDNAMES=", "OPENAI_REFRESH_TOKEN=", "OPENAI_ACCESS_TOKEN=", "PROXY_API_KEY=", "CODEX_AUTH_FILE="};
  for (const char* prefix : kDropped) {
    if (std::strncmp(entry, prefix, std::strlen(prefix)) == 0) return false;
  }
  return true;
}

std::string describeExit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int64_t msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t).count();
}

void addCounters(common::WorkerCounters& total, const common::WorkerCounters& add, bool include_gauges) {
  for (const auto& [name, value] : add) {
    if (!include_gauges && common::isGaugeSeries(name)) continue;
    total[name] += value;
  }
}

// Requests answered, and those with a 4xx / 5xx status, from the http_requests_total series.
struct RequestTotals {
  int64_t requests = 0, status_4xx = 0, status_5xx = 0;
};
RequestTotals requestTotals(const common::WorkerCounters& series) {
  RequestTotals t;
  for (const auto& [key, value] : series) {
    if (key.rfind("http_requests_total{", 0) != 0) continue;
    t.requests += value;
    auto pos = key.find("status=\"");
    if (pos != std::string::npos && key[pos + 8] == '4') t.status_4xx += value;
    if (pos != std::string::npos && key[pos + 8] == '5') t.status_5xx += value;
  }
  return t;
}

}  // namespace

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

Supervisor::Supervisor(common::Config config, std::vector<std::string> args)
    : args_(std::move(args)),
      config_(std::move(config)),
      started_(Clock::now()),
      signals_({SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD}),
      listener_(Listener::open(config_)) {
  control_ = std::make_unique<ControlServer>(config_.control_socket,
                                             [this](const std::string& request) { return handleControl(request); });
  auto credentials = CredentialManager::create(credentialSettingsFromConfig(config_), RealClock::instance());
  if (!credentials) {
    const CredentialSetupError& error = credentials.error();
    if (error.kind == CredentialSetupError::Kind::Config) throw StartupConfigError(error.message);
    throw std::runtime_error(error.message);
  }
  credentials_ = std::move(credentials.value());
  credentials_->on_change = [this] { broadcastCredentials(); };

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
      .field("caller_auth", !config_.api_keys.empty());
  if (config_.api_keys.empty()) {
    common::logWarn("caller_auth_disabled").field("reason", "PROXY_API_KEY is not set; every caller is accepted");
  }
  for (int i = 0; i < config_.workers; ++i) spawnWorker(i);

  std::vector<pollfd> fds;
  while (true) {
    if (phase_ == Phase::Stopping && workers_.empty()) break;

    fds.clear();
    fds.push_back({signals_.fd(), POLLIN, 0});
    if (int fd = credentials_->eventFd(); fd >= 0) fds.push_back({fd, POLLIN, 0});
    control_->appendPollFds(fds);
    for (auto& [pid, worker] : workers_) {
      if (worker.channel.valid()) fds.push_back({worker.channel.fd(), POLLIN, 0});
    }
    auto wait = std::chrono::duration_cast<milliseconds>(nextDeadline() - Clock::now());
    int timeout = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1000));
    int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      common::logError("poll_failed").field("error", std::strerror(errno));
      return common::kExitFailure;
    }
    for (const auto& pfd : fds) {
      if (pfd.revents == 0) continue;
      if (pfd.fd == signals_.fd()) {
        while (auto signo = signals_.read()) onSignal(*signo);
      } else if (pfd.fd == credentials_->eventFd()) {
        credentials_->onEvent();
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
    onTimers();
  }

  common::sdNotify("STATUS=stopped");
  common::logInfo("supervisor_exit").field("code", exit_code_);
  return exit_code_;
}

void Supervisor::spawnWorker(int slot) {
  auto [parent_end, child_end] = common::Channel::makePair();
  int parent_fd = common::raiseFd(parent_end.release());
  int child_fd = common::raiseFd(child_end.release());
  common::UniqueFd child_guard(child_fd);

  std::string binary = common::executableDir() + "/codex-sub-proxy-worker";
  std::vector<std::string> argv = {binary,
                                   "--slot",
                                   std::to_string(slot),
                                   "--generation",
                                   std::to_string(generation_),
                                   "--supervisor-pid",
                                   std::to_string(::getpid())};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (keepInWorkerEnv(*e)) env.emplace_back(*e);
  }
  pid_t pid = common::spawnProcess(argv, env, {listener_.fd(), child_fd});
  if (pid < 0) {
    ::close(parent_fd);
    common::logError("worker_spawn_failed").field("slot", slot).field("error", std::strerror(errno));
    slots_[slot].respawn_at = Clock::now() + slots_[slot].respawn.onExit(milliseconds(0));
    return;
  }

  WorkerProcess worker;
  worker.slot = slot;
  worker.pid = pid;
  worker.generation = generation_;
  worker.channel = common::Channel(common::UniqueFd(parent_fd));
  worker.started = worker.last_heartbeat = Clock::now();
  // The channel buffers these until the worker reads them, so no handshake is needed: the
  // configuration is always the first message a worker sees.
  worker.channel.send(common::encodeWorkerConfig(config_));
  worker.channel.send(common::encodeCredentials(credentials_->current()));
  workers_.emplace(pid, std::move(worker));
  slots_[slot].respawn_at.reset();
  common::logInfo("worker_spawned")
      .field("slot", slot)
      .field("worker_pid", static_cast<int64_t>(pid))
      .field("generation", generation_);
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
  addCounters(retired_counters_, worker.counters, false);
  auto uptime = std::chrono::duration_cast<milliseconds>(Clock::now() - worker.started);
  bool expected = worker.state == WorkerState::Draining || phase_ == Phase::Stopping;
  auto line = expected ? common::logInfo("worker_exit") : common::logWarn("worker_died");
  line.field("slot", worker.slot)
      .field("worker_pid", static_cast<int64_t>(pid))
      .field("status", describeExit(status))
      .field("uptime_ms", static_cast<int64_t>(uptime.count()));

  if (expected) return;

  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (pid == reload_waiting_pid_) {
    reload_waiting_pid_ = -1;
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
  Slot& slot = slots_[worker.slot];
  ++slot.restarts;
  auto delay = slot.respawn.onExit(uptime);
  slot.respawn_at = Clock::now() + delay;
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
        worker.kill_at = Clock::now() + kKillSlack;
      }
    }
    return;
  }
}

void Supervisor::onWorkerMessage(WorkerProcess& worker, const std::string& message) {
  worker.last_heartbeat = Clock::now();
  std::string type = common::messageType(message);
  if (type == common::msg::kReady) {
    if (worker.state != WorkerState::Starting) return;
    worker.state = WorkerState::Ready;
    common::logInfo("worker_ready").field("slot", worker.slot).field("worker_pid", static_cast<int64_t>(worker.pid));
    if (worker.pid == reload_waiting_pid_) {
      // New before old: only now does the previous worker of this slot stop accepting.
      reload_waiting_pid_ = -1;
      for (auto& [pid, other] : workers_) {
        if (other.slot == worker.slot && other.pid != worker.pid && other.state != WorkerState::Draining) {
          drainWorker(other, config_.shutdown_grace);
        }
      }
      if (!reload_queue_.empty()) reload_queue_.erase(reload_queue_.begin());
      reloadStep();
    }
    if (phase_ == Phase::Starting && allSlotsReady()) {
      phase_ = Phase::Running;
      common::sdNotify("READY=1");
      common::logInfo("supervisor_ready").field("workers", config_.workers).field("listen", listener_.address());
    }
    updateSystemdStatus();
  } else if (type == common::msg::kHeartbeat) {
    if (auto beat = common::decodeHeartbeat(message)) {
      worker.counters = std::move(beat->counters);
      // Keep the newest view of the backend across all workers (and beyond their lifetime).
      const auto& up = beat->upstream;
      if (up.last_status_at > upstream_.last_status_at) {
        upstream_.last_status = up.last_status;
        upstream_.last_status_at = up.last_status_at;
      }
      upstream_.last_success_at = std::max(upstream_.last_success_at, up.last_success_at);
      if (up.rate_limits_at > upstream_.rate_limits_at) {
        upstream_.rate_limits = up.rate_limits;
        upstream_.rate_limits_at = up.rate_limits_at;
      }
    }
  } else if (type == common::msg::kUnauthorized) {
    if (auto generation = common::messageInt(message, "generation")) {
      credentials_->reportUnauthorized(static_cast<uint64_t>(*generation));
    }
  } else {
    common::logWarn("worker_message_unknown").field("slot", worker.slot);
  }
}

void Supervisor::drainWorker(WorkerProcess& worker, milliseconds grace) {
  worker.state = WorkerState::Draining;
  worker.kill_at = Clock::now() + grace + kKillSlack;
  if (!worker.channel.send(common::encodeDrain(grace.count()))) ::kill(worker.pid, SIGTERM);
  common::logInfo("worker_drain").field("slot", worker.slot).field("worker_pid", static_cast<int64_t>(worker.pid));
}

void Supervisor::onTimers() {
  auto now = Clock::now();
  control_->expire(now);
  // Compare against a fresh clock reading: a deadline meaning "now" is computed after `now` above.
  if (auto deadline = credentials_->nextDeadline(); deadline && *deadline <= Clock::now()) credentials_->onTick();

  for (auto& [pid, worker] : workers_) {
    bool hung = false;
    if (worker.state == WorkerState::Ready && now - worker.last_heartbeat > kHeartbeatTimeout) hung = true;
    if (worker.state == WorkerState::Starting && now - worker.started > kBootTimeout) hung = true;
    bool overdue = (worker.state == WorkerState::Draining || worker.channel_lost) && now > worker.kill_at;
    if ((hung || overdue) && !worker.kill_sent) {
      common::logWarn(hung ? "worker_hung" : "worker_drain_overdue")
          .field("slot", worker.slot)
          .field("worker_pid", static_cast<int64_t>(pid));
      ::kill(pid, SIGKILL);
      worker.kill_sent = true;
    }
  }

  if (phase_ != Phase::Stopping) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].respawn_at && *slots_[i].respawn_at <= now) spawnWorker(static_cast<int>(i));
    }
    if (reload_waiting_pid_ > 0 && now > reload_step_deadline_) {
      ::kill(reload_waiting_pid_, SIGKILL);  // reaped later; the reload is abandoned
      reload_waiting_pid_ = -1;
      finishReload(false, "a new worker did not become ready in time");
    }
  }

  if (now >= next_metrics_push_) {
    pushMetrics();
    next_metrics_push_ = now + std::chrono::seconds(1);
  }

  if (watchdog_interval_ && now >= next_watchdog_) {
    common::sdNotify("WATCHDOG=1");
    next_watchdog_ = now + *watchdog_interval_;
  }
}

Supervisor::Clock::time_point Supervisor::nextDeadline() const {
  auto next = Clock::now() + std::chrono::seconds(1);  // heartbeat checks tick at least once a second
  for (const auto& slot : slots_) {
    if (slot.respawn_at) next = std::min(next, *slot.respawn_at);
  }
  for (const auto& [pid, worker] : workers_) {
    if ((worker.state == WorkerState::Draining || worker.channel_lost) && !worker.kill_sent) {
      next = std::min(next, worker.kill_at);
    }
  }
  if (auto deadline = credentials_->nextDeadline()) next = std::min(next, *deadline);
  if (watchdog_interval_) next = std::min(next, next_watchdog_);
  return next;
}

void Supervisor::beginReload() {
  if (phase_ == Phase::Stopping) return;
  if (phase_ == Phase::Reloading) {
    common::logWarn("reload_ignored").field("reason", "a reload is already in progress");
    return;
  }
  auto loaded = common::loadConfig(args_, common::processEnv());
  if (!loaded) {
    // A bad edit must not take a serving proxy down: keep the running configuration.
    common::logError("reload_rejected").field("reason", loaded.error().message);
    return;
  }
  common::Config next = loaded->config;
  if (next.control_socket != config_.control_socket) {
    common::logWarn("reload_control_socket_unchanged").field("reason", "CONTROL_SOCKET changes need a restart");
    next.control_socket = config_.control_socket;
  }
  if (listener_.differsFrom(next)) {
    try {
      Listener fresh = Listener::open(next);
      old_listener_ = std::move(listener_);
      listener_ = std::move(fresh);
    } catch (const std::exception& e) {
      common::logError("reload_rejected").field("reason", e.what());
      return;
    }
  }
  common::Log::configure(next.log_level, next.log_format, "supervisor");
  // A `codex-sub-proxy login` may have written new credentials since the start.
  credentials_->reloadStore();
  common::sdNotify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(common::monotonicMicros()));
  phase_ = Phase::Reloading;
  config_ = std::move(next);
  ++generation_;
  common::logInfo("reload_begin").field("generation", generation_).field("workers", config_.workers);

  // Slots beyond the new count are drained; the others are replaced one by one, new before old.
  for (auto& [pid, worker] : workers_) {
    if (worker.slot >= config_.workers && worker.state != WorkerState::Draining)
      drainWorker(worker, config_.shutdown_grace);
  }
  slots_.resize(static_cast<size_t>(config_.workers));
  reload_queue_.clear();
  for (int i = 0; i < config_.workers; ++i) reload_queue_.push_back(i);
  reloadStep();
}

void Supervisor::reloadStep() {
  if (phase_ != Phase::Reloading) return;
  if (reload_queue_.empty()) {
    finishReload(true, "");
    return;
  }
  int slot = reload_queue_.front();
  spawnWorker(slot);
  // spawnWorker registers the newest process for the slot; remember it to pair ready -> drain.
  reload_waiting_pid_ = -1;
  for (const auto& [pid, worker] : workers_) {
    if (worker.slot == slot && worker.generation == generation_ && worker.state == WorkerState::Starting) {
      reload_waiting_pid_ = pid;
    }
  }
  reload_step_deadline_ = Clock::now() + kBootTimeout;
  if (reload_waiting_pid_ < 0) finishReload(false, "could not start a new worker");
}

void Supervisor::finishReload(bool ok, const std::string& why) {
  reload_queue_.clear();
  if (ok) old_listener_.close();
  phase_ = Phase::Running;
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
  reload_queue_.clear();
  reload_waiting_pid_ = -1;
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
    if (config_.shutdown_grace > milliseconds(30000)) {
      auto extend = std::chrono::duration_cast<std::chrono::microseconds>(config_.shutdown_grace + kKillSlack);
      common::sdNotify("EXTEND_TIMEOUT_USEC=" + std::to_string(extend.count()));
    }
    return;
  }
  fast_stop_ = true;
  common::logInfo("shutdown_fast");
  for (auto& [pid, worker] : workers_) {
    worker.channel.send(common::encodeSimple(common::msg::kStop));
    ::kill(pid, SIGQUIT);
    worker.state = WorkerState::Draining;
    worker.kill_at = Clock::now() + kFastStopWait;
  }
}

common::WorkerCounters Supervisor::metricSeries() const {
  common::WorkerCounters series = retired_counters_;
  std::map<std::string, int> by_state;
  for (const auto& [pid, worker] : workers_) {
    addCounters(series, worker.counters, true);
    ++by_state[workerStateName(worker.state)];
  }
  for (const char* state : {"starting", "ready", "draining"}) {
    series[common::seriesKey("workers", std::string("state=\"") + state + "\"")] = by_state[state];
  }
  int restarts = 0;
  for (const auto& slot : slots_) restarts += slot.restarts;
  series["worker_restarts_total"] = restarts;

  const CredentialCounters credentials = credentials_->counters();
  series[common::seriesKey("credential_refreshes_total", "result=\"ok\"")] =
      static_cast<int64_t>(credentials.refresh_ok);
  series[common::seriesKey("credential_refreshes_total", "result=\"failed\"")] =
      static_cast<int64_t>(credentials.refresh_failed);
  if (credentials.expires_in_s) series["credential_expiry_seconds"] = *credentials.expires_in_s;
  const common::CredentialState state = credentials_->current().state;
  for (common::CredentialState s : common::kAllCredentialStates) {
    std::string label = "state=\"" + std::string(common::credentialStateName(s)) + "\"";
    series[common::seriesKey("credential_state", label)] = state == s ? 1 : 0;
  }
  series["credential_generation"] = static_cast<int64_t>(credentials_->current().generation);
  series[common::seriesKey("build_info", std::string("version=\"") + kVersion + "\"")] = 1;
  return series;
}

void Supervisor::pushMetrics() {
  std::string message = common::encodeMetrics(common::renderPrometheus(metricSeries()));
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

bool Supervisor::allSlotsReady() const {
  for (int slot = 0; slot < static_cast<int>(slots_.size()); ++slot) {
    bool ready = false;
    for (const auto& [pid, worker] : workers_) {
      if (worker.slot == slot && worker.state == WorkerState::Ready) ready = true;
    }
    if (!ready) return false;
  }
  return true;
}

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
  std::optional<common::JsonValue> object = common::parseJsonObject(request);
  if (!object) return R"({"ok":false,"error":"malformed control request"})";
  const std::string command = common::jsonStringOr(*object, "command");
  if (command == "status") {
    common::JsonWriter reply;
    reply.beginObject().member("ok", true).member("data", statusReport()).endObject();
    return reply.take();
  }
  if (command == "reload") {
    beginReload();
    return R"({"ok":true,"data":{"message":"reload started"}})";
  }
  if (command == "stop") {
    beginStop(true);
    return R"({"ok":true,"data":{"message":"graceful stop started"}})";
  }
  if (command == "refresh") {
    credentials_->forceRefresh();
    return R"({"ok":true,"data":{"message":"credential refresh requested"}})";
  }
  return R"J({"ok":false,"error":"unknown command (expected status, reload, refresh or stop)"})J";
}

common::JsonValue Supervisor::statusReport() const {
  using common::JsonValue;
  JsonValue o = JsonValue::object();
  o.set("version", kVersion);
  o.set("pid", static_cast<int>(::getpid()));
  o.set("uptime_s", msSince(started_) / 1000);
  o.set("listen", listener_.fd() >= 0 ? listener_.address() : "closed");
  const char* phase = "running";
  if (phase_ == Phase::Starting) phase = "starting";
  if (phase_ == Phase::Reloading) phase = "reloading";
  if (phase_ == Phase::Stopping) phase = "stopping";
  o.set("state", phase);
  o.set("generation", generation_);
  o.set("workers_configured", config_.workers);

  common::WorkerCounters totals = retired_counters_;
  JsonValue workers = JsonValue::array();
  for (const auto& [pid, w] : workers_) {
    JsonValue item = JsonValue::object();
    item.set("slot", w.slot);
    item.set("pid", static_cast<int>(pid));
    item.set("generation", w.generation);
    item.set("state", workerStateName(w.state));
    item.set("uptime_s", msSince(w.started) / 1000);
    // An init-capture, not [&w]: clang 14 (the fuzz build) cannot capture a structured binding.
    auto counter = [&counters = w.counters](const char* name) {
      auto it = counters.find(name);
      return it == counters.end() ? int64_t{0} : it->second;
    };
    item.set("requests", requestTotals(w.counters).requests);
    item.set("active_requests", counter("active_requests"));
    item.set("active_streams", counter("active_streams"));
    item.set("restarts", w.slot < static_cast<int>(slots_.size()) ? slots_[w.slot].restarts : 0);
    item.set("last_heartbeat_ms_ago", msSince(w.last_heartbeat));
    workers.push(std::move(item));
    addCounters(totals, w.counters, true);
  }
  o.set("workers", std::move(workers));

  o.set("credentials", credentials_->status());

  JsonValue upstream = JsonValue::object();
  auto timeOrNull = [&upstream](const char* key, int64_t unix_s) {
    upstream.set(key, unix_s > 0 ? JsonValue(unix_s) : JsonValue());
  };
  upstream.set("last_status", upstream_.last_status != 0 ? JsonValue(upstream_.last_status) : JsonValue());
  timeOrNull("last_status_at", upstream_.last_status_at);
  timeOrNull("last_success_at", upstream_.last_success_at);
  JsonValue limits = JsonValue::object();
  for (const auto& [name, value] : upstream_.rate_limits) limits.set(name, value);
  upstream.set("rate_limits", std::move(limits));
  timeOrNull("rate_limits_at", upstream_.rate_limits_at);
  o.set("upstream", std::move(upstream));

  JsonValue total = JsonValue::object();
  auto sum = [&totals](const char* name) {
    auto it = totals.find(name);
    return it == totals.end() ? int64_t{0} : it->second;
  };
  RequestTotals request_totals = requestTotals(totals);
  total.set("requests", request_totals.requests);
  total.set("responses_4xx", request_totals.status_4xx);
  total.set("responses_5xx", request_totals.status_5xx);
  total.set("active_requests", sum("active_requests"));
  total.set("active_streams", sum("active_streams"));
  o.set("totals", std::move(total));

  int restarts = 0;
  for (const auto& slot : slots_) restarts += slot.restarts;
  bool creds_ok = credentials_->current().usable(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  bool healthy = phase_ != Phase::Stopping && allSlotsReady() && creds_ok;
  o.set("healthy", healthy);
  JsonValue problems = JsonValue::array();
  if (!allSlotsReady()) problems.push("not every worker slot has a ready worker");
  if (!creds_ok) {
    problems.push("no usable upstream credentials (" +
                  std::string(common::credentialStateName(credentials_->current().state)) + ")");
  }
  if (phase_ == Phase::Stopping) problems.push("stopping");
  o.set("problems", std::move(problems));
  o.set("worker_restarts", restarts);
  // Members sorted by key, at every level: the order `ctl status --json` has always printed.
  common::sortMembersByKey(o);
  return o;
}

}  // namespace cosp::supervisor
