#include "supervisor/accounts/usage_poll.h"

#include <cmath>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/log/log.h"

namespace cosp::supervisor {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxUsageBytes = 1 << 20;

// One window: used percent and the reset as unix seconds (reset_at, else now + reset_after_seconds).
bool readWindow(const common::JsonValue* window, int64_t now_s, int& used, int64_t& resets_at) {
  if (window == nullptr || !window->isObject()) return false;
  const common::JsonValue* percent = window->find("used_percent");
  auto p = percent != nullptr ? percent->getDouble() : std::nullopt;
  if (!p || !std::isfinite(*p) || *p < 0) return false;
  used = static_cast<int>(std::lround(*p));
  if (auto at = common::jsonInt(*window, "reset_at"); at && *at > 0) {
    resets_at = *at;
  } else if (auto after = common::jsonInt(*window, "reset_after_seconds"); after && *after >= 0) {
    resets_at = now_s + *after;
  }
  return true;
}

UsageResult usageThrew(const std::string& what) {
  UsageResult r;
  r.error = what;
  return r;
}

UsageResult fetchUsage(HttpTransport& transport, const UsageRequest& request) {
  UsageResult result;
  result.account = request.account;
  HttpHeaders headers{{"Authorization", "Bearer " + request.access_token}, {"Accept", "application/json"}};
  if (!request.account_id.empty()) headers.emplace_back("ChatGPT-Account-ID", request.account_id);
  auto reply = transport.get(request.url, headers, kMaxUsageBytes);
  if (!reply.ok()) {
    result.error = reply.error();
    return result;
  }
  if (reply->status != 200) {
    result.error = "HTTP " + std::to_string(reply->status);
    return result;
  }
  result.quota = parseUsageDocument(reply->body, request.now_s);
  if (!result.quota) result.error = "not a usage document";
  return result;
}

}  // namespace

std::optional<AccountQuota> parseUsageDocument(const std::string& body, int64_t now_s) {
  auto root = common::parseJsonObject(body);
  if (!root) return std::nullopt;
  const common::JsonValue* limits = root->find("rate_limit");
  if (limits == nullptr || !limits->isObject()) return std::nullopt;
  AccountQuota q;
  q.observed_at_ms = now_s * 1000;
  const bool primary = readWindow(limits->find("primary_window"), now_s, q.primary_used_percent, q.primary_resets_at_s);
  const bool secondary =
      readWindow(limits->find("secondary_window"), now_s, q.secondary_used_percent, q.secondary_resets_at_s);
  if (!primary && !secondary) return std::nullopt;
  return q;
}

common::Result<std::unique_ptr<UsagePoller>, std::string> UsagePoller::create(std::shared_ptr<HttpTransport> transport,
                                                                              std::string usage_url, AccountPool& pool,
                                                                              std::chrono::milliseconds interval) {
  auto job = UsageJob::create({"usage poll", std::chrono::milliseconds(0), std::chrono::milliseconds(500),
                               [transport] { transport->cancel(); },
                               [transport](const UsageRequest& r) { return fetchUsage(*transport, r); }, &usageThrew});
  if (!job.ok()) return job.error();
  return std::unique_ptr<UsagePoller>(new UsagePoller(std::move(job.value()), std::move(usage_url), pool, interval));
}

void UsagePoller::onEvent() {
  auto outcome = job_->take();
  if (!outcome) return;
  in_flight_ = false;
  if (outcome->quota) {
    common::logDebug("account_usage_polled")
        .field("account", outcome->account)
        .field("primary_used_percent", outcome->quota->primary_used_percent)
        .field("secondary_used_percent", outcome->quota->secondary_used_percent);
    pool_.onUsage(outcome->account, *outcome->quota);
  } else {
    common::logWarn("account_usage_poll_failed").field("account", outcome->account).field("error", outcome->error);
  }
}

std::optional<SteadyClock::time_point> UsagePoller::nextDeadline() const {
  // One account behaves exactly as before: no extra backend traffic (its responses' headers keep
  // its quota current, and nothing chooses between accounts).
  if (in_flight_ || pool_.names().size() < 2) return std::nullopt;
  std::optional<SteadyClock::time_point> earliest;
  for (const std::string& name : pool_.names()) {
    auto it = next_poll_.find(name);
    const SteadyClock::time_point due = it == next_poll_.end() ? SteadyClock::now() : it->second;
    if (!earliest || due < *earliest) earliest = due;
  }
  return earliest;
}

void UsagePoller::onTick() {
  if (in_flight_ || url_.empty() || pool_.names().size() < 2) return;
  const SteadyClock::time_point now = SteadyClock::now();
  for (const std::string& name : pool_.names()) {
    auto it = next_poll_.find(name);
    if (it != next_poll_.end() && it->second > now) continue;
    next_poll_[name] = now + interval_;
    const common::WorkerCredentials* creds = pool_.credentials(name);
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    if (creds == nullptr || !creds->usable(now_ms)) continue;  // not logged in: nothing to ask
    UsageRequest request{name, url_, creds->access_token, creds->account_id, now_ms / 1000};
    if (auto error = job_->start(std::move(request))) {
      common::logWarn("account_usage_poll_failed").field("account", name).field("error", *error);
      return;
    }
    in_flight_ = true;
    return;  // one at a time
  }
}

}  // namespace cosp::supervisor
