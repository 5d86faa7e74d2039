#include "supervisor/catalog/catalog_job.h"

namespace cosp::supervisor {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kShutdownGrace{0};    // nothing to save: cancel at once
constexpr milliseconds kShutdownAbort{500};  // after cancel(): time for the thread to notice

CatalogFetchResult fetchThrew(const std::string& what) {
  CatalogFetchResult result;
  result.kind = CatalogFetchResult::Kind::Failed;
  result.error = "catalog fetch failed: " + what;
  return result;
}

}  // namespace

common::Result<std::unique_ptr<CatalogJob>, std::string> makeCatalogJob(std::shared_ptr<HttpTransport> transport) {
  return CatalogJob::create(
      {"catalog", kShutdownGrace, kShutdownAbort, [transport] { transport->cancel(); },
       [transport](const CatalogFetchRequest& request) { return fetchCatalog(*transport, request); }, &fetchThrew});
}

}  // namespace cosp::supervisor
