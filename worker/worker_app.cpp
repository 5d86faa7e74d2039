#include "worker/worker_app.h"

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "common/config/config_codec.h"
#include "common/ipc/account_messages.h"
#include "common/ipc/catalog_message.h"
#include "common/ipc/messages.h"
#include "common/keys/keys_message.h"
#include "common/log/log.h"
#include "common/os/exit_codes.h"
#include "common/os/signals.h"
#include "worker/calls/call_handler.h"
#include "worker/calls/codex_routes.h"
#include "worker/front/front_controller.h"
#include "worker/http/http_server.h"
#include "worker/worker_context.h"

namespace cosp::worker {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kHeartbeatInterval{1000};
constexpr std::chrono::milliseconds kAbortWait{1000};
constexpr std::chrono::seconds kTrimEvery{30};

// glibc keeps freed memory in its heaps and raises its mmap threshold after every large free, so
// after one burst of big bodies or events the worker kept ~150 MB it no longer used. A fixed
// threshold keeps large buffers (request bodies, big events) in mmap'd chunks that free() gives
// back at once; malloc_trim returns what the heaps hold once the worker is quiet.
void tuneAllocator() { ::mallopt(M_MMAP_THRESHOLD, 256 * 1024); }

struct AllocatorTrim {
  Clock::time_point last = Clock::now();
  int64_t activity_at_last = 0;  // connections accepted plus bytes sent: moves while serving
  // Trims when the worker went quiet after serving, or every kTrimEvery while busy.
  void maybe(Clock::time_point now, int64_t active_requests, int64_t activity) {
    const bool served = activity != activity_at_last;
    if (!served || (active_requests > 0 && now - last < kTrimEvery)) return;
    ::malloc_trim(0);
    last = now;
    activity_at_last = activity;
  }
};

// Thread stacks: small so thousands of held streams stay cheap (docs/ARCHITECTURE.md §6.9), larger under
// AddressSanitizer whose redzones need room.
int threadStackSize() {
#if defined(__SANITIZE_ADDRESS__)
  return 2 * 1024 * 1024;
#else
  return 256 * 1024;
#endif
}

HttpServer::Options serverOptions(const common::Config& config, int listen_fd, const std::atomic<bool>& draining) {
  HttpServer::Options options;
  options.listen_fd = listen_fd;
  options.max_threads = config.worker_threads;
  options.max_queued = config.worker_threads * 4;
  options.stack_size = threadStackSize();
  options.max_connections = config.max_connections;
  options.max_connections_per_client = config.max_connections_per_client;
  options.max_header_bytes = config.max_header_bytes;
  options.head_timeout = config.request_head_timeout;
  options.keep_alive_timeout = config.keep_alive_timeout;
  options.send_timeout = config.send_timeout;
  options.body.timeout = config.request_body_timeout;
  options.body.min_rate = config.request_body_min_rate;
  options.draining = &draining;
  return options;
}

UpstreamSettings upstreamSettings(const common::Config& config) {
  UpstreamSettings upstream;
  upstream.base_url = config.codex_base_url;
  upstream.connect_timeout = config.upstream_connect_timeout;
  upstream.idle_timeout = config.upstream_idle_timeout;
  upstream.https_proxy = config.https_proxy;
  upstream.no_proxy = config.no_proxy;
  upstream.tls.ca_file = config.upstream_ca_file;
  return upstream;
}

// The supervisor always queues the credentials and the model catalog right after the
// configuration: they are applied before serving, so the first requests of a fresh worker never
// see "no credentials" nor a catalog other than the one the supervisor holds. Returns the first
// message that is not part of that state (a drain or stop sent early), for the control loop.
std::optional<std::string> receiveInitialState(const common::Channel& channel, WorkerContext& ctx) {
  bool have_credentials = false, have_catalog = false;
  // With a keys zone the supervisor also queues the keys table: a file key works from the first request.
  bool have_keys = ctx.keys.zone() == nullptr;
  std::string message;
  while (!(have_credentials && have_catalog && have_keys) &&
         channel.receive(message, std::chrono::seconds(2)) == common::Channel::Status::Message) {
    const std::string type = common::messageType(message);
    if (type == common::msg::kCredentials) {
      if (auto credentials = common::decodeAccountCredentials(message)) {
        // The other accounts' credentials and the roster come between; `default`'s is the one awaited.
        if (credentials->account == common::kDefaultAccountName) have_credentials = true;
        ctx.setAccountCredentials(credentials->account, std::move(credentials->credentials));
      } else {
        have_credentials = true;
      }
    } else if (type == common::msg::kAccounts) {
      if (auto roster = common::decodeAccountRoster(message)) ctx.setRoster(std::move(*roster));
    } else if (type == common::msg::kCatalog) {
      have_catalog = true;
      if (auto catalog = common::decodeCatalog(message)) ctx.catalog.set(std::move(*catalog));
    } else if (type == common::keys::kKeysMessageType) {
      have_keys = true;
      if (auto keys = common::keys::decodeKeysMessage(message)) ctx.keys.set(std::move(*keys));
    } else {
      return message;
    }
  }
  return std::nullopt;
}

// The main thread once the server runs: a poll loop over the signalfd and the supervisor's
// channel (credentials updates, drain/stop commands), sending heartbeats, until a stop or the end
// of the drain.
class ControlLoop {
 public:
  ControlLoop(const common::Config& config, WorkerContext& ctx, HttpServer& server, common::Channel& channel,
              common::SignalFd& signals)
      : config_(config), ctx_(ctx), server_(server), channel_(channel), signals_(signals) {}

