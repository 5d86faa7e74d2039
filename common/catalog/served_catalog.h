#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/catalog/model_catalog.h"

namespace cosp::common {

// The efforts a model named in CODEX_MODELS gets when no catalog knows it: the model suffixes the
// proxy accepted before it read the backend's catalog.
inline constexpr std::array<std::string_view, 6> kFallbackEfforts = {"none",   "minimal", "low",
                                                                     "medium", "high",    "xhigh"};

// The last resort when no backend catalog was ever fetched: the models the backend serves to
// every plan with a Codex entitlement (docs/ARCHITECTURE.md, Model catalog), each with the
// efforts low, medium, high and xhigh. Source BuiltIn, no raw entries.
ModelCatalog builtInCatalog();

// The name of a source in `ctl status`, the channel message and logs: "backend", "built-in",
// "configured".
std::string_view catalogSourceName(ModelCatalog::Source source);
// The inverse; false for a name this build does not know.
bool parseCatalogSource(std::string_view name, ModelCatalog::Source& out);

// What the proxy serves: `discovered` (the backend's catalog, or the built-in one) when
// CODEX_MODELS is unset (`configured` empty); otherwise exactly the configured ids in their
// order, all listed, each with its entry from `discovered` when there is one (efforts, default
// effort, raw entry) and kFallbackEfforts when not. Source Configured then.
ModelCatalog servedCatalog(const std::vector<std::string>& configured, const ModelCatalog& discovered);

}  // namespace cosp::common
