#pragma once

#include <optional>
#include <string>

#include "common/catalog/model_catalog.h"

namespace cosp::common {

// The model catalog the workers serve, pushed by the supervisor on the worker channel after the
// credentials at spawn and whenever it changes (docs/ARCHITECTURE.md, Model catalog).
//
// The backend's raw entries go along so a worker can answer in the Codex shape. The channel
// carries at most Channel::kMaxMessageBytes per message, and the real catalog's entries carry
// long instructions: when the message with them would not fit, it is sent without them
// (*raw_dropped is then set) and the workers still know every slug and effort.
std::string encodeCatalog(const ModelCatalog& catalog, bool* raw_dropped = nullptr);
// nullopt when malformed (a model without a slug, an unknown source, members of the wrong kind).
std::optional<ModelCatalog> decodeCatalog(const std::string& json);

}  // namespace cosp::common