  // A message that arrived before the loop ran (receiveInitialState stopped at it).
  void handleEarly(std::string message) {
    message_ = std::move(message);
    handleMessage();
  }

  // Returns true for a fast stop (SIGINT, SIGQUIT, a stop message), false when the drain ended:
  // every connection closed, or the grace expired.
  bool run() {
    while (!stopping_) {
      pollfd fds[2] = {{signals_.fd(), POLLIN, 0}, {channel_.valid() ? channel_.fd() : -1, POLLIN, 0}};
      ::poll(fds, 2, pollTimeoutMs(Clock::now()));
      if (fds[0].revents) readSignals();
      if (fds[1].revents) readChannel();
      const auto now = Clock::now();
      if (now >= next_heartbeat_ && channel_.valid()) sendHeartbeat(now);
      if (draining_) {
        // A stream that began before the drain went out with keep-alive; close it once it idles.
        server_.closeIdleConnections();
        if (server_.openConnections() == 0 || now >= drain_deadline_) break;
      }
    }
    return stopping_;
  }

  // The counters as they stand at exit: the supervisor keeps a gone worker's last heartbeat, and
  // without this one the requests of its last second (a drained WebSocket's among them) are lost.
  void finalHeartbeat() {
    if (channel_.valid()) sendHeartbeat(Clock::now());
  }

 private:
  int pollTimeoutMs(Clock::time_point now) const {
    auto until = next_heartbeat_;
    if (draining_) until = std::min(until, drain_deadline_);
    int timeout = static_cast<int>(
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()));
    if (draining_) timeout = std::min(timeout, 50);  // re-check the open-connection count
    return timeout;
  }

  void beginDrain(std::chrono::milliseconds grace, const char* why) {
    if (draining_) return;
    draining_ = true;
    ctx_.beginDrain();  // responses now carry Connection: close, /readyz says draining; WebSockets close
    server_.stopAccepting();
    server_.closeIdleConnections();
    drain_deadline_ = Clock::now() + grace;
    common::logInfo("worker_draining").field("reason", why).field("grace_ms", static_cast<int64_t>(grace.count()));
  }

  void readSignals() {
    while (auto signo = signals_.read()) {
      if (*signo == SIGTERM)
        beginDrain(config_.shutdown_grace, "SIGTERM");
      else if (*signo == SIGINT || *signo == SIGQUIT)
        stopping_ = true;
      // SIGHUP: reloads are the supervisor's business; a worker ignores it.
    }
  }

  void readChannel() {
    for (;;) {
      auto status = channel_.receive(message_);
      if (status == common::Channel::Status::Message) {
        handleMessage();
        continue;
      }
      if (status == common::Channel::Status::Closed || status == common::Channel::Status::Error) {
        // The supervisor is gone (unicorn's rule): stop taking connections, finish what we have.
        channel_.close();
        beginDrain(config_.shutdown_grace, "supervisor_gone");
      }
      break;
    }
  }

  void handleMessage() {
    std::string type = common::messageType(message_);
    if (type == common::msg::kCredentials) {
      if (auto credentials = common::decodeAccountCredentials(message_)) {
        ctx_.setAccountCredentials(credentials->account, std::move(credentials->credentials));
      }
    } else if (type == common::msg::kAccounts) {
      if (auto roster = common::decodeAccountRoster(message_)) {
        ctx_.setRoster(std::move(*roster));
      } else {
        common::logWarn("accounts_message_malformed");
      }
    } else if (type == common::msg::kCatalog) {
      if (auto catalog = common::decodeCatalog(message_)) {
        ctx_.catalog.set(std::move(*catalog));
      } else {
        common::logWarn("catalog_message_malformed");
      }
    } else if (type == common::keys::kKeysMessageType) {
      if (auto keys = common::keys::decodeKeysMessage(message_)) {
        ctx_.keys.set(std::move(*keys));
      } else {
        common::logWarn("keys_message_malformed");
      }
    } else if (type == common::msg::kDrain) {
      auto grace = common::messageInt(message_, "grace_ms").value_or(config_.shutdown_grace.count());
      beginDrain(std::chrono::milliseconds(grace), "supervisor");
    } else if (type == common::msg::kMetrics) {
      if (auto text = common::decodeMetrics(message_)) ctx_.setMetricsText(std::move(*text));
    } else if (type == common::msg::kStop) {
      stopping_ = true;
    }
  }

