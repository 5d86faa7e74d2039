#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cosp::common {

// Reasoning efforts from least to most, as the backend's catalog names them. The order decides
// which supported effort is "nearest" to one a model lacks (ties go up).
inline constexpr std::array<std::string_view, 8> kEffortOrder = {"none", "minimal", "low", "medium",
                                                                 "high", "xhigh",   "max", "ultra"};

// One model of the catalog, as much of it as the proxy itself needs. The backend's entry as it
// came (every field, for clients that want the Codex shape) is kept in `raw_json`.
struct CatalogModel {
  std::string slug;
  std::string display_name;
  std::vector<std::string> efforts;  // supported_reasoning_levels[].effort, in the catalog's order
  std::optional<std::string> default_effort;
  bool listed = true;  // visibility "list"
  std::string raw_json;

  bool operator==(const CatalogModel&) const = default;
};

// The models one account may use, from the backend's `GET {base}/models?client_version=`, from
// CODEX_MODELS, or the built-in list when neither is available.
struct ModelCatalog {
  enum class Source { BuiltIn, Backend, Configured };
  Source source = Source::BuiltIn;
  std::vector<CatalogModel> models;
  std::string etag;                // the backend's ETag, empty otherwise
  std::int64_t fetched_at_ms = 0;  // unix ms of the fetch that produced it; 0 = never fetched

  const CatalogModel* find(std::string_view slug) const {
    for (const CatalogModel& m : models) {
      if (m.slug == slug) return &m;
    }
    return nullptr;
  }
};

}  // namespace cosp::common
