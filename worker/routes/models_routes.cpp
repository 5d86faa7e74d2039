#include "worker/routes/models_routes.h"

#include <algorithm>

#include "common/log/log.h"
#include "worker/translate/effort_policy.h"

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

std::string modelsJson(const std::vector<std::string>& ids) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += modelJson(ids[i]);
  }
  out += "]}";
  return out;
}

std::vector<std::string> listedModelIds(const common::ModelCatalog& catalog) {
  std::vector<std::string> ids;
  for (const common::CatalogModel& m : catalog.models) {
    if (!m.listed) continue;
    // Only the slugs: `<slug>-<effort>` ids resolve (resolveModelId) but a list of every variant
    // would bury the models themselves in a client's picker.
    ids.push_back(m.slug);
  }
  return ids;
}

std::string resolveModelId(const common::ModelCatalog& catalog, const std::string& id) {
  // The same split as a model call's (effort_policy.h), so an id that resolves here is one a call
  // sends upstream as that model with that effort.
  const ModelSplit split = splitModelSuffix(id, &catalog);
  const common::CatalogModel* model = catalog.find(split.base);
  if (model == nullptr) return {};
  if (split.effort && std::find(model->efforts.begin(), model->efforts.end(), *split.effort) == model->efforts.end()) {
    return {};
  }
  return id;
}

void handleModels(Exchange& ex) {
  auto catalog = ex.ctx.catalog.get();
  sendJson(ex, 200, modelsJson(listedModelIds(*catalog)));
}

void handleModel(Exchange& ex) {
  auto catalog = ex.ctx.catalog.get();
  std::string id = resolveModelId(*catalog, ex.route.model_id);
  if (id.empty()) {
    sendError(ex,
              common::ApiError::notFound("The model '" + ex.route.model_id + "' does not exist", "model_not_found"));
    return;
  }
  sendJson(ex, 200, modelJson(id));
}

}  // namespace cosp::worker
