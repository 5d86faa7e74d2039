#pragma once

// Reasoning efforts against the model catalog (README.md, Model calls: efforts): which model a
// suffixed id names, and what a model that lacks an effort gets instead. Pure functions.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/catalog/model_catalog.h"

namespace cosp::worker {

// "gpt-5.5-high" -> {"gpt-5.5", "high"}: a "-<effort>" suffix of any effort in common::kEffortOrder,
// or of an effort the catalog gives the model before it, is split off. A slug the catalog knows as
// given is never split: a model may end in "-max".
struct ModelSplit {
  std::string base;
  std::optional<std::string> effort;
};
ModelSplit splitModelSuffix(std::string_view model, const common::ModelCatalog* catalog = nullptr);

// Position of `effort` in common::kEffortOrder; nullopt for an effort the order does not know.
std::optional<std::size_t> effortRank(std::string_view effort);

// The catalog entry of `model` when it proves that the model lacks `effort`; nullptr when the effort
// may be sent as it is: supported, or nothing to check it against (no catalog, a model the catalog
// does not list, or an entry without efforts). The backend then decides.
const common::CatalogModel* modelLackingEffort(const common::ModelCatalog* catalog, std::string_view model,
                                               std::string_view effort);

// The effort of `model` nearest to `wanted` in common::kEffortOrder; ties go to the higher one.
// An effort the order does not know has no nearest: the model's default effort then, or, without
// one, the supported effort nearest to "medium". Empty only when the model lists no effort.
std::string_view nearestSupportedEffort(const common::CatalogModel& model, std::string_view wanted);

// "low, medium, high": the model's efforts for an error message.
std::string supportedEffortsText(const common::CatalogModel& model);

}  // namespace cosp::worker
