#include "worker/routes/models_routes.h"

#include "common/log/log.h"

namespace cosp::worker {

namespace {

// The models API reports a creation time per model; the backend publishes none, so every model
// reports the same fixed instant rather than something that changes between calls.
constexpr int64_t kModelCreated = 1735689600;  // 2025-01-01T00:00:00Z

}  // namespace

std::string modelJson(const std::string& id) {
  std::string out = "{\"id\":";
  common::appendJsonString(out, id);
  out += ",\"object\":\"model\",\"created\":" + std::to_string(kModelCreated) + ",\"owned_by\":\"openai\"}";
  return out;
}

std::string modelsJson(const std::vector<std::string>& models) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < models.size(); ++i) {
    if (i > 0) out += ',';
    out += modelJson(models[i]);
  }
  out += "]}";
  return out;
}

std::string resolveModelId(const std::vector<std::string>& models, const std::string& id) {
  for (const auto& m : models) {
    if (m == id) return m;
  }
  for (const char* suffix : {"-none", "-minimal", "-low", "-medium", "-high", "-xhigh"}) {
    std::string s = suffix;
    if (id.size() > s.size() && id.compare(id.size() - s.size(), s.size(), s) == 0) {
      std::string base = id.substr(0, id.size() - s.size());
      for (const auto& m : models) {
        if (m == base) return id;
      }
    }
  }
  return {};
}

void handleModels(Exchange& ex) { sendJson(ex, 200, modelsJson(ex.ctx.config.models)); }

void handleModel(Exchange& ex) {
  std::string id = resolveModelId(ex.ctx.config.models, ex.route.model_id);
  if (id.empty()) {
    sendError(ex,
              common::ApiError::notFound("The model '" + ex.route.model_id + "' does not exist", "model_not_found"));
    return;
  }
  sendJson(ex, 200, modelJson(id));
}

}  // namespace cosp::worker
