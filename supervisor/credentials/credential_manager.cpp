#include "supervisor/credentials/credential_manager.h"

#include <algorithm>
#include <random>

#include "common/codex/fingerprint.h"
#include "common/log/log.h"
#include "common/net/url.h"
#include "supervisor/credentials/credential_seed.h"
#include "supervisor/credentials/oauth_client.h"
#include "supervisor/credentials/refresh_backoff.h"

namespace cosp::supervisor {

namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// "abcd...wxyz": enough to tell accounts apart in `ctl status`, not enough to reuse.
std::string maskAccountId(const std::string& id) {
  if (id.empty()) return {};
  if (id.size() <= 8) return "****";
  return id.substr(0, 4) + "..." + id.substr(id.size() - 4);
}

common::JsonValue nullable(const std::string& s) { return s.empty() ? common::JsonValue() : common::JsonValue(s); }

common::JsonValue nullableInt(int64_t v, bool present) { return present ? common::JsonValue(v) : common::JsonValue(); }

std::string unwritableWarning(const std::string& why) {
  return "credentials.json cannot be written (" + why +
         "); rotated tokens are kept in memory only and are lost on restart";
}

}  // namespace

common::Result<std::unique_ptr<CredentialManager>, CredentialSetupError> CredentialManager::create(
    CredentialSettings settings, Clock& clock, Hooks hooks) {
  using Kind = CredentialSetupError::Kind;
  if (auto base = common::parseUrl(settings.auth_base_url); !base.ok()) {
    return CredentialSetupError{Kind::Config, "OPENAI_AUTH_BASE_URL: " + base.error()};
  }
  auto seed = loadCredentialSeed(settings);
  if (!seed.ok()) return CredentialSetupError{Kind::Config, seed.error()};

  std::shared_ptr<HttpTransport> transport = hooks.transport;
  if (!transport) {
    auto made = makeTransportFor(settings);
    if (!made.ok()) return CredentialSetupError{Kind::Config, made.error()};
    transport = made.value();
  }
  if (!hooks.random01) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    hooks.random01 = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  }
  auto job = makeRefreshJob(std::move(transport));
  if (!job.ok()) return CredentialSetupError{Kind::System, job.error()};

  std::unique_ptr<CredentialManager> mgr(
      new CredentialManager(std::move(settings), clock, std::move(hooks.random01), std::move(job.value())));
  mgr->adoptStartupCredentials(seed.value());

  common::logInfo("credentials_loaded")
      .field("source", mgr->source_.empty() ? std::string("none") : mgr->source_)
      .field("state", common::credentialStateName(mgr->current_.state))
      .field("store_writable", mgr->store_writable_);
  if (std::string warning = mgr->warningText(); !warning.empty()) {
    common::logWarn("credentials_warning").field("warning", warning);
  }
  return common::Result<std::unique_ptr<CredentialManager>, CredentialSetupError>(std::move(mgr));
}

void CredentialManager::adoptStartupCredentials(const CredentialSeed& seed) {
  config_warning_ = seed.warning;
  // README.md, "Which wins at start": the state file wins over the seed unless the seed's refresh token is not the one
  // the file descends from (then the operator logged in again / rotated the secret).
  std::optional<StoredCredentials> stored;
  if (!settings_.state_dir.empty()) {
    store_.emplace(settings_.state_dir, settings_.store_file);
    auto loaded = store_->load();
    if (loaded.ok()) {
      stored = loaded.value();
    } else {
      load_warning_ = "ignoring unreadable credentials file: " + loaded.error();
    }
    auto not_writable = store_->probeWritable();
    store_writable_ = !not_writable;
    if (not_writable) store_warning_ = unwritableWarning(*not_writable);
  } else {
    store_warning_ = "no state directory configured; rotated tokens are kept in memory only";
  }

  const bool stored_usable = stored && !stored->refresh_token.empty();
  if (stored_usable && (seed.creds.seed_hash.empty() || stored->seed_hash == seed.creds.seed_hash)) {
    creds_ = *stored;
    source_ = "state_file";
  } else if (!seed.creds.refresh_token.empty() || !seed.creds.access_token.empty()) {
    creds_ = seed.creds;
    source_ = seed.source;
    // Record the seed (and its hash) right away so the next start applies the rule above.
    if (store_ && store_writable_ && !creds_.refresh_token.empty()) {
      if (auto err = store_->save(creds_)) {
        store_writable_ = false;
        store_warning_ = unwritableWarning(*err);
      }
    }
  }
  if (store_) store_stamp_ = store_->stamp();
  deriveFields(creds_, settings_.account_id);
  publish();
}

