#pragma once

#include <string>
#include <vector>

#include "worker/exchange.h"

namespace cosp::worker {

// GET /v1/models and GET /v1/models/{id}: the configured catalog in the OpenAI list shape.
void handleModels(Exchange& ex);
void handleModel(Exchange& ex);

// Pure helpers, exposed for tests.
std::string modelsJson(const std::vector<std::string>& models);
// The configured model `id` names, accepting a reasoning-effort suffix (gpt-5.5-high) on a
// configured base id. Empty when unknown.
std::string resolveModelId(const std::vector<std::string>& models, const std::string& id);
std::string modelJson(const std::string& id);

}  // namespace cosp::worker
