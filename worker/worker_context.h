#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "common/config/config.h"
#include "common/ipc/channel.h"
#include "common/ipc/messages.h"
#include "worker/http/caller_auth.h"
#include "worker/http/connection_registry.h"

namespace cosp::worker {

// Counters a worker keeps for heartbeats, /metrics and the access log. Lock-free; read as a
// snapshot for each heartbeat.
struct WorkerMetrics {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> responses_2xx{0};
  std::atomic<int64_t> responses_3xx{0};
  std::atomic<int64_t> responses_4xx{0};
  std::atomic<int64_t> responses_5xx{0};
  std::atomic<int64_t> active_requests{0};
  std::atomic<int64_t> active_streams{0};
  std::atomic<int64_t> bytes_out{0};
  std::atomic<int64_t> handler_exceptions{0};

  void countResponse(int status);
  common::WorkerCounters snapshot() const;
};

// The latest upstream credentials pushed by the supervisor. Readers get an immutable snapshot;
// a handler that saw a 401 can wait (with a deadline) for a newer generation.
class CredentialsCache {
 public:
  std::shared_ptr<const common::WorkerCredentials> get() const;
  void set(common::WorkerCredentials credentials);
  // The credentials once their generation exceeds `generation`, or nullptr at the deadline.
  std::shared_ptr<const common::WorkerCredentials> waitNewer(uint64_t generation,
                                                             std::chrono::steady_clock::time_point deadline) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::shared_ptr<const common::WorkerCredentials> current_ = std::make_shared<common::WorkerCredentials>();
};

// Everything a request handler may use, shared by all handler threads of one worker.
struct WorkerContext {
  WorkerContext(common::Config config, int slot, const common::Channel& channel)
      : config(std::move(config)), auth(this->config.api_keys), slot(slot), channel(channel) {}

  const common::Config config;
  const CallerAuth auth;
  const int slot;
  const common::Channel& channel;  // for reports to the supervisor (thread-safe sends)
  CredentialsCache credentials;
  WorkerMetrics metrics;
  ConnectionRegistry connections;
  std::atomic<bool> draining{false};
};

}  // namespace cosp::worker
