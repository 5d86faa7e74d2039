#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/catalog/model_catalog.h"
#include "common/util/result.h"

namespace cosp::common {

// Bounds on a backend catalog: a hostile or broken answer cannot make the proxy hold or hand its
// workers more than this. The whole catalog travels to each worker in one channel message of at
// most 256 KiB: at these bounds a catalog without its raw entries stays under ~140 KiB (the real
// one has a dozen or two models with up to eight efforts).
inline constexpr std::size_t kMaxCatalogModels = 128;
inline constexpr std::size_t kMaxModelIdBytes = 128;
inline constexpr std::size_t kMaxDisplayNameBytes = 128;  // longer: the slug is shown instead
inline constexpr std::size_t kMaxEfforts = 16;            // per model; more are left out
inline constexpr std::size_t kMaxEffortBytes = 32;

// What parseBackendCatalog() made of an answer.
struct ParsedCatalog {
  std::vector<CatalogModel> models;  // in the backend's order
  // Entries left out: a slug that cannot be served as a model id (control characters, '/', too
  // long) or one already seen. The rest of the catalog is still good.
  std::size_t skipped = 0;
};

// The backend's `GET {CODEX_BASE_URL}/models?client_version=` answer,
// `{"models":[{"slug","display_name","supported_reasoning_levels":[{"effort","description"}],
// "default_reasoning_level","visibility",…},…]}`, as the proxy needs it. Unknown members are
// ignored (the backend adds fields all the time) and each entry is kept whole in raw_json for the
// Codex-shaped relay. A known member of an unexpected kind is treated as absent, except where the
// entry would be meaningless without it. An error (a short text without the answer's content)
// when the answer is not a catalog: not JSON, no `models` array, an entry that is not an object
// or has no string slug, more than kMaxCatalogModels entries, or no servable model at all.
Result<ParsedCatalog, std::string> parseBackendCatalog(std::string_view body);

// True for a slug the proxy can serve as a model id (in /v1/models and in a URL path):
// 1..kMaxModelIdBytes bytes of letters, digits and `._-:+@`.
bool isServableModelId(std::string_view slug);
// True for an effort name: 1..kMaxEffortBytes bytes of lower-case letters, digits, `_` and `-`.
bool isEffortName(std::string_view effort);

}  // namespace cosp::common
