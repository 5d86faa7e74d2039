#pragma once

#include "worker/http/http_handler.h"
#include "worker/worker_context.h"

namespace cosp::worker {

class ModelRoutes;

// Entry point of every request: request id, routing, caller auth, body limit, dispatch, the
// access-log line and counters. No exception ever leaves handle(): one that escaped would end
// the connection without an answer.
class RequestHandler : public HttpHandler {
 public:
  RequestHandler(WorkerContext& ctx, ModelRoutes* model_routes) : ctx_(ctx), model_routes_(model_routes) {}
  void handle(HttpRequest& request, HttpResponse& response) override;
  // GET and HEAD of /healthz and /readyz: answered from memory, so on the accept loop.
  bool answersInline(const RequestHead& head) const override;

 private:
  WorkerContext& ctx_;
  ModelRoutes* model_routes_;
};

}  // namespace cosp::worker
