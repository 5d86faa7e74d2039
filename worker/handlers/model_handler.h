#pragma once

#include <memory>

#include "worker/handlers/model_routes.h"
#include "worker/translate/translate_types.h"
#include "worker/upstream/retry_policy.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

struct UpstreamRequest;

// POST /v1/chat/completions and /v1/responses: read and translate the body, call the Codex
// backend (retrying only before the first client byte, refreshing once on a 401), then stream
// or collapse the SSE reply. Never lets a broken upstream take the worker down: every failure
// ends as an OpenAI error (a status before the first byte, an error event after it).
class ModelHandler : public ModelRoutes {
 public:
  ModelHandler(WorkerContext& ctx, std::unique_ptr<UpstreamPool> pool);
  ~ModelHandler() override;

  void chatCompletions(Exchange& ex) override;
  void responses(Exchange& ex) override;

  UpstreamPool& pool() { return *pool_; }

 private:
  enum class Api { Chat, Responses };
  void handle(Exchange& ex, Api api);

  WorkerContext& ctx_;
  std::unique_ptr<UpstreamPool> pool_;
  TranslateOptions options_;
  RetryPolicy retry_;
};

}  // namespace cosp::worker
