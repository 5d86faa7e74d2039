#pragma once

#include <chrono>
#include <optional>

#include "common/error/api_error.h"
#include "worker/exchange.h"
#include "worker/http/client_watch.h"
#include "worker/upstream/call_deadline.h"
#include "worker/worker_context.h"

namespace cosp::worker {

// Which API a model call came in on: it decides the translation and the output sink.
enum class CallApi { Chat, Responses };

// Counts a held stream for heartbeats and /metrics while it lives.
class StreamGauge {
 public:
  explicit StreamGauge(WorkerMetrics& m) : metrics_(m) { ++metrics_.active_streams; }
  ~StreamGauge() { --metrics_.active_streams; }
  StreamGauge(const StreamGauge&) = delete;
  StreamGauge& operator=(const StreamGauge&) = delete;

 private:
  WorkerMetrics& metrics_;
};

// What every stage of one model call shares: the exchange with the client, the worker, the
// client's hang-up watch and the call's overall deadline.
struct CallContext {
  Exchange& ex;
  WorkerContext& worker;
  ClientWatch& client;
  // A non-streaming call shows nothing until it ends, so it gets an overall budget
  // (REQUEST_TIMEOUT); a stream shows progress and is bounded by the upstream idle timeout.
  CallDeadline deadline;
  std::chrono::milliseconds request_timeout;
  // Engaged from the upstream's 200 to the end of a streaming call.
  std::optional<StreamGauge> stream_gauge;

  // The answer once `deadline` passed; built only then (it is a few allocations, and most calls
  // never need it).
  common::ApiError deadlineError() const;
};

}  // namespace cosp::worker