CredentialManager::CredentialManager(CredentialSettings settings, Clock& clock, std::function<double()> random01,
                                     std::unique_ptr<RefreshJob> job)
    : settings_(std::move(settings)),
      clock_(clock),
      random01_(std::move(random01)),
      job_(std::move(job)),
      next_store_poll_(clock_.steadyNow() + settings_.store_poll_interval) {}

CredentialManager::~CredentialManager() = default;

int CredentialManager::eventFd() const { return job_->eventFd(); }

void CredentialManager::onEvent() {
  std::optional<RefreshOutcome> result = job_->take();
  if (result) applyResult(std::move(*result));
}

void CredentialManager::applyResult(RefreshOutcome r) {
  in_flight_ = false;
  const SteadyTime now = clock_.steadyNow();
  if (r.ok) {
    creds_ = std::move(r.next);
    ++refresh_ok_;
    consecutive_failures_ = 0;
    permanent_failure_ = false;
    retry_at_.reset();
    last_success_ = now;
    if (r.store_attempted) {
      store_writable_ = !r.store_error;
      store_warning_ = r.store_error ? unwritableWarning(*r.store_error) : std::string();
      if (!r.store_error) store_stamp_ = store_->stamp();  // our own write is not news
    }
    publish();
    auto line = common::logInfo("credentials_refreshed");
    line.field("generation", current_.generation).field("persisted", r.store_attempted && !r.store_error);
    if (creds_.expires_at_ms > 0) line.field("expires_in_s", (creds_.expires_at_ms - clock_.unixMillis()) / 1000);
    if (r.store_error) common::logError("credentials_store_failed").field("error", *r.store_error);
    return;
  }

  ++refresh_failed_;
  last_error_ = r.failure.message;
  last_error_at_s_ = clock_.unixMillis() / 1000;
  if (r.failure.kind == FailureKind::Permanent) {
    permanent_failure_ = true;
    consecutive_failures_ = 0;
    retry_at_.reset();
    publish();
    common::logError("credentials_need_login").field("error", last_error_).field("hint", "run `codex-sub-proxy login`");
    return;
  }
  ++consecutive_failures_;
  milliseconds delay = backoffDelay(consecutive_failures_, settings_.backoff_base, settings_.backoff_cap, random01_());
  if (r.failure.retry_after) delay = std::max(delay, std::min(*r.failure.retry_after, settings_.retry_after_cap));
  retry_at_ = now + delay;
  publish();
  common::logWarn("credentials_refresh_failed")
      .field("error", last_error_)
      .field("consecutive_failures", consecutive_failures_)
      .field("retry_in_ms", static_cast<int64_t>(delay.count()));
}

CredentialState CredentialManager::computeState() const {
  if (creds_.refresh_token.empty() && creds_.access_token.empty()) return CredentialState::NoCredentials;
  if (permanent_failure_) return CredentialState::NeedsLogin;
  if (consecutive_failures_ > 0) return CredentialState::RefreshFailing;
  // An empty access token: the first refresh is due now.
  if (in_flight_ || creds_.access_token.empty()) return CredentialState::Refreshing;
  // An access token without a refresh token cannot be renewed: once expired, only a login helps.
  if (creds_.refresh_token.empty() && creds_.expires_at_ms != 0 && creds_.expires_at_ms <= clock_.unixMillis()) {
    return CredentialState::NeedsLogin;
  }
  return CredentialState::Ok;
}

bool CredentialManager::tokenServes() const {
  if (creds_.access_token.empty()) return false;
  return creds_.expires_at_ms == 0 || creds_.expires_at_ms > clock_.unixMillis();
}

void CredentialManager::publish() {
  WorkerCredentials next;
  next.state = computeState();
  const bool serving = next.state != CredentialState::NeedsLogin && next.state != CredentialState::NoCredentials;
  next.access_token = serving ? creds_.access_token : std::string();
  next.account_id = creds_.account_id;
  next.expires_at_ms = creds_.expires_at_ms;
  next.generation = current_.generation + (next.access_token != current_.access_token ? 1 : 0);
  const bool changed = next.generation != current_.generation || next.state != current_.state ||
                       next.account_id != current_.account_id || next.expires_at_ms != current_.expires_at_ms;
  current_ = std::move(next);
  if (changed && on_change) on_change();
}

