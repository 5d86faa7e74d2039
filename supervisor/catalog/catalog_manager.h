#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/catalog/model_catalog.h"
#include "common/config/config.h"
#include "common/ipc/messages.h"
#include "common/util/result.h"
#include "supervisor/catalog/catalog_job.h"
#include "supervisor/catalog/catalog_report.h"
#include "supervisor/catalog/catalog_schedule.h"
#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// The part of the configuration the catalog depends on.
struct CatalogSettings {
  std::string base_url;                 // CODEX_BASE_URL
  std::string client_version;           // CODEX_CLIENT_VERSION (or the built-in default)
  std::vector<std::string> configured;  // CODEX_MODELS; empty = unset
  CatalogSchedule::Timing timing;       // production defaults; tests shrink them
};
CatalogSettings catalogSettingsFromConfig(const common::Config& config);

// Owns the model catalog in the supervisor (docs/ARCHITECTURE.md, Model catalog): fetches
// `GET {CODEX_BASE_URL}/models?client_version=` with the current access token on the schedule of
// catalog_schedule.h, keeps the last good copy (a failed fetch never replaces it; the built-in
// list serves only until a first fetch succeeds), applies CODEX_MODELS, and says when what the
// workers serve changed.
//
// Threading and loop integration as CredentialManager: every member is called on the loop
// thread; the fetch runs on a CatalogJob thread; poll eventFd() and call onEvent(), call onTick()
// at nextDeadline(), onCredentials() after every credentials change.
class CatalogManager {
 public:
  // Errors: a CODEX_BASE_URL that is not a URL (the loader refuses those first), no eventfd.
  static common::Result<std::unique_ptr<CatalogManager>, std::string> create(CatalogSettings settings,
                                                                             std::shared_ptr<HttpTransport> transport,
                                                                             Clock& clock);
  CatalogManager(const CatalogManager&) = delete;
  CatalogManager& operator=(const CatalogManager&) = delete;

  int eventFd() const { return job_->eventFd(); }
  void onEvent();
  std::optional<std::chrono::steady_clock::time_point> nextDeadline() const { return schedule_.nextFetch(); }
  void onTick();
  // The credentials a fetch uses (the supervisor's current ones, as the workers get them).
  void onCredentials(const common::WorkerCredentials& credentials);
  // HUP: CODEX_MODELS may have changed (served() follows at once), or the endpoint or client
  // version (then the catalog is fetched again, without the old ETag).
  void reconfigure(CatalogSettings settings);

  // What the workers serve: the backend's catalog or the built-in list, through CODEX_MODELS.
  const common::ModelCatalog& served() const { return served_; }
  // served() as the channel message (common/ipc/catalog_message.h), encoded once per change.
  const std::string& message() const { return message_; }
  CatalogReport report() const;

  std::function<void()> on_change;                           // served() changed
  std::function<void(uint64_t generation)> on_unauthorized;  // the backend refused that token

 private:
  CatalogManager(CatalogSettings settings, std::string url, Clock& clock, std::unique_ptr<CatalogJob> job);
  void startFetch();
  void apply(CatalogFetchResult result);
  void recordFailure(const CatalogFetchResult& result);
  void updateServed();

  CatalogSettings settings_;
  std::string url_;
  Clock& clock_;
  std::unique_ptr<CatalogJob> job_;
  CatalogSchedule schedule_;

  common::WorkerCredentials credentials_;
  common::ModelCatalog discovered_;  // the backend's last good catalog, else the built-in list
  std::string discovered_account_;   // the account discovered_ was fetched for
  common::ModelCatalog served_;
  std::string message_;

  uint64_t fetches_ok_ = 0, fetches_not_modified_ = 0, fetches_failed_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_success_;
  std::string last_error_;
  int64_t last_error_at_s_ = 0;
};

}  // namespace cosp::supervisor
