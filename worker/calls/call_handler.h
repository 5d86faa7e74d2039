#pragma once

#include <memory>

#include "common/codex/fingerprint.h"
#include "worker/calls/call_context.h"
#include "worker/translate/translate_types.h"
#include "worker/upstream/retry_policy.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

struct UpstreamCall;

// POST /v1/chat/completions and POST /v1/responses: a model call to the Codex backend, in three
// stages, each in a file of its own:
//   1. upstream_call.h   read and translate the body, assemble the fixed upstream headers;
//   2. attempt_loop.h    send, refresh on a 401, map statuses, retry; hold the stream back until
//                        its first output event (hold_back.h);
//   3. event_pump.h      read the rest into an output sink (chat stream, one JSON object, or
//                        the Responses relay: output_sink.h), which answers the client.
// A broken upstream never takes the worker down: every failure ends as an OpenAI error, a real
// status before the first byte and an error event after it.
class CallHandler {
 public:
  CallHandler(WorkerContext& ctx, std::unique_ptr<UpstreamPool> pool);
  ~CallHandler();

  void handle(Exchange& ex, CallApi api);
  // GET /v1/responses with a WebSocket upgrade (ws_route.h): the same pool, options, fingerprint
  // and retry policy as the model calls.
  void handleWebSocket(Exchange& ex);

  // Lent to the other backend calls (codex_routes.h): one pool and one cookie jar per worker.
  UpstreamPool& pool() { return *pool_; }
  const TranslateOptions& options() const { return options_; }

 private:
  // The call once built and admitted: attempts, then the stream or the answer (see handle()).
  void serve(Exchange& ex, CallApi api, UpstreamCall& up);

  WorkerContext& ctx_;
  std::unique_ptr<UpstreamPool> pool_;
  TranslateOptions options_;
  common::CodexFingerprint fingerprint_;  // built once: uname and the configured version
  RetryPolicy retry_;
};

}  // namespace cosp::worker
