#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/catalog/model_catalog.h"
#include "common/catalog/served_catalog.h"
#include "common/config/config.h"
#include "common/ipc/account_messages.h"
#include "common/ipc/channel.h"
#include "common/ipc/messages.h"
#include "common/metrics/prometheus.h"
#include "common/os/unique_fd.h"
#include "worker/front/caller_keys.h"

namespace cosp::worker {

// What a worker counts, for heartbeats (and so /metrics and `ctl status`). Gauges and hot
// counters are atomics; labelled series (per route and status, histograms) sit behind a mutex,
// touched once per request.
class WorkerMetrics {
 public:
  std::atomic<int64_t> active_requests{0};
  std::atomic<int64_t> active_streams{0};
  std::atomic<int64_t> bytes_out{0};
  std::atomic<int64_t> handler_exceptions{0};

  // One finished request: its route, status, total time and (model routes) time to first byte.
  void recordRequest(const char* route, int status, int64_t duration_us, int64_t ttfb_us);
  void recordUpstreamStatus(int status);
  // The head of a backend response: its status and x-codex-* rate-limit headers, for `ctl status`.
  // Taken by value and moved in: the lock shared by every handler thread is not held for a copy.
  // `account`: the account (SPEC §9) the response came for; its rate limits are kept per account too.
  void observeUpstream(int status, std::map<std::string, std::string> rate_limit_headers,
                       const std::string& account = {});
  common::UpstreamObservation upstreamObservation() const;
  // A model call started on `account` / left it after an account-level failure.
  void recordAccountRequest(const std::string& account);
  // Quota an in-stream `codex.rate_limits` event reported for `account`, as x-codex-* header
  // names and values: merged over what the last response head said.
  void observeAccountRateLimits(const std::string& account, const std::map<std::string, std::string>& rate_limits);
  void recordAccountFailover(const std::string& account);
  // Per account: requests, failovers and the newest rate-limit headers, for the heartbeat.
  common::AccountObservations accountObservations() const;
  void recordUpstreamFailure(const char* kind);
  void recordUpstreamRetry();
  void recordClientDisconnect();

  common::WorkerCounters snapshot() const;

 private:
  // One route's requests by status and its two latency histograms, as integers: recordRequest
  // builds no string (the series keys are made in snapshot(), once per heartbeat). A worker
  // serves a handful of routes, so a vector searched by name.
  struct RouteCounts {
    std::string route;
    std::vector<std::pair<int, int64_t>> statuses;  // status, requests
    common::LatencyHistogram duration;
    common::LatencyHistogram ttfb;  // model routes only
  };

  void add(const std::string& key, int64_t delta = 1);
  mutable std::mutex mutex_;
  common::MetricSeries series_;
  std::vector<RouteCounts> routes_;
  common::UpstreamObservation upstream_;
  common::AccountObservations accounts_;
};

// The latest upstream credentials pushed by the supervisor. Readers get an immutable snapshot;
// a handler that saw a 401 can wait (with a deadline) for a newer generation, and a call that
// found no usable token for any change (worker/calls/credentials_wait.h).
class CredentialsCache {
 public:
  std::shared_ptr<const common::WorkerCredentials> get() const;
  void set(common::WorkerCredentials credentials);
  // The credentials once their generation exceeds `generation`, or nullptr at the deadline.
  std::shared_ptr<const common::WorkerCredentials> waitNewer(uint64_t generation,
                                                             std::chrono::steady_clock::time_point deadline) const;
  // The credentials once the supervisor sent anything after `seen` (a new token, or only a new
  // state such as needs_login), or `seen` again at the deadline.
  std::shared_ptr<const common::WorkerCredentials> waitChanged(
      const std::shared_ptr<const common::WorkerCredentials>& seen,
      std::chrono::steady_clock::time_point deadline) const;
  // Whether this worker should ask the supervisor for a refresh of `generation` now: the first
  // time for a generation, then at most once per `interval` (a transient failure leaves the
  // generation as it was; the supervisor needs to hear again that calls still wait). However
  // many calls wait, the supervisor hears from each worker that rarely.
  bool claimRefreshRequest(uint64_t generation, std::chrono::steady_clock::time_point now,
                           std::chrono::milliseconds interval);

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::shared_ptr<const common::WorkerCredentials> current_ = std::make_shared<common::WorkerCredentials>();
  std::optional<uint64_t> requested_generation_;
  std::chrono::steady_clock::time_point requested_at_{};
};

// The model catalog the supervisor pushed last (common/ipc/catalog_message.h). A reader holds its
// snapshot for as long as it needs it (a whole model call); a new catalog never changes a snapshot
// already handed out.
class CatalogHolder {
 public:
  explicit CatalogHolder(common::ModelCatalog initial)
      : current_(std::make_shared<const common::ModelCatalog>(std::move(initial))) {}
  std::shared_ptr<const common::ModelCatalog> get() const;
  void set(common::ModelCatalog catalog);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const common::ModelCatalog> current_;
};

// Everything a request handler may use, shared by all handler threads of one worker.
struct WorkerContext {
  WorkerContext(common::Config config, int slot, const common::Channel& channel)
      : config(std::move(config)), slot(slot), channel(channel) {}

  const common::Config config;
  const int slot;
  const common::Channel& channel;  // for reports to the supervisor (thread-safe sends)
  CredentialsCache credentials;
  // Until the supervisor's first catalog message: what it would send before any fetch.
  CatalogHolder catalog{common::servedCatalog(config.models, common::builtInCatalog())};
  WorkerMetrics metrics;
  CallerKeys keys;  // API_KEYS_FILE's table and the limits zone (worker/front/caller_keys.h)
  std::atomic<bool> draining{false};

  // Sets `draining` and makes drainFd() readable for good: a held WebSocket waits on it in the
  // same poll(2) as its two sockets (worker/calls/ws_relay.h), so a drain reaches it at once
  // without periodic wake-ups.
  void beginDrain();
  int drainFd() const { return drain_event_.get(); }

  // Several accounts (SPEC §9). `credentials` above is the account `default`; every other
  // account has its own cache, created on its first credentials message and never removed (a
  // caller may hold the pointer for a whole call).
  CredentialsCache* accountCredentials(const std::string& account);
  void setAccountCredentials(const std::string& account, common::WorkerCredentials credentials);
  // The supervisor's roster: every account, its state and quota, and the strategy.
  void setRoster(common::AccountRoster roster);
  std::shared_ptr<const common::AccountRoster> roster() const;
  // An account-level failure this worker saw (SPEC §9): its copy of the roster marks the account
  // at once (cooling until `cooling_until_ms`, or logged out when 0), so its next calls skip it
  // before the supervisor's next roster arrives; that roster then replaces this copy.
  void markAccountUnusable(const std::string& account, int64_t cooling_until_ms);

  // The process-wide /metrics text, aggregated and pushed by the supervisor each second.
  void setMetricsText(std::string text);
  std::shared_ptr<const std::string> metricsText() const;

 private:
  common::UniqueFd drain_event_ = makeDrainEvent();
  static common::UniqueFd makeDrainEvent();
  mutable std::mutex accounts_mutex_;
  std::map<std::string, std::unique_ptr<CredentialsCache>> account_credentials_;
  std::shared_ptr<const common::AccountRoster> roster_ = std::make_shared<common::AccountRoster>();
  mutable std::mutex metrics_text_mutex_;
  std::shared_ptr<const std::string> metrics_text_;
};

}  // namespace cosp::worker
