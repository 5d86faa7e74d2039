#pragma once

#include "worker/front/caller_auth.h"
#include "worker/http/http_handler.h"
#include "worker/worker_context.h"

namespace cosp::worker {

class CallHandler;
class CodexRoutes;

// Entry point of every request: request id, routing, caller auth, body limit, dispatch, the
// access-log line and counters. No exception ever leaves handle(): one that escaped would end
// the connection without an answer.
class FrontController : public HttpHandler {
 public:
  FrontController(WorkerContext& ctx, CallHandler& calls, CodexRoutes& codex)
      : ctx_(ctx), auth_(ctx.config.api_keys), calls_(calls), codex_(codex) {}
  void handle(HttpRequest& request, HttpResponse& response) override;
  // GET and HEAD of /healthz and /readyz: answered from memory, so on the accept loop.
  bool answersInline(const RequestHead& head) const override;

 private:
  WorkerContext& ctx_;
  const CallerAuth auth_;
  CallHandler& calls_;
  CodexRoutes& codex_;
};

}  // namespace cosp::worker
