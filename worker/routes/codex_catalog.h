#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/catalog/model_catalog.h"

namespace cosp::worker {

// The Codex-shaped catalog of `/v1/models?client_version=V` (README.md, Model catalog): the
// backend's own `{"models":[…]}` for version V, its entries unchanged (the Codex CLI rejects the
// whole catalog when one entry lacks a field it needs), filtered to CODEX_MODELS when set.

// The `client_version` query parameter of a request target, percent-decoded; nullopt when the
// target has none (then /v1/models answers the OpenAI list).
std::optional<std::string> clientVersionParam(std::string_view target);
// A version the worker may put into the backend's query: 1..64 bytes of letters, digits and
// `.-_+`. Anything else is the client's 400.
bool isClientVersion(std::string_view version);

// `{"models":[…]}` from the backend's answer: each entry as it came (parseBackendCatalog keeps it
// whole), only the CODEX_MODELS ones in that order when `configured` is not empty. nullopt when the
// answer is not a catalog.
std::optional<std::string> codexCatalogJson(std::string_view backend_body, const std::vector<std::string>& configured);
// The same from the catalog a worker holds (pushed by the supervisor, already filtered): the
// entries that came with their raw JSON. nullopt when none did (the built-in list, or raw entries
// too large for the channel).
std::optional<std::string> codexCatalogJson(const common::ModelCatalog& held);

// The catalogs fetched per client version, fresh for `ttl`; a stale one still answers while the
// backend cannot. At most `max_versions` are kept (the oldest fetch goes first): the version is
// the client's, so a caller cycling through versions cannot grow the worker. Thread-safe.
class CodexCatalogCache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string body;  // the Codex-shaped JSON (codexCatalogJson)
    std::string etag;  // the backend's ETag, may be empty
    Clock::time_point fetched_at{};
  };

  explicit CodexCatalogCache(std::chrono::milliseconds ttl = std::chrono::hours(1), std::size_t max_versions = 16)
      : ttl_(ttl), max_versions_(max_versions) {}

  // The entry for `version` when it was fetched less than ttl before `now` (fresh), or any age.
  std::optional<Entry> fresh(const std::string& version, Clock::time_point now) const;
  std::optional<Entry> any(const std::string& version) const;
  void put(const std::string& version, Entry entry);

 private:
  const std::chrono::milliseconds ttl_;
  const std::size_t max_versions_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace cosp::worker
