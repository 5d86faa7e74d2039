#include "supervisor/catalog/catalog_manager.h"

#include "common/catalog/served_catalog.h"
#include "common/ipc/catalog_message.h"
#include "common/log/log.h"

namespace cosp::supervisor {

namespace {

// Equal for the workers: a 200 that repeats the catalog (a backend without ETags) changes nothing.
bool sameCatalog(const common::ModelCatalog& a, const common::ModelCatalog& b) {
  return a.source == b.source && a.models == b.models;
}

}  // namespace

CatalogSettings catalogSettingsFromConfig(const common::Config& config) {
  CatalogSettings s;
  s.base_url = config.codex_base_url;
  s.client_version = config.codexClientVersion();
  s.configured = config.models;
  return s;
}

common::Result<std::unique_ptr<CatalogManager>, std::string> CatalogManager::create(
    CatalogSettings settings, std::shared_ptr<HttpTransport> transport, Clock& clock) {
  auto url = catalogUrl(settings.base_url, settings.client_version);
  if (!url.ok()) return url.error();
  auto job = makeCatalogJob(std::move(transport));
  if (!job.ok()) return job.error();
  return std::unique_ptr<CatalogManager>(
      new CatalogManager(std::move(settings), url.value().toString(), clock, std::move(job.value())));
}

CatalogManager::CatalogManager(CatalogSettings settings, std::string url, Clock& clock, std::unique_ptr<CatalogJob> job)
    : settings_(std::move(settings)),
      url_(std::move(url)),
      clock_(clock),
      job_(std::move(job)),
      schedule_(settings_.timing, clock_.steadyNow()),
      discovered_(common::builtInCatalog()) {
  served_ = common::servedCatalog(settings_.configured, discovered_);
  message_ = common::encodeCatalog(served_);
}

void CatalogManager::onCredentials(const common::WorkerCredentials& credentials) {
  credentials_ = credentials;
  schedule_.onCredentials(credentials_.usable(clock_.unixMillis()), credentials_.generation, credentials_.account_id,
                          clock_.steadyNow());
}

void CatalogManager::onTick() {
  if (!schedule_.due(clock_.steadyNow())) return;
  if (!credentials_.usable(clock_.unixMillis())) {
    // Expired since the last update: wait for the refreshed token (onCredentials) to come.
    schedule_.onCredentials(false, credentials_.generation, credentials_.account_id, clock_.steadyNow());
    return;
  }
  startFetch();
}

void CatalogManager::startFetch() {
  CatalogFetchRequest request;
  request.url = url_;
  request.access_token = credentials_.access_token;
  request.account_id = credentials_.account_id;
  // A 304 is only meaningful for the copy held, of the same account.
  if (discovered_.source == common::ModelCatalog::Source::Backend && discovered_account_ == credentials_.account_id) {
    request.etag = discovered_.etag;
  }
  schedule_.onStarted(credentials_.generation, credentials_.account_id);
  if (auto error = job_->start(std::move(request))) {
    CatalogFetchResult failed;
    failed.error = *error;
    apply(std::move(failed));
  }
}

void CatalogManager::onEvent() {
  if (auto result = job_->take()) apply(std::move(*result));
}

void CatalogManager::apply(CatalogFetchResult result) {
  using Kind = CatalogFetchResult::Kind;
  const auto now = clock_.steadyNow();
  switch (result.kind) {
    case Kind::Fresh: {
      ++fetches_ok_;
      last_success_ = now;
      schedule_.onFinished(CatalogSchedule::Outcome::Fetched, now);
      common::ModelCatalog fetched;
      fetched.source = common::ModelCatalog::Source::Backend;
      fetched.models = std::move(result.catalog.models);
      fetched.etag = std::move(result.etag);
      fetched.fetched_at_ms = clock_.unixMillis();
      discovered_ = std::move(fetched);
      discovered_account_ = schedule_.startedAccount();
      common::logInfo("catalog_fetched")
          .field("models", static_cast<int64_t>(discovered_.models.size()))
          .field("skipped", static_cast<int64_t>(result.catalog.skipped))
          .field("client_version", settings_.client_version);
      updateServed();
      return;
    }
    case Kind::NotModified:
      ++fetches_not_modified_;
      last_success_ = now;
      schedule_.onFinished(CatalogSchedule::Outcome::Fetched, now);
      common::logDebug("catalog_not_modified");
      return;
    case Kind::Unauthorized:
      schedule_.onFinished(CatalogSchedule::Outcome::Unauthorized, now);
      recordFailure(result);
      // The workers report a 401 on a model call the same way: the credential manager refreshes
      // (single flight), and the fresher token brings the next fetch (catalog_schedule.h).
      if (on_unauthorized) on_unauthorized(schedule_.startedGeneration());
      return;
    case Kind::Failed:
      schedule_.onFinished(CatalogSchedule::Outcome::Failed, now);
      recordFailure(result);
      return;
  }
}

void CatalogManager::recordFailure(const CatalogFetchResult& result) {
  ++fetches_failed_;
  last_error_ = result.error;
  last_error_at_s_ = clock_.unixMillis() / 1000;
  auto line = common::logWarn("catalog_fetch_failed");
  line.field("error", result.error)
      .field("consecutive_failures", schedule_.consecutiveFailures())
      // What keeps serving: the stale copy of the backend's catalog, or the built-in list.
      .field("serving", common::catalogSourceName(served_.source));
  if (result.status != 0) line.field("status", result.status);
  if (auto next = schedule_.nextFetch()) {
    line.field("retry_in_s", std::chrono::duration_cast<std::chrono::seconds>(*next - clock_.steadyNow()).count());
  }
}

void CatalogManager::reconfigure(CatalogSettings settings) {
  const bool endpoint_changed =
      settings.base_url != settings_.base_url || settings.client_version != settings_.client_version;
  if (endpoint_changed) {
    if (auto url = catalogUrl(settings.base_url, settings.client_version); url.ok()) url_ = url.value().toString();
    // Another endpoint or version may serve another catalog: the old ETag does not apply.
    discovered_.etag.clear();
    schedule_.fetchNow(clock_.steadyNow());
  }
  settings_ = std::move(settings);
  updateServed();
}

void CatalogManager::updateServed() {
  common::ModelCatalog next = common::servedCatalog(settings_.configured, discovered_);
  if (sameCatalog(next, served_)) {
    served_.etag = next.etag;  // a new ETag for the same content is not news to the workers
    served_.fetched_at_ms = next.fetched_at_ms;
    return;
  }
  served_ = std::move(next);
  bool raw_dropped = false;
  message_ = common::encodeCatalog(served_, &raw_dropped);
  auto line = common::logInfo("catalog_changed");
  line.field("source", common::catalogSourceName(served_.source))
      .field("models", static_cast<int64_t>(served_.models.size()));
  // The workers still get every slug and effort; only the Codex-shaped answer lacks the entries.
  if (raw_dropped) line.field("raw_entries", "left out: the catalog exceeds one channel message");
  if (on_change) on_change();
}

CatalogReport CatalogManager::report() const {
  CatalogReport r;
  const auto now = clock_.steadyNow();
  r.source = served_.source;
  r.models = served_.models.size();
  r.backend_models = discovered_.source == common::ModelCatalog::Source::Backend ? discovered_.models.size() : 0;
  if (last_success_) r.fetched_ago_s = std::chrono::duration_cast<std::chrono::seconds>(now - *last_success_).count();
  r.last_error = last_error_;
  r.last_error_at = last_error_at_s_;
  r.fetches_ok = fetches_ok_;
  r.fetches_not_modified = fetches_not_modified_;
  r.fetches_failed = fetches_failed_;
  r.consecutive_failures = schedule_.consecutiveFailures();
  r.fetch_in_flight = schedule_.inFlight();
  if (auto next = schedule_.nextFetch()) {
    r.next_fetch_in_s = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(*next - now).count());
  }
  r.client_version = settings_.client_version;
  return r;
}

}  // namespace cosp::supervisor
