#include "worker/routes/codex_catalog.h"

#include <algorithm>

#include "common/catalog/catalog_parse.h"
#include "common/catalog/served_catalog.h"
#include "common/util/http_syntax.h"

namespace cosp::worker {

namespace {

std::string decodeQueryValue(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && common::hexDigitValue(in[i + 1]) >= 0 &&
        common::hexDigitValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(common::hexDigitValue(in[i + 1]) * 16 + common::hexDigitValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string modelsJson(const std::vector<common::CatalogModel>& models) {
  std::string out = "{\"models\":[";
  bool first = true;
  for (const common::CatalogModel& m : models) {
    if (m.raw_json.empty()) continue;  // an entry without its fields would make the CLI drop them all
    if (!first) out += ',';
    out += m.raw_json;
    first = false;
  }
  out += "]}";
  return out;
}

}  // namespace

std::optional<std::string> clientVersionParam(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == "client_version") {
      return eq == std::string_view::npos ? std::string() : decodeQueryValue(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool isClientVersion(std::string_view version) {
  if (version.empty() || version.size() > 64) return false;
  return std::all_of(version.begin(), version.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
           c == '_' || c == '+';
  });
}

std::optional<std::string> codexCatalogJson(std::string_view backend_body, const std::vector<std::string>& configured) {
  auto parsed = common::parseBackendCatalog(backend_body);
  if (!parsed) return std::nullopt;
  common::ModelCatalog discovered;
  discovered.source = common::ModelCatalog::Source::Backend;
  discovered.models = std::move(parsed->models);
  return modelsJson(common::servedCatalog(configured, discovered).models);
}

std::optional<std::string> codexCatalogJson(const common::ModelCatalog& held) {
  const bool any_raw = std::any_of(held.models.begin(), held.models.end(),
                                   [](const common::CatalogModel& m) { return !m.raw_json.empty(); });
  if (!any_raw) return std::nullopt;
  return modelsJson(held.models);
}

std::optional<CodexCatalogCache::Entry> CodexCatalogCache::fresh(const std::string& version,
                                                                 Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(version);
  if (it == entries_.end() || now - it->second.fetched_at >= ttl_) return std::nullopt;
  return it->second;
}

std::optional<CodexCatalogCache::Entry> CodexCatalogCache::any(const std::string& version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(version);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void CodexCatalogCache::put(const std::string& version, Entry entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[version] = std::move(entry);
  while (entries_.size() > max_versions_) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a.second.fetched_at < b.second.fetched_at;
    });
    entries_.erase(oldest);
  }
}

}  // namespace cosp::worker
