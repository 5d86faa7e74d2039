#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/util/result.h"
#include "supervisor/credential_provider.h"
#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_store.h"
#include "supervisor/credentials/credential_types.h"
#include "supervisor/credentials/http_transport.h"
#include "supervisor/credentials/refresh_job.h"

namespace cosp::supervisor {

// Owns the ChatGPT OAuth credentials in the supervisor: loads them (state file / environment /
// CODEX_AUTH_FILE), refreshes the access token proactively (refresh_margin before expiry) and
// reactively (a worker's 401 for the current generation), persists every rotated refresh token
// to STATE_DIR/credentials.json before the new access token is handed out, and reports status.
//
// Threading: every public member except the destructor is called on the supervisor's loop
// thread. The HTTP exchange and the credentials.json write run on a background thread (one at
// a time: single flight; see refresh_job.h), so a token endpoint that hangs never blocks the
// loop; its completion makes eventFd() readable and onEvent() applies the result on the loop
// thread.
//
// Loop integration:
//   poll(... eventFd() POLLIN ..., timeout until nextDeadline());
//   if (eventFd readable) mgr.onEvent();
//   mgr.onTick();                       // cheap; starts a refresh when one is due
//   on_change -> push current() to every worker.
//
// States (current().state):
//   ok               token held, nothing in progress
//   refreshing       a refresh is in flight; the current token (if any) is still served
//   refresh_failing  transient failures (network, 5xx, 429); retrying with capped backoff +
//                    jitter while the current token keeps serving until it expires
//   needs_login      the refresh token is dead (401, invalid_grant, refresh_token_*): no more
//                    retries, no token handed out; `codex-sub-proxy login` fixes it (the new
//                    credentials.json is picked up within store_poll_interval, or by
//                    forceRefresh() / reloadStore())
//   no_credentials   nothing configured or stored
// Why CredentialManager::create() failed. The kind decides the supervisor's exit code.
struct CredentialSetupError {
  enum class Kind {
    Config,  // operator input that cannot work: exit 78 (kExitConfig), never restarted by systemd
    System,  // the process could not get a resource (an eventfd): exit 1, worth a restart
  };
  Kind kind = Kind::Config;
  std::string message;  // names the option or the call; never a token
};

struct CredentialSeed;

class CredentialManager final : public CredentialProvider {
 public:
  struct Hooks {
    std::shared_ptr<HttpTransport> transport;  // null: the POCO transport built from the settings
    std::function<double()> random01;          // jitter source in [0,1); null: a seeded PRNG
  };

  // Loads credentials as README.md says (Credentials and login, "Which wins at start"): the state file wins over the
  // configured seed unless the seed's refresh token differs from the one the file was seeded from. Errors are mostly
  // operator errors (unreadable CODEX_AUTH_FILE, bad OPENAI_AUTH_BASE_URL / HTTPS_PROXY / NO_PROXY / CA file:
  // Kind::Config) that the supervisor reports with exit 78. Starts no thread: the first onTick() does.
  static common::Result<std::unique_ptr<CredentialManager>, CredentialSetupError> create(CredentialSettings settings,
                                                                                         Clock& clock,
                                                                                         Hooks hooks = {});

  CredentialManager(const CredentialManager&) = delete;
  CredentialManager& operator=(const CredentialManager&) = delete;
  // Returns within about one second even while the token endpoint hangs (see refresh_job.h).
  ~CredentialManager();

  int eventFd() const override;
  void onEvent() override;
  // When onTick() wants to run next; nullopt = nothing scheduled.
  std::optional<std::chrono::steady_clock::time_point> nextDeadline() const override;
  void onTick() override;

  const WorkerCredentials& current() const override { return current_; }
  // A worker saw HTTP 401 with the token of `generation`. Stale generations and reports while a
  // refresh is in flight or backing off are ignored (single flight).
  void reportUnauthorized(uint64_t generation) override;
  // A worker's calls wait for a usable token of a generation newer than `generation` (the held
  // one expired, or none was refreshed yet). Starts a refresh at once when none is in flight and
  // the last attempt began more than min_demand_interval ago, else at that moment, overriding a
  // transient back-off; ignored for a stale generation, while the token still serves, or when
  // only a login helps (needs_login, no refresh token).
  void reportRefreshNeeded(uint64_t generation) override;
  // `ctl refresh`: adopt a newer credentials.json if there is one, else refresh now (ignoring
  // the backoff timer, and retrying even in needs_login). No-op while a refresh is in flight.
  void forceRefresh() override;
  // Adopts credentials.json when another process (`codex-sub-proxy login`) wrote a newer
  // lineage than the one in memory. Returns true when current() changed. Call on SIGHUP too.
  bool reloadStore();

  bool refreshInFlight() const { return in_flight_; }
  CredentialCounters counters() const override;
  // ctl status "credentials" part: state, account_id (masked), expires_at, expires_in_s,
  // last_refresh (unix s), refresh_ok, refresh_failed, consecutive_failures, last_error,
  // generation, store_writable, warning, refresh_in_flight, next_refresh_in_s, source.
  // Never contains a token.
  common::JsonValue status() const override;

  // on_change (CredentialProvider) fires on the loop thread whenever current() changed.

 private:
  CredentialManager(CredentialSettings settings, Clock& clock, std::function<double()> random01,
                    std::unique_ptr<RefreshJob> job);
  // create()'s second half: starts from the state file or from the configured seed (the rule is
  // spelled out where it is applied).
  void adoptStartupCredentials(const CredentialSeed& seed);

  std::optional<std::chrono::steady_clock::time_point> refreshDue() const;
  bool pollsStore() const;
  void startRefresh();
  void applyResult(RefreshOutcome result);
  void publish();
  CredentialState computeState() const;
  // The held access token can still be used (held and not known to be expired).
  bool tokenServes() const;
  std::string warningText() const;

  const CredentialSettings settings_;
  Clock& clock_;
  std::function<double()> random01_;
  std::unique_ptr<RefreshJob> job_;
  std::optional<CredentialStore> store_;

  StoredCredentials creds_;
  std::string source_;
  WorkerCredentials current_;

  bool in_flight_ = false;
  bool permanent_failure_ = false;
  int consecutive_failures_ = 0;
  std::optional<std::chrono::steady_clock::time_point> retry_at_;      // backoff after a failure
  std::optional<std::chrono::steady_clock::time_point> reactive_at_;   // deferred reactive refresh
  std::optional<std::chrono::steady_clock::time_point> demand_at_;     // deferred refresh for waiting calls
  std::optional<std::chrono::steady_clock::time_point> last_attempt_;  // when the last refresh began
  std::optional<std::chrono::steady_clock::time_point> last_success_;
  std::chrono::steady_clock::time_point next_store_poll_{};
  std::optional<CredentialStore::FileStamp> store_stamp_;

  uint64_t refresh_ok_ = 0;
  uint64_t refresh_failed_ = 0;
  std::string last_error_;
  int64_t last_error_at_s_ = 0;
  bool store_writable_ = false;
  std::string store_warning_;   // state dir not writable / save failed
  std::string load_warning_;    // corrupt credentials.json ignored
  std::string config_warning_;  // from the seed (two sources configured)
};

// The credential part of the validated configuration (the supervisor's seeds, issuer, state dir,
// proxy and CA settings); tuning knobs keep their defaults.
CredentialSettings credentialSettingsFromConfig(const common::Config& config);

}  // namespace cosp::supervisor
