#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/catalog/model_catalog.h"

namespace cosp::supervisor {

// What `ctl status` and /metrics say about the model catalog, read at one instant (plain data;
// status_report.cpp renders it).
struct CatalogReport {
  common::ModelCatalog::Source source = common::ModelCatalog::Source::BuiltIn;  // of what workers serve
  std::size_t models = 0;                                                       // models served (listed or not)
  std::size_t backend_models = 0;        // in the last catalog the backend sent; 0 = none yet
  std::optional<int64_t> fetched_ago_s;  // since the last successful fetch (200 or 304)
  std::string last_error;                // of the last failed fetch; never a secret
  int64_t last_error_at = 0;             // unix seconds; 0 = never
  uint64_t fetches_ok = 0;               // 200 with a catalog
  uint64_t fetches_not_modified = 0;     // 304: the copy held is current
  uint64_t fetches_failed = 0;           // everything else, 401 included
  int consecutive_failures = 0;
  bool fetch_in_flight = false;
  std::optional<int64_t> next_fetch_in_s;  // nullopt: in flight, or waiting for a usable token
  std::string client_version;              // asked of the backend
};

}  // namespace cosp::supervisor
