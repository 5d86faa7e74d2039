#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/codex/fingerprint.h"
#include "supervisor/accounts/account_pool.h"
#include "supervisor/background_job.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// The backend's quota document (GET CODEX_USAGE_URL): rate_limit.primary_window /
// secondary_window {used_percent, reset_after_seconds | reset_at}. nullopt when it is not that.
std::optional<AccountQuota> parseUsageDocument(const std::string& body, int64_t now_s);

struct UsageRequest {
  std::string account;
  std::string url;
  std::string access_token;
  std::string account_id;
  int64_t now_s = 0;
};
struct UsageResult {
  std::string account;
  std::optional<AccountQuota> quota;
  std::string error;  // when !quota: what went wrong, never a token
};
using UsageJob = BackgroundJob<UsageRequest, UsageResult>;

// With two accounts or more (one account keeps exactly its former traffic): every `interval` per
// logged-in account (SPEC §9: 5 minutes), one GET of CODEX_USAGE_URL with
// that account's token and account id, on a background thread (one request at a time, like the
// catalog fetch); the figures go to the pool (AccountPool::onUsage). Failures are logged and
// ignored: the headers of every response keep the quota current anyway. Loop thread only.
class UsagePoller {
 public:
  static common::Result<std::unique_ptr<UsagePoller>, std::string> create(std::shared_ptr<HttpTransport> transport,
                                                                          std::string usage_url, AccountPool& pool,
                                                                          std::chrono::milliseconds interval);
  int eventFd() const { return job_->eventFd(); }
  void onEvent();
  std::optional<std::chrono::steady_clock::time_point> nextDeadline() const;
  void onTick();
  void setUsageUrl(std::string url) { url_ = std::move(url); }

 private:
  UsagePoller(std::unique_ptr<UsageJob> job, std::string url, AccountPool& pool, std::chrono::milliseconds interval)
      : job_(std::move(job)), url_(std::move(url)), pool_(pool), interval_(interval) {}

  std::unique_ptr<UsageJob> job_;
  std::string url_;
  AccountPool& pool_;
  std::chrono::milliseconds interval_;
  bool in_flight_ = false;
  std::map<std::string, std::chrono::steady_clock::time_point> next_poll_;  // per account
};

}  // namespace cosp::supervisor
