#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ipc/messages.h"
#include "common/json/json_value.h"
#include "supervisor/accounts/account_pool.h"
#include "supervisor/catalog/catalog_report.h"
#include "supervisor/credential_provider.h"
#include "supervisor/worker_process.h"

namespace cosp::supervisor {

// Where the supervisor is in its life.
enum class SupervisorPhase { Starting, Running, Reloading, Stopping };
const char* phaseName(SupervisorPhase phase);  // "starting", "running", "reloading", "stopping"

// How the newest reload that started ended (`ctl reload` waits for its generation here).
struct ReloadResult {
  uint64_t generation = 0;
  bool ok = false;
  std::string reason;  // when !ok: why the new workers did not all come up
};

// What the supervisor reports about itself, read at one instant: the input of `ctl status` and
// of the aggregated metrics. Plain data and references into the supervisor; nothing here reads a
// clock, so a report is a function of its view.
struct SupervisorView {
  std::chrono::steady_clock::time_point now;
  int64_t unix_ms = 0;  // wall clock at `now`, for the credentials' expiry
  std::chrono::steady_clock::time_point started;
  pid_t pid = 0;
  std::string listen;  // the address, or "closed" once stopping
  SupervisorPhase phase = SupervisorPhase::Running;
  uint64_t generation = 0;
  int workers_configured = 0;
  const WorkerMap& workers;
  std::vector<int> slot_restarts;         // per slot, index = slot
  const common::WorkerCounters& retired;  // totals of workers that have exited
  const common::UpstreamObservation& upstream;
  const CredentialProvider& credentials;
  CatalogReport catalog;
  std::optional<ReloadResult> last_reload = std::nullopt;  // none before the first reload ends
  // Several accounts (SPEC §9): the `accounts` array of `ctl status` and the per-account series.
  common::JsonValue accounts_status = common::JsonValue::array();
  std::vector<AccountPool::Totals> account_totals = {};
};

// The `ctl status` document; members sorted by key at every level.
common::JsonValue statusReport(const SupervisorView& view);

// Every series of the proxy's /metrics: the workers' counters summed (those of exited workers
// included, gauges of live ones only), worker and credential figures, build info.
common::WorkerCounters metricSeries(const SupervisorView& view);

// Adds `add` to `total` series by series; gauges (active_*) only with include_gauges.
void addCounters(common::WorkerCounters& total, const common::WorkerCounters& add, bool include_gauges);

// Folds one worker's observation of the backend into the newest one seen by any worker.
void keepNewest(common::UpstreamObservation& kept, const common::UpstreamObservation& seen);

}  // namespace cosp::supervisor
