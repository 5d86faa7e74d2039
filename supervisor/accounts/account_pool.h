#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ipc/account_messages.h"
#include "common/json/json_value.h"
#include "supervisor/accounts/account_state_files.h"
#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_manager.h"

namespace cosp::supervisor {

// The latest quota figures of one account (response headers, worker reports, the usage poll).
struct AccountQuota {
  int primary_used_percent = -1;  // -1 = unknown
  int secondary_used_percent = -1;
  int64_t primary_resets_at_s = 0;  // unix s; 0 = unknown
  int64_t secondary_resets_at_s = 0;
  int64_t observed_at_ms = 0;  // unix ms of the observation these came from (orders them); 0 = never
};

// Reads the x-codex-primary-* / x-codex-secondary-* headers (used-percent, reset-after-seconds)
// observed at `at_ms`. Unknown or malformed figures stay -1 / 0.
AccountQuota quotaFromRateLimitHeaders(const std::map<std::string, std::string>& headers, int64_t at_ms);

// Every account's credential chain in the supervisor (SPEC §9, docs/ARCHITECTURE.md §5): the
// account `default` is the supervisor's existing CredentialManager (environment seed,
// CODEX_AUTH_FILE, STATE_DIR/credentials.json: unchanged), each other account is one more
// CredentialManager on STATE_DIR/accounts/<name>.json with no seed. Each chain keeps its own
// single-flight refresh, back-off and needs_login; the pool adds what is about accounts: which
// exist (a rescan every rescan_interval and on reload), pause (paused.json), cooling after a
// usage limit (cooling.json), the newest quota and the per-worker counters, and the roster the
// workers choose from.
//
// Threading: the supervisor's loop thread only, like CredentialManager.
class AccountPool {
 public:
  struct Settings {
    CredentialSettings base;  // the configured credential settings (those of `default`)
    std::string strategy = "sticky";
    std::chrono::milliseconds rescan_interval{5000};
  };

  AccountPool(Settings settings, Clock& clock, std::shared_ptr<HttpTransport> transport,
              CredentialManager& default_account);
  ~AccountPool();

  // Loop integration, as for CredentialManager: poll eventFds(), onEvent(fd) when readable
  // (false: not ours), onTick() at nextDeadline().
  std::vector<int> eventFds() const;
  bool onEvent(int fd);
  std::optional<std::chrono::steady_clock::time_point> nextDeadline() const;
  void onTick();
  // Picks up added, re-logged and removed account files now (also done every rescan_interval).
  void rescan();
  // The default account's credentials changed (its own on_change): the roster may have too.
  void onDefaultChanged();
  void setStrategy(const std::string& strategy);

  // Worker reports.
  void reportUnauthorized(const std::string& account, uint64_t generation);
  void reportRefreshNeeded(const std::string& account, uint64_t generation);
  void onAccountFailed(const common::AccountFailure& failure);
  void onHeartbeat(pid_t worker, const common::AccountObservations& seen);
  void onWorkerGone(pid_t worker);
  // The usage poll's answer for `account` (see usage_poll.h).
  void onUsage(const std::string& account, const AccountQuota& quota);

  // `ctl accounts pause|resume NAME`: error text when the account does not exist.
  std::optional<std::string> setPaused(const std::string& account, bool paused);

  // Every account with credentials for the workers, by name (`default` included only while it
  // has credentials or is the only account).
  std::vector<std::string> names() const;
  const common::WorkerCredentials* credentials(const std::string& account) const;
  common::AccountRoster roster() const;
  // `ctl accounts --json` / the `accounts` array of `ctl status --json`: name, state, account_id
  // (masked), primary/secondary used percent and resets in, requests, failovers, last_error.
  common::JsonValue status() const;
  // Per-account totals over all workers, for /metrics.
  struct Totals {
    std::string name;
    std::string state;
    int64_t requests = 0;
    int64_t failovers = 0;
    AccountQuota quota;
  };
  std::vector<Totals> totals() const;

  // Fired on the loop thread: one account's credentials changed (send them to every worker); the
  // roster changed (send it to every worker).
  std::function<void(const std::string& account)> on_credentials_change;
  std::function<void()> on_roster_change;

 private:
  struct Account {
    CredentialManager* manager = nullptr;  // default: the supervisor's; others: owned below
    std::unique_ptr<CredentialManager> owned;
    AccountQuota quota;
    int64_t failovers_reported = 0;                  // account_failed messages about it
    std::string last_failure;                        // the last account_failed kind
    std::optional<uint64_t> deactivated_generation;  // needs a login: deactivated at this generation
  };

  void addAccount(const std::string& name);
  bool included(const std::string& name) const;
  bool loggedIn(const std::string& name, const Account& account) const;
  std::string stateOf(const std::string& name, const Account& account) const;
  int64_t coolingUntil(const std::string& name) const;
  void expireCooling();
  void maybeRosterChanged();
  void observeRateLimits(Account& account, const common::AccountObservation& seen);
  int64_t summed(const std::string& name, int64_t common::AccountObservation::*field) const;

  Settings settings_;
  Clock& clock_;
  std::shared_ptr<HttpTransport> transport_;
  AccountStateFiles files_;
  std::map<std::string, Account> accounts_;
  std::set<std::string> paused_;
  std::map<std::string, int64_t> cooling_until_ms_;
  std::map<pid_t, common::AccountObservations> live_;          // the latest heartbeat per worker
  std::map<std::string, common::AccountObservation> retired_;  // totals of workers gone
  std::chrono::steady_clock::time_point next_rescan_{};
  std::optional<common::AccountRoster> last_roster_;
};

}  // namespace cosp::supervisor
