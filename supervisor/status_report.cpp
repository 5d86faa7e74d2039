#include "supervisor/status_report.h"

#include <algorithm>
#include <map>

#include "common/catalog/served_catalog.h"
#include "common/metrics/prometheus.h"
#include "common/version.h"

namespace cosp::supervisor {

namespace {

using common::JsonValue;
using std::chrono::milliseconds;

int64_t msBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

int64_t counterOf(const common::WorkerCounters& counters, const char* name) {
  auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

// Requests answered, and those with a 4xx / 5xx status, from the http_requests_total series.
struct RequestTotals {
  int64_t requests = 0, status_4xx = 0, status_5xx = 0;
};
RequestTotals requestTotals(const common::WorkerCounters& series) {
  RequestTotals t;
  for (const auto& [key, value] : series) {
    if (key.rfind("http_requests_total{", 0) != 0) continue;
    t.requests += value;
    auto pos = key.find("status=\"");
    if (pos != std::string::npos && key[pos + 8] == '4') t.status_4xx += value;
    if (pos != std::string::npos && key[pos + 8] == '5') t.status_5xx += value;
  }
  return t;
}

int totalRestarts(const SupervisorView& view) {
  int restarts = 0;
  for (int r : view.slot_restarts) restarts += r;
  return restarts;
}

JsonValue workerItem(const SupervisorView& view, const WorkerProcess& w) {
  JsonValue item = JsonValue::object();
  item.set("slot", w.slot);
  item.set("pid", static_cast<int>(w.pid));
  item.set("generation", w.generation);
  item.set("state", workerStateName(w.state));
  item.set("uptime_s", msBetween(w.started, view.now) / 1000);
  item.set("requests", requestTotals(w.counters).requests);
  item.set("active_requests", counterOf(w.counters, "active_requests"));
  item.set("active_streams", counterOf(w.counters, "active_streams"));
  const bool known_slot = w.slot >= 0 && w.slot < static_cast<int>(view.slot_restarts.size());
  item.set("restarts", known_slot ? view.slot_restarts[w.slot] : 0);
  item.set("last_heartbeat_ms_ago", msBetween(w.last_heartbeat, view.now));
  return item;
}

JsonValue upstreamReport(const common::UpstreamObservation& up) {
  JsonValue upstream = JsonValue::object();
  auto timeOrNull = [&upstream](const char* key, int64_t unix_s) {
    upstream.set(key, unix_s > 0 ? JsonValue(unix_s) : JsonValue());
  };
  upstream.set("last_status", up.last_status != 0 ? JsonValue(up.last_status) : JsonValue());
  timeOrNull("last_status_at", up.last_status_at);
  timeOrNull("last_success_at", up.last_success_at);
  JsonValue limits = JsonValue::object();
  for (const auto& [name, value] : up.rate_limits) limits.set(name, value);
  upstream.set("rate_limits", std::move(limits));
  timeOrNull("rate_limits_at", up.rate_limits_at);
  return upstream;
}

JsonValue catalogReport(const CatalogReport& c) {
  JsonValue catalog = JsonValue::object();
  auto optional = [](const std::optional<int64_t>& v) { return v ? JsonValue(*v) : JsonValue(); };
  catalog.set("source", common::catalogSourceName(c.source));
  catalog.set("models", static_cast<uint64_t>(c.models));
  catalog.set("backend_models", static_cast<uint64_t>(c.backend_models));
  catalog.set("fetched_ago_s", optional(c.fetched_ago_s));
  catalog.set("last_error", c.last_error.empty() ? JsonValue() : JsonValue(c.last_error));
  catalog.set("last_error_at", c.last_error_at > 0 ? JsonValue(c.last_error_at) : JsonValue());
  catalog.set("fetches_ok", c.fetches_ok);
  catalog.set("fetches_not_modified", c.fetches_not_modified);
  catalog.set("fetches_failed", c.fetches_failed);
  catalog.set("consecutive_failures", c.consecutive_failures);
  catalog.set("fetch_in_flight", c.fetch_in_flight);
  catalog.set("next_fetch_in_s", optional(c.next_fetch_in_s));
  catalog.set("client_version", c.client_version);
  return catalog;
}

JsonValue totalsReport(const common::WorkerCounters& totals) {
  JsonValue total = JsonValue::object();
  RequestTotals request_totals = requestTotals(totals);
  total.set("requests", request_totals.requests);
  total.set("responses_4xx", request_totals.status_4xx);
  total.set("responses_5xx", request_totals.status_5xx);
  total.set("active_requests", counterOf(totals, "active_requests"));
  total.set("active_streams", counterOf(totals, "active_streams"));
  return total;
}

}  // namespace

const char* phaseName(SupervisorPhase phase) {
  switch (phase) {
    case SupervisorPhase::Starting:
      return "starting";
    case SupervisorPhase::Running:
      return "running";
    case SupervisorPhase::Reloading:
      return "reloading";
    case SupervisorPhase::Stopping:
      return "stopping";
  }
  return "running";  // not reached: every enumerator is handled above
}

void addCounters(common::WorkerCounters& total, const common::WorkerCounters& add, bool include_gauges) {
  for (const auto& [name, value] : add) {
    if (!include_gauges && common::isGaugeSeries(name)) continue;
    total[name] += value;
  }
}

void keepNewest(common::UpstreamObservation& kept, const common::UpstreamObservation& seen) {
  if (seen.last_status_at > kept.last_status_at) {
    kept.last_status = seen.last_status;
    kept.last_status_at = seen.last_status_at;
  }
  kept.last_success_at = std::max(kept.last_success_at, seen.last_success_at);
  if (seen.rate_limits_at > kept.rate_limits_at) {
    kept.rate_limits = seen.rate_limits;
    kept.rate_limits_at = seen.rate_limits_at;
  }
}

common::JsonValue statusReport(const SupervisorView& view) {
  JsonValue o = JsonValue::object();
  o.set("version", kVersion);
  o.set("pid", static_cast<int>(view.pid));
  o.set("uptime_s", msBetween(view.started, view.now) / 1000);
  o.set("listen", view.listen);
  o.set("state", phaseName(view.phase));
  o.set("generation", view.generation);
  if (view.last_reload) {
    JsonValue reload = JsonValue::object();
    reload.set("generation", view.last_reload->generation);
    reload.set("ok", view.last_reload->ok);
    if (!view.last_reload->ok) reload.set("reason", view.last_reload->reason);
    o.set("last_reload", std::move(reload));
  }
  o.set("workers_configured", view.workers_configured);

  common::WorkerCounters totals = view.retired;
  JsonValue workers = JsonValue::array();
  for (const auto& [pid, w] : view.workers) {
    workers.push(workerItem(view, w));
    addCounters(totals, w.counters, true);
  }
  o.set("workers", std::move(workers));
  o.set("credentials", view.credentials.status());
  // Several accounts (SPEC §9); a view without a pool (unit tests) has none to show.
  if (const auto* list = view.accounts_status.getArray(); list != nullptr && !list->empty()) {
    o.set("accounts", view.accounts_status);
  }
  o.set("catalog", catalogReport(view.catalog));
  o.set("upstream", upstreamReport(view.upstream));
  o.set("totals", totalsReport(totals));

  const bool stopping = view.phase == SupervisorPhase::Stopping;
  const int slots = static_cast<int>(view.slot_restarts.size());
  const int ready_slots = readySlots(view.workers, slots);
  const bool slots_ready = ready_slots == slots;
  o.set("workers_ready", ready_slots);
  // The first thing `ctl status` prints (README.md, Operations): "3/3 workers ready".
  o.set("headline", std::to_string(ready_slots) + "/" + std::to_string(slots) + " workers ready");
  const common::WorkerCredentials& credentials = view.credentials.current();
  const bool creds_ok = credentials.usable(view.unix_ms);
  o.set("healthy", !stopping && slots_ready && creds_ok);
  JsonValue problems = JsonValue::array();
  if (!slots_ready) problems.push("not every worker slot has a ready worker");
  if (!creds_ok) {
    problems.push("no usable upstream credentials (" + std::string(common::credentialStateName(credentials.state)) +
                  ")");
  }
  if (stopping) problems.push("stopping");
  o.set("problems", std::move(problems));
  o.set("worker_restarts", totalRestarts(view));
  // Members sorted by key, at every level: the order `ctl status --json` has always printed.
  common::sortMembersByKey(o);
  return o;
}

common::WorkerCounters metricSeries(const SupervisorView& view) {
  common::WorkerCounters series = view.retired;
  std::map<std::string, int> by_state;
  for (const auto& [pid, worker] : view.workers) {
    addCounters(series, worker.counters, true);
    ++by_state[workerStateName(worker.state)];
  }
  for (const char* state : {"starting", "ready", "draining"}) {
    series[common::seriesKey("workers", std::string("state=\"") + state + "\"")] = by_state[state];
  }
  series["worker_restarts_total"] = totalRestarts(view);

  const CredentialCounters credentials = view.credentials.counters();
  series[common::seriesKey("credential_refreshes_total", "result=\"ok\"")] =
      static_cast<int64_t>(credentials.refresh_ok);
  series[common::seriesKey("credential_refreshes_total", "result=\"failed\"")] =
      static_cast<int64_t>(credentials.refresh_failed);
  if (credentials.expires_in_s) series["credential_expiry_seconds"] = *credentials.expires_in_s;
  const common::CredentialState state = view.credentials.current().state;
  for (common::CredentialState s : common::kAllCredentialStates) {
    std::string label = "state=\"" + std::string(common::credentialStateName(s)) + "\"";
    series[common::seriesKey("credential_state", label)] = state == s ? 1 : 0;
  }
  series["credential_generation"] = static_cast<int64_t>(view.credentials.current().generation);
  for (const auto& [result, count] :
       {std::pair{"ok", view.catalog.fetches_ok}, std::pair{"not_modified", view.catalog.fetches_not_modified},
        std::pair{"failed", view.catalog.fetches_failed}}) {
    series[common::seriesKey("catalog_fetches_total", std::string("result=\"") + result + "\"")] =
        static_cast<int64_t>(count);
  }
  series["catalog_models"] = static_cast<int64_t>(view.catalog.models);
  for (const AccountPool::Totals& account : view.account_totals) {
    const std::string label = "account=\"" + account.name + "\"";
    series[common::seriesKey("account_requests_total", label)] = account.requests;
    series[common::seriesKey("account_failovers_total", label)] = account.failovers;
    for (const char* state :
         {"ok", "refreshing", "refresh_failing", "needs_login", "no_credentials", "cooling", "paused"}) {
      series[common::seriesKey("account_state", label + ",state=\"" + state + "\"")] = account.state == state ? 1 : 0;
    }
    if (account.quota.primary_used_percent >= 0) {
      series[common::seriesKey("account_quota_used_percent", label + ",window=\"primary\"")] =
          account.quota.primary_used_percent;
    }
    if (account.quota.secondary_used_percent >= 0) {
      series[common::seriesKey("account_quota_used_percent", label + ",window=\"secondary\"")] =
          account.quota.secondary_used_percent;
    }
  }
  series[common::seriesKey("build_info", std::string("version=\"") + kVersion + "\"")] = 1;
  return series;
}

}  // namespace cosp::supervisor
