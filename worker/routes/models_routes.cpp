#include "worker/routes/models_routes.h"

#include <algorithm>

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
  if (catalog.find(id) != nullptr) return id;
  // "gpt-5.4-mini-high": every model whose slug is a prefix is asked, so a slug that itself
  // contains '-' (gpt-5.4-mini next to gpt-5.4) is found whichever way the id splits.
  for (const common::CatalogModel& m : catalog.models) {
    if (id.size() <= m.slug.size() + 1 || id.compare(0, m.slug.size(), m.slug) != 0 || id[m.slug.size()] != '-') {
      continue;
    }
    const std::string_view effort = std::string_view(id).substr(m.slug.size() + 1);
    if (std::find(m.efforts.begin(), m.efforts.end(), effort) != m.efforts.end()) return id;
  }
  return {};
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
