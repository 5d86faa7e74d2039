#pragma once

#include "worker/handlers/exchange.h"

namespace cosp::worker {

// POST /v1/chat/completions and POST /v1/responses: the upstream-facing routes.
class ModelRoutes {
 public:
  virtual ~ModelRoutes() = default;
  virtual void chatCompletions(Exchange& ex) = 0;
  virtual void responses(Exchange& ex) = 0;
};

}  // namespace cosp::worker
