#include "worker/worker_context.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace cosp::worker {

void WorkerMetrics::add(const std::string& key, int64_t delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  series_[key] += delta;
}

void WorkerMetrics::recordRequest(const char* route, int status, int64_t duration_us, int64_t ttfb_us) {
  const std::string_view name(route);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(routes_.begin(), routes_.end(), [&](const RouteCounts& r) { return r.route == name; });
  if (it == routes_.end()) it = routes_.insert(routes_.end(), RouteCounts{std::string(name), {}, {}, {}});
  auto counted =
      std::find_if(it->statuses.begin(), it->statuses.end(), [&](const auto& s) { return s.first == status; });
  if (counted == it->statuses.end()) {
    it->statuses.emplace_back(status, 1);
  } else {
    ++counted->second;
  }
  it->duration.observe(duration_us);
  if (ttfb_us >= 0) it->ttfb.observe(ttfb_us);
}

void WorkerMetrics::recordUpstreamStatus(int status) {
  add(common::seriesKey("upstream_responses_total", "status=\"" + std::to_string(status) + "\""));
}

void WorkerMetrics::observeUpstream(int status, std::map<std::string, std::string> rate_limit_headers,
                                    const std::string& account) {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(wall).count();
  // The account's copy is made before the lock, which every worker thread takes.
  std::map<std::string, std::string> account_rate_limits;
  if (!account.empty() && !rate_limit_headers.empty()) account_rate_limits = rate_limit_headers;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!account_rate_limits.empty()) {
    common::AccountObservation& seen = accounts_[account];
    seen.rate_limits.swap(account_rate_limits);  // the old map is freed after the lock
    seen.rate_limits_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall).count();
  }
  upstream_.last_status = status;
  upstream_.last_status_at = now;
  if (status >= 200 && status < 300) upstream_.last_success_at = now;
  if (!rate_limit_headers.empty()) {
    upstream_.rate_limits.swap(rate_limit_headers);  // the old map is freed after the lock
    upstream_.rate_limits_at = now;
  }
}

void WorkerMetrics::observeAccountRateLimits(const std::string& account,
                                             const std::map<std::string, std::string>& rate_limits) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::lock_guard<std::mutex> lock(mutex_);
  common::AccountObservation& seen = accounts_[account];
  for (const auto& [name, value] : rate_limits) seen.rate_limits[name] = value;
  seen.rate_limits_at_ms = now_ms;
}

void WorkerMetrics::recordAccountRequest(const std::string& account) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++accounts_[account].requests;
}

void WorkerMetrics::recordAccountFailover(const std::string& account) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++accounts_[account].failovers;
}

common::AccountObservations WorkerMetrics::accountObservations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accounts_;
}

common::UpstreamObservation WorkerMetrics::upstreamObservation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return upstream_;
}

void WorkerMetrics::recordUpstreamFailure(const char* kind) {
  add(common::seriesKey("upstream_failures_total", std::string("kind=\"") + kind + "\""));
}

void WorkerMetrics::recordUpstreamRetry() { add("upstream_retries_total"); }
void WorkerMetrics::recordClientDisconnect() { add("client_disconnects_total"); }

common::WorkerCounters WorkerMetrics::snapshot() const {
  common::WorkerCounters out;
  std::vector<RouteCounts> routes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out = series_;
    routes = routes_;
  }
  for (const RouteCounts& r : routes) {
    const std::string label = "route=\"" + r.route + "\"";
    for (const auto& [status, requests] : r.statuses) {
      out[common::seriesKey("http_requests_total", label + ",status=\"" + std::to_string(status) + "\"")] += requests;
    }
    r.duration.addTo(out, "http_request_duration_seconds", label);
    if (r.ttfb.count > 0) r.ttfb.addTo(out, "time_to_first_byte_seconds", label);
  }
  out["active_requests"] = active_requests.load();
  out["active_streams"] = active_streams.load();
  out["response_bytes_total"] = bytes_out.load();
  out["handler_exceptions_total"] = handler_exceptions.load();
  return out;
}

