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

common::Result<std::unique_ptr<CatalogJob>, std::string> CatalogJob::create(std::shared_ptr<HttpTransport> transport) {
  auto job = BackgroundJob<CatalogFetchResult>::create(
      {"catalog", kShutdownGrace, kShutdownAbort, [transport] { transport->cancel(); }, &fetchThrew});
  if (!job.ok()) return job.error();
  return std::unique_ptr<CatalogJob>(new CatalogJob(std::move(transport), std::move(job.value())));
}

std::optional<std::string> CatalogJob::start(CatalogFetchRequest request) {
  // The thread co-owns the transport and its request, so it may outlive this job (catalog_job.h).
  return job_->start(
      [transport = transport_, request = std::move(request)] { return fetchCatalog(*transport, request); });
}

}  // namespace cosp::supervisor