std::optional<SteadyTime> CredentialManager::refreshDue() const {
  if (in_flight_ || permanent_failure_ || creds_.refresh_token.empty()) return std::nullopt;
  const SteadyTime now = clock_.steadyNow();
  if (consecutive_failures_ > 0 && retry_at_) {
    // The backoff governs, but calls waiting for a token (none serves) cut it short.
    return demand_at_ ? std::min(*retry_at_, *demand_at_) : *retry_at_;
  }
  if (creds_.access_token.empty()) return now;  // nothing to serve: refresh at once
  std::optional<SteadyTime> due = reactive_at_;
  if (demand_at_ && (!due || *demand_at_ < *due)) due = demand_at_;
  if (creds_.expires_at_ms > 0) {
    const int64_t wall_due_ms =
        creds_.expires_at_ms - std::chrono::duration_cast<milliseconds>(settings_.refresh_margin).count();
    const int64_t wait_ms = std::max<int64_t>(0, wall_due_ms - clock_.unixMillis());
    const SteadyTime proactive = now + milliseconds(wait_ms);
    if (!due || proactive < *due) due = proactive;
  }
  return due;  // unknown expiry: only reactive refreshes
}

bool CredentialManager::pollsStore() const {
  if (!store_ || in_flight_) return false;
  return current_.state == CredentialState::NeedsLogin || current_.state == CredentialState::NoCredentials;
}

std::optional<std::chrono::steady_clock::time_point> CredentialManager::nextDeadline() const {
  std::optional<SteadyTime> deadline = refreshDue();
  auto earliest = [&](SteadyTime t) {
    if (!deadline || t < *deadline) deadline = t;
  };
  if (pollsStore()) earliest(next_store_poll_);
  // An access-only credential turns needs_login at expiry; wake up to publish that.
  if (creds_.refresh_token.empty() && creds_.expires_at_ms > 0 && current_.state != CredentialState::NeedsLogin) {
    const int64_t wait_ms = std::max<int64_t>(0, creds_.expires_at_ms - clock_.unixMillis());
    earliest(clock_.steadyNow() + milliseconds(wait_ms));
  }
  return deadline;
}

void CredentialManager::onTick() {
  const SteadyTime now = clock_.steadyNow();
  if (pollsStore() && now >= next_store_poll_) {
    next_store_poll_ = now + settings_.store_poll_interval;
    reloadStore();
  }
  // Read the clock after refreshDue(): a due time of "now" is computed inside it, so a reading
  // taken before would always be a little earlier and the refresh would never start.
  if (auto due = refreshDue(); due && clock_.steadyNow() >= *due) startRefresh();
  publish();  // time-driven state changes (an access-only token expiring)
}

void CredentialManager::reportUnauthorized(uint64_t generation) {
  if (generation != current_.generation || current_.access_token.empty()) return;  // stale
  if (in_flight_ || permanent_failure_) return;  // single flight / nothing left to try
  if (creds_.refresh_token.empty()) {
    permanent_failure_ = true;
    last_error_ = "access token rejected (HTTP 401) and no refresh token is configured";
    last_error_at_s_ = clock_.unixMillis() / 1000;
    publish();
    return;
  }
  if (consecutive_failures_ > 0) return;  // the backoff timer retries already
  const SteadyTime now = clock_.steadyNow();
  if (last_success_ && now < *last_success_ + settings_.min_reactive_interval) {
    reactive_at_ = *last_success_ + settings_.min_reactive_interval;
    return;
  }
  startRefresh();
}

void CredentialManager::reportRefreshNeeded(uint64_t generation) {
  if (generation != current_.generation) return;  // a newer token is on its way to that worker
  if (in_flight_ || permanent_failure_ || creds_.refresh_token.empty()) return;  // single flight / login only
  if (tokenServes()) return;  // the proactive schedule has it; the worker's clock was a hair ahead
  const SteadyTime now = clock_.steadyNow();
  const SteadyTime earliest = last_attempt_ ? *last_attempt_ + settings_.min_demand_interval : now;
  if (now >= earliest) {
    startRefresh();
    return;
  }
  // Too soon after the last attempt (a token endpoint failing fast must not be hammered by every
  // waiting call): onTick() starts it then.
  demand_at_ = earliest;
}

void CredentialManager::forceRefresh() {
  if (in_flight_) return;
  if (reloadStore()) return;
  if (creds_.refresh_token.empty()) return;
  permanent_failure_ = false;  // the operator asked for another attempt
  startRefresh();
}