  void sendHeartbeat(Clock::time_point now) {
    auto counters = ctx_.metrics.snapshot();
    counters["active_connections"] = server_.openConnections();
    counters["connections_accepted_total"] = server_.acceptedConnections();
    counters["connections_dropped_total"] = server_.refusedConnections();
    // With one account and no call yet the accounts object is empty: the heartbeat of old.
    channel_.send(common::encodeHeartbeatWithAccounts(counters, ctx_.metrics.upstreamObservation(),
                                                      ctx_.metrics.accountObservations()));
    next_heartbeat_ = now + kHeartbeatInterval;
    trim_.maybe(now, ctx_.metrics.active_requests.load(),
                server_.acceptedConnections() + ctx_.metrics.bytes_out.load());
  }

  const common::Config& config_;
  WorkerContext& ctx_;
  HttpServer& server_;
  common::Channel& channel_;
  common::SignalFd& signals_;
  bool draining_ = false;
  bool stopping_ = false;
  Clock::time_point drain_deadline_;
  Clock::time_point next_heartbeat_ = Clock::now();
  AllocatorTrim trim_;
  std::string message_;  // reused for every channel message
};

}  // namespace

int runWorker(const WorkerArgs& args, common::Channel channel, int listen_fd) {
  std::string message;
  if (channel.receive(message, std::chrono::seconds(10)) != common::Channel::Status::Message) {
    common::logError("worker_no_config").field("slot", args.slot);
    return common::kExitWorkerBootFailed;
  }
  auto config = common::decodeWorkerConfig(message);
  if (!config) {
    common::logError("worker_bad_config").field("slot", args.slot);
    return common::kExitWorkerBootFailed;
  }
  common::Log::configure(config->log_level, config->log_format, "worker", args.slot);
  tuneAllocator();

  common::SignalFd signals({SIGTERM, SIGINT, SIGQUIT, SIGHUP});
  WorkerContext ctx(*config, args.slot, channel);
  if (args.lease_row >= 0) {
    auto zone = common::keys::LimitsZone::attach(5);
    if (!zone) throw std::runtime_error("keys zone: " + zone.error());
    ctx.keys.attachZone(std::move(zone).value(), static_cast<std::uint32_t>(args.lease_row));
  }
  std::optional<std::string> early = receiveInitialState(channel, ctx);

  // The TLS context and the upstream pool are created here, after exec, never inherited (docs/ARCHITECTURE.md §6.12).
  auto pool = UpstreamPool::create(upstreamSettings(*config));
  if (!pool) {
    common::logError("worker_upstream_config").field("error", pool.error());
    return common::kExitConfig;
  }
  UpstreamSettings usage_settings = upstreamSettings(*config);
  usage_settings.base_url = config->codexUsageUrl();
  auto usage_pool = UpstreamPool::create(usage_settings);
  if (!usage_pool) {
    common::logError("worker_upstream_config").field("error", usage_pool.error());
    return common::kExitConfig;
  }
  CallHandler calls(ctx, std::move(pool.value()));
  CodexRoutes codex(ctx, calls.pool(), std::move(usage_pool.value()), calls.options());
  FrontController front(ctx, calls, codex);
  HttpServer server(serverOptions(*config, listen_fd, ctx.draining), front);
  server.start();
  channel.send(common::encodeSimple(common::msg::kReady));
  common::logInfo("worker_serving").field("generation", args.generation).field("threads", config->worker_threads);

  ControlLoop control(*config, ctx, server, channel, signals);
  if (early) control.handleEarly(std::move(*early));
  const bool fast_stop = control.run();

  server.stopAccepting();
  int left = server.openConnections();
  if (left > 0) {
    common::logWarn("worker_abort_connections")
        .field("open", left)
        .field("reason", fast_stop ? "fast stop" : "grace expired");
    server.abortConnections();
    server.waitIdle(Clock::now() + kAbortWait);
  }
  control.finalHeartbeat();
  common::logInfo("worker_exit").field("connections", server.acceptedConnections());
  // _exit: skip static destructors while detached connection threads may still be unwinding
  // (docs/ARCHITECTURE.md §6.7, §6.8).
  ::_exit(common::kExitOk);
}

}  // namespace cosp::worker
