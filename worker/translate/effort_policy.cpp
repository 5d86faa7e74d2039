#include "worker/translate/effort_policy.h"

#include <algorithm>
#include <cstdint>

namespace cosp::worker {

ModelSplit splitModelSuffix(std::string_view model, const common::ModelCatalog* catalog) {
  if (catalog != nullptr && catalog->find(model) != nullptr) return ModelSplit{std::string(model), std::nullopt};
  for (std::string_view effort : common::kEffortOrder) {
    // Needs at least one character before "-<effort>".
    if (model.size() > effort.size() + 1 && model.ends_with(effort) && model[model.size() - effort.size() - 1] == '-') {
      return ModelSplit{std::string(model.substr(0, model.size() - effort.size() - 1)), std::string(effort)};
    }
  }
  if (catalog != nullptr) {
    // An effort newer than kEffortOrder that the catalog gives a model: every model whose slug is a
    // prefix is asked, so a slug that itself contains '-' is found whichever way the id splits.
    for (const common::CatalogModel& m : catalog->models) {
      if (model.size() <= m.slug.size() + 1 || !model.starts_with(m.slug) || model[m.slug.size()] != '-') continue;
      const std::string_view effort = model.substr(m.slug.size() + 1);
      if (std::find(m.efforts.begin(), m.efforts.end(), effort) != m.efforts.end()) {
        return ModelSplit{m.slug, std::string(effort)};
      }
    }
  }
  return ModelSplit{std::string(model), std::nullopt};
}

std::optional<std::size_t> effortRank(std::string_view effort) {
  for (std::size_t i = 0; i < common::kEffortOrder.size(); ++i) {
    if (common::kEffortOrder[i] == effort) return i;
  }
  return std::nullopt;
}

const common::CatalogModel* modelLackingEffort(const common::ModelCatalog* catalog, std::string_view model,
                                               std::string_view effort) {
  if (catalog == nullptr) return nullptr;
  const common::CatalogModel* entry = catalog->find(model);
  if (entry == nullptr || entry->efforts.empty()) return nullptr;
  if (std::find(entry->efforts.begin(), entry->efforts.end(), effort) != entry->efforts.end()) return nullptr;
  return entry;
}

std::string_view nearestSupportedEffort(const common::CatalogModel& model, std::string_view wanted) {
  std::optional<std::size_t> target = effortRank(wanted);
  if (!target) {
    const auto& d = model.default_effort;
    if (d && std::find(model.efforts.begin(), model.efforts.end(), *d) != model.efforts.end()) return *d;
    target = effortRank("medium");
  }
  std::string_view best;
  std::size_t best_distance = SIZE_MAX;
  std::size_t best_rank = 0;
  for (const std::string& effort : model.efforts) {
    const auto rank = effortRank(effort);
    if (!rank) continue;  // an effort newer than kEffortOrder: no place in the order to measure from
    const std::size_t distance = *rank > *target ? *rank - *target : *target - *rank;
    // Ties go up: of two equally near efforts the higher one keeps at least what was asked for.
    if (distance < best_distance || (distance == best_distance && *rank > best_rank)) {
      best = effort;
      best_distance = distance;
      best_rank = *rank;
    }
  }
  if (best.empty() && !model.efforts.empty()) return model.efforts.front();
  return best;
}

std::string supportedEffortsText(const common::CatalogModel& model) {
  std::string out;
  for (const std::string& effort : model.efforts) {
    if (!out.empty()) out += ", ";
    out += effort;
  }
  return out;
}

}  // namespace cosp::worker