common::UniqueFd WorkerContext::makeDrainEvent() { return common::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }

void WorkerContext::beginDrain() {
  draining = true;
  const std::uint64_t one = 1;
  // Never read: the eventfd stays readable, so every poll(2) that includes it returns at once.
  if (drain_event_) (void)::write(drain_event_.get(), &one, sizeof one);
}

CredentialsCache* WorkerContext::accountCredentials(const std::string& account) {
  if (account == common::kDefaultAccountName) return &credentials;
  std::lock_guard<std::mutex> lock(accounts_mutex_);
  auto it = account_credentials_.find(account);
  return it == account_credentials_.end() ? nullptr : it->second.get();
}

void WorkerContext::setAccountCredentials(const std::string& account, common::WorkerCredentials creds) {
  if (account == common::kDefaultAccountName) {
    credentials.set(std::move(creds));
    return;
  }
  CredentialsCache* cache = nullptr;
  {
    std::lock_guard<std::mutex> lock(accounts_mutex_);
    auto& slot = account_credentials_[account];
    if (!slot) slot = std::make_unique<CredentialsCache>();
    cache = slot.get();
  }
  cache->set(std::move(creds));
}

void WorkerContext::setRoster(common::AccountRoster roster) {
  auto next = std::make_shared<const common::AccountRoster>(std::move(roster));
  std::lock_guard<std::mutex> lock(accounts_mutex_);
  roster_ = std::move(next);
}

void WorkerContext::markAccountUnusable(const std::string& account, int64_t cooling_until_ms) {
  std::lock_guard<std::mutex> lock(accounts_mutex_);
  auto next = std::make_shared<common::AccountRoster>(*roster_);
  for (common::AccountRosterEntry& entry : next->accounts) {
    if (entry.name != account) continue;
    if (cooling_until_ms > 0) {
      entry.cooling_until_ms = std::max(entry.cooling_until_ms, cooling_until_ms);
    } else {
      entry.logged_in = false;
    }
  }
  roster_ = std::move(next);
}

std::shared_ptr<const common::AccountRoster> WorkerContext::roster() const {
  std::lock_guard<std::mutex> lock(accounts_mutex_);
  return roster_;
}

void WorkerContext::setMetricsText(std::string text) {
  auto shared = std::make_shared<const std::string>(std::move(text));
  std::lock_guard<std::mutex> lock(metrics_text_mutex_);
  metrics_text_ = std::move(shared);
}

std::shared_ptr<const std::string> WorkerContext::metricsText() const {
  std::lock_guard<std::mutex> lock(metrics_text_mutex_);
  return metrics_text_;
}

std::shared_ptr<const common::ModelCatalog> CatalogHolder::get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

void CatalogHolder::set(common::ModelCatalog catalog) {
  auto next = std::make_shared<const common::ModelCatalog>(std::move(catalog));
  std::lock_guard<std::mutex> lock(mutex_);
  current_.swap(next);
  // `next` (the old catalog) is released after the lock, when no reader holds it any more.
}

std::shared_ptr<const common::WorkerCredentials> CredentialsCache::get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

void CredentialsCache::set(common::WorkerCredentials credentials) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::make_shared<const common::WorkerCredentials>(std::move(credentials));
  }
  changed_.notify_all();
}

std::shared_ptr<const common::WorkerCredentials> CredentialsCache::waitNewer(
    uint64_t generation, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_until(lock, deadline, [&] { return current_->generation > generation; })) return nullptr;
  return current_;
}

std::shared_ptr<const common::WorkerCredentials> CredentialsCache::waitChanged(
    const std::shared_ptr<const common::WorkerCredentials>& seen,
    std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return current_ != seen; });
  return current_;
}

bool CredentialsCache::claimRefreshRequest(uint64_t generation, std::chrono::steady_clock::time_point now,
                                           std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (requested_generation_ == generation && now < requested_at_ + interval) return false;
  requested_generation_ = generation;
  requested_at_ = now;
  return true;
}

}  // namespace cosp::worker