bool CredentialManager::reloadStore() {
  if (!store_ || in_flight_) return false;
  auto stamp = store_->stamp();
  if (!stamp || stamp == store_stamp_) return false;
  store_stamp_ = stamp;
  auto loaded = store_->load();
  if (!loaded.ok() || !loaded.value()) return false;
  StoredCredentials file = std::move(*loaded.value());
  // Only a different AND at least as recent lineage is adopted: a stale file (our own write
  // failed after an earlier success) must not bring back a refresh token that is already dead.
  if (file.refresh_token.empty() || file.refresh_token == creds_.refresh_token) return false;
  if (file.last_refresh_s < creds_.last_refresh_s) return false;
  deriveFields(file, settings_.account_id);
  creds_ = std::move(file);
  source_ = "state_file";
  permanent_failure_ = false;
  consecutive_failures_ = 0;
  retry_at_.reset();
  reactive_at_.reset();
  demand_at_.reset();
  load_warning_.clear();
  publish();
  common::logInfo("credentials_reloaded")
      .field("state", common::credentialStateName(current_.state))
      .field("generation", current_.generation);
  return true;
}

void CredentialManager::startRefresh() {
  if (in_flight_ || creds_.refresh_token.empty()) return;
  in_flight_ = true;
  reactive_at_.reset();
  demand_at_.reset();
  last_attempt_ = clock_.steadyNow();
  if (auto error = job_->start({settings_.auth_base_url, creds_, store_, settings_.account_id, clock_.unixMillis()})) {
    RefreshOutcome failed;
    failed.failure = OAuthFailure{FailureKind::Transient, 0, {}, *error, {}};
    applyResult(std::move(failed));
    return;
  }
  publish();
}

std::string CredentialManager::warningText() const {
  std::string out;
  for (const std::string* w : {&store_warning_, &load_warning_, &config_warning_}) {
    if (w->empty()) continue;
    if (!out.empty()) out += "; ";
    out += *w;
  }
  return out;
}

CredentialCounters CredentialManager::counters() const {
  CredentialCounters c;
  c.refresh_ok = refresh_ok_;
  c.refresh_failed = refresh_failed_;
  if (creds_.expires_at_ms > 0) c.expires_in_s = (creds_.expires_at_ms - clock_.unixMillis()) / 1000;
  return c;
}

common::JsonValue CredentialManager::status() const {
  common::JsonValue obj = common::JsonValue::object();
  const CredentialCounters totals = counters();
  obj.set("state", common::credentialStateName(current_.state));
  obj.set("account_id", nullable(maskAccountId(creds_.account_id)));
  obj.set("expires_at", nullableInt(creds_.expires_at_ms / 1000, creds_.expires_at_ms > 0));
  obj.set("expires_in_s", nullableInt(totals.expires_in_s.value_or(0), totals.expires_in_s.has_value()));
  obj.set("last_refresh", nullableInt(creds_.last_refresh_s, creds_.last_refresh_s > 0));
  obj.set("refresh_ok", totals.refresh_ok);
  obj.set("refresh_failed", totals.refresh_failed);
  obj.set("consecutive_failures", consecutive_failures_);
  obj.set("last_error", nullable(last_error_));
  obj.set("last_error_at", nullableInt(last_error_at_s_, last_error_at_s_ > 0));
  obj.set("generation", current_.generation);
  obj.set("refresh_in_flight", in_flight_);
  std::optional<SteadyTime> due = refreshDue();
  obj.set("next_refresh_in_s",
          nullableInt(due ? std::chrono::duration_cast<std::chrono::seconds>(*due - clock_.steadyNow()).count() : 0,
                      due.has_value()));
  obj.set("store_writable", store_writable_);
  obj.set("store_path", store_ ? common::JsonValue(store_->path()) : common::JsonValue());
  obj.set("source", nullable(source_));
  obj.set("warning", nullable(warningText()));
  return obj;
}

CredentialSettings credentialSettingsFromConfig(const common::Config& config) {
  CredentialSettings s;
  s.refresh_token = config.refresh_token;
  s.access_token = config.access_token;
  s.account_id = config.account_id;
  s.expires_at_raw = config.expires_at_ms;  // already milliseconds; normalisation keeps them
  s.auth_base_url = config.auth_base_url;
  s.state_dir = config.state_dir;
  s.codex_auth_file = config.codex_auth_file;
  s.refresh_margin = config.refresh_margin;
  s.https_proxy = config.https_proxy;
  s.no_proxy = config.no_proxy;
  s.ca_file = config.upstream_ca_file;
  s.fingerprint = common::codexFingerprint(config.originator, config.codexClientVersion());
  return s;
}

}  // namespace cosp::supervisor
