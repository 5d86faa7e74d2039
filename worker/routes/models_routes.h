#pragma once

#include <string>
#include <vector>

#include "common/catalog/model_catalog.h"
#include "worker/exchange.h"

namespace cosp::worker {

// GET /v1/models and GET /v1/models/{id}: the worker's current catalog (the backend's, CODEX_MODELS
// or the built-in list; README.md, Model catalog) in the OpenAI list / model shape.
void handleModels(Exchange& ex);
void handleModel(Exchange& ex);

// Pure helpers, exposed for tests.
// The ids /v1/models lists: every listed model's slug, in catalog order (its `<slug>-<effort>`
// ids resolve but are not listed).
std::vector<std::string> listedModelIds(const common::ModelCatalog& catalog);
std::string modelsJson(const std::vector<std::string>& ids);
// The id when the catalog serves it: a model's slug (listed or hidden: a hidden model can still
// be called), or `<slug>-<effort>` for an effort that model supports. Empty when unknown.
std::string resolveModelId(const common::ModelCatalog& catalog, const std::string& id);
std::string modelJson(const std::string& id);

}  // namespace cosp::worker
