#include "supervisor/accounts/account_pool.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/log/log.h"
#include "supervisor/accounts/account_names.h"

namespace cosp::supervisor {

namespace {

using common::CredentialState;

std::optional<double> number(const std::map<std::string, std::string>& headers, const std::string& name) {
  auto it = headers.find(name);
  if (it == headers.end() || it->second.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

// The account names STATE_DIR/accounts holds: <name>.json with a valid name (temp files start
// with a dot; paused.json and cooling.json are reserved stems; `default` lives in credentials.json).
std::set<std::string> scanAccountFiles(const std::string& dir) {
  std::set<std::string> names;
  if (dir.empty()) return names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    std::string file = e->d_name;
    if (file.size() <= 5 || file.compare(file.size() - 5, 5, ".json") != 0) continue;
    std::string name = file.substr(0, file.size() - 5);
    if (validAccountName(name) && name != kDefaultAccount) names.insert(name);
  }
  ::closedir(d);
  return names;
}

std::string stringMember(const common::JsonValue& obj, const char* key) {
  const common::JsonValue* v = obj.find(key);
  if (v == nullptr) return {};
  auto s = v->stringView();
  return s ? std::string(*s) : std::string();
}

}  // namespace

AccountQuota quotaFromRateLimitHeaders(const std::map<std::string, std::string>& headers, int64_t at_ms) {
  const int64_t at_s = at_ms / 1000;
  AccountQuota q;
  q.observed_at_ms = at_ms;
  if (auto v = number(headers, "x-codex-primary-used-percent"))
    q.primary_used_percent = static_cast<int>(std::lround(*v));
  if (auto v = number(headers, "x-codex-secondary-used-percent")) {
    q.secondary_used_percent = static_cast<int>(std::lround(*v));
  }
  if (auto v = number(headers, "x-codex-primary-reset-after-seconds")) q.primary_resets_at_s = at_s + std::llround(*v);
  if (auto v = number(headers, "x-codex-secondary-reset-after-seconds")) {
    q.secondary_resets_at_s = at_s + std::llround(*v);
  }
  return q;
}

AccountPool::AccountPool(Settings settings, Clock& clock, std::shared_ptr<HttpTransport> transport,
                         CredentialManager& default_account)
    : settings_(std::move(settings)), clock_(clock), transport_(std::move(transport)) {
  if (!settings_.base.state_dir.empty()) files_.dir = accountsDir(settings_.base.state_dir);
  std::string error;
  paused_ = files_.loadPaused(&error);
  if (!error.empty()) common::logWarn("accounts_paused_unreadable").field("error", error);
  error.clear();
  cooling_until_ms_ = files_.loadCooling(&error);
  if (!error.empty()) common::logWarn("accounts_cooling_unreadable").field("error", error);
  accounts_[kDefaultAccount].manager = &default_account;
  rescan();
  last_roster_ = roster();
}

AccountPool::~AccountPool() = default;

void AccountPool::addAccount(const std::string& name) {
  CredentialManager::Hooks hooks;
  hooks.transport = transport_;
  auto made = CredentialManager::create(accountCredentialSettings(settings_.base, name), clock_, std::move(hooks));
  if (!made.ok()) {
    common::logError("account_setup_failed").field("account", name).field("error", made.error().message);
    return;
  }
  Account& account = accounts_[name];
  account.owned = std::move(made.value());
  account.manager = account.owned.get();
  account.manager->on_change = [this, name] {
    if (on_credentials_change) on_credentials_change(name);
    maybeRosterChanged();
  };
  common::logInfo("account_added")
      .field("account", name)
      .field("state", common::credentialStateName(account.manager->current().state));
  if (on_credentials_change) on_credentials_change(name);
}

void AccountPool::rescan() {
  next_rescan_ = clock_.steadyNow() + settings_.rescan_interval;
  const std::set<std::string> on_disk = scanAccountFiles(files_.dir);
  for (auto it = accounts_.begin(); it != accounts_.end();) {
    if (it->first != kDefaultAccount && !on_disk.count(it->first)) {
      common::logInfo("account_removed").field("account", it->first);
      it = accounts_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& name : on_disk) {
    auto it = accounts_.find(name);
    if (it == accounts_.end()) {
      addAccount(name);
    } else if (it->second.manager->reloadStore()) {
      it->second.deactivated_generation.reset();  // a new login
    }
  }
  maybeRosterChanged();
}

void AccountPool::onDefaultChanged() { maybeRosterChanged(); }

void AccountPool::setStrategy(const std::string& strategy) {
  settings_.strategy = strategy;
  maybeRosterChanged();
}

std::vector<int> AccountPool::eventFds() const {
  std::vector<int> fds;
  for (const auto& [name, account] : accounts_) {
    if (account.owned && account.owned->eventFd() >= 0) fds.push_back(account.owned->eventFd());
  }
  return fds;
}

bool AccountPool::onEvent(int fd) {
  for (auto& [name, account] : accounts_) {
    if (account.owned && account.owned->eventFd() == fd) {
      account.owned->onEvent();
      return true;
    }
  }
  return false;
}

std::optional<std::chrono::steady_clock::time_point> AccountPool::nextDeadline() const {
  std::optional<std::chrono::steady_clock::time_point> earliest = next_rescan_;
  auto consider = [&](std::chrono::steady_clock::time_point t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  for (const auto& [name, account] : accounts_) {
    if (!account.owned) continue;
    if (auto d = account.owned->nextDeadline()) consider(*d);
  }
  const int64_t now_ms = clock_.unixMillis();
  for (const auto& [name, until] : cooling_until_ms_) {
    consider(clock_.steadyNow() + std::chrono::milliseconds(std::max<int64_t>(0, until - now_ms)));
  }
  return earliest;
}

void AccountPool::onTick() {
  const auto now = clock_.steadyNow();
  for (auto& [name, account] : accounts_) {
    if (!account.owned) continue;
    if (auto d = account.owned->nextDeadline(); d && *d <= now) account.owned->onTick();
  }
  if (now >= next_rescan_) rescan();
  expireCooling();
}

void AccountPool::expireCooling() {
  const int64_t now_ms = clock_.unixMillis();
  bool changed = false;
  for (auto it = cooling_until_ms_.begin(); it != cooling_until_ms_.end();) {
    if (it->second <= now_ms) {
      common::logInfo("account_cooling_over").field("account", it->first);
      it = cooling_until_ms_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (!changed) return;
  if (auto e = files_.saveCooling(cooling_until_ms_))
    common::logWarn("accounts_cooling_save_failed").field("error", *e);
  maybeRosterChanged();
}

void AccountPool::reportUnauthorized(const std::string& account, uint64_t generation) {
  auto it = accounts_.find(account);
  if (it != accounts_.end()) it->second.manager->reportUnauthorized(generation);
}

void AccountPool::reportRefreshNeeded(const std::string& account, uint64_t generation) {
  auto it = accounts_.find(account);
  if (it != accounts_.end()) it->second.manager->reportRefreshNeeded(generation);
}

void AccountPool::onAccountFailed(const common::AccountFailure& failure) {
  auto it = accounts_.find(failure.account);
  if (it == accounts_.end()) return;
  Account& account = it->second;
  ++account.failovers_reported;
  account.last_failure = common::accountFailureKindName(failure.kind);
  common::logWarn("account_failed")
      .field("account", failure.account)
      .field("kind", account.last_failure)
      .field("cooling_until_ms", failure.cooling_until_ms);
  switch (failure.kind) {
    case common::AccountFailureKind::UsageLimit:
    case common::AccountFailureKind::UsageNotIncluded: {
      int64_t& until = cooling_until_ms_[failure.account];
      until = std::max(until, failure.cooling_until_ms);  // the later of two reports
      if (until <= clock_.unixMillis()) cooling_until_ms_.erase(failure.account);
      if (auto e = files_.saveCooling(cooling_until_ms_)) {
        common::logWarn("accounts_cooling_save_failed").field("error", *e);
      }
      break;
    }
    case common::AccountFailureKind::Unauthorized:
      // As a one-account 401: refresh first; the chain goes to needs_login if that fails.
      account.manager->reportUnauthorized(account.manager->current().generation);
      break;
    case common::AccountFailureKind::Deactivated:
      account.deactivated_generation = account.manager->current().generation;
      break;
  }
  maybeRosterChanged();
}

namespace {

// A newer observation replaces what it knows; a window it does not carry (a response with the
// primary headers only) keeps the figures of the older one (the usage poll's).
void mergeQuota(AccountQuota& kept, const AccountQuota& seen) {
  // Milliseconds: two workers' observations within one second keep their order.
  if (seen.observed_at_ms < kept.observed_at_ms) return;
  kept.observed_at_ms = seen.observed_at_ms;
  if (seen.primary_used_percent >= 0) {
    kept.primary_used_percent = seen.primary_used_percent;
    kept.primary_resets_at_s = seen.primary_resets_at_s;
  }
  if (seen.secondary_used_percent >= 0) {
    kept.secondary_used_percent = seen.secondary_used_percent;
    kept.secondary_resets_at_s = seen.secondary_resets_at_s;
  }
}

}  // namespace

void AccountPool::observeRateLimits(Account& account, const common::AccountObservation& seen) {
  if (seen.rate_limits.empty()) return;
  AccountQuota q = quotaFromRateLimitHeaders(seen.rate_limits, seen.rate_limits_at_ms);
  if (q.primary_used_percent < 0 && q.secondary_used_percent < 0) return;
  mergeQuota(account.quota, q);
}

void AccountPool::onHeartbeat(pid_t worker, const common::AccountObservations& seen) {
  common::AccountObservations& previous = live_[worker];
  for (const auto& [name, observation] : seen) {
    auto it = accounts_.find(name);
    if (it == accounts_.end()) continue;
    // Every heartbeat repeats the worker's newest observation: only a new one is merged.
    auto before = previous.find(name);
    if (before != previous.end() && before->second.rate_limits_at_ms == observation.rate_limits_at_ms &&
        before->second.rate_limits == observation.rate_limits) {
      continue;
    }
    observeRateLimits(it->second, observation);
  }
  previous = seen;
  maybeRosterChanged();
}

void AccountPool::onWorkerGone(pid_t worker) {
  auto it = live_.find(worker);
  if (it == live_.end()) return;
  for (const auto& [name, seen] : it->second) {
    retired_[name].requests += seen.requests;
    retired_[name].failovers += seen.failovers;
  }
  live_.erase(it);
}

void AccountPool::onUsage(const std::string& name, const AccountQuota& quota) {
  auto it = accounts_.find(name);
  if (it == accounts_.end()) return;
  mergeQuota(it->second.quota, quota);
  maybeRosterChanged();
}

std::optional<std::string> AccountPool::setPaused(const std::string& name, bool paused) {
  if (!accounts_.count(name)) return "no account named '" + name + "'";
  if (paused) {
    paused_.insert(name);
  } else {
    paused_.erase(name);
  }
  if (auto e = files_.savePaused(paused_)) return "cannot persist: " + *e;
  common::logInfo(paused ? "account_paused" : "account_resumed").field("account", name);
  maybeRosterChanged();
  return std::nullopt;
}

bool AccountPool::included(const std::string& name) const {
  if (name != kDefaultAccount) return true;
  if (accounts_.size() == 1) return true;  // the one account: exactly as before
  return accounts_.at(name).manager->current().state != CredentialState::NoCredentials;
}

std::vector<std::string> AccountPool::names() const {
  std::vector<std::string> out;
  for (const auto& [name, account] : accounts_) {
    if (included(name)) out.push_back(name);
  }
  return out;
}

const common::WorkerCredentials* AccountPool::credentials(const std::string& name) const {
  auto it = accounts_.find(name);
  return it == accounts_.end() ? nullptr : &it->second.manager->current();
}

bool AccountPool::loggedIn(const std::string&, const Account& account) const {
  if (account.deactivated_generation && *account.deactivated_generation == account.manager->current().generation) {
    return false;
  }
  return account.manager->current().usable(clock_.unixMillis()) ||
         (!account.manager->current().access_token.empty() &&
          account.manager->current().state != CredentialState::NeedsLogin);
}

int64_t AccountPool::coolingUntil(const std::string& name) const {
  auto it = cooling_until_ms_.find(name);
  return it == cooling_until_ms_.end() || it->second <= clock_.unixMillis() ? 0 : it->second;
}

std::string AccountPool::stateOf(const std::string& name, const Account& account) const {
  if (paused_.count(name)) return "paused";
  if (coolingUntil(name) > 0) return "cooling";
  if (account.deactivated_generation && *account.deactivated_generation == account.manager->current().generation) {
    return "needs_login";
  }
  return std::string(common::credentialStateName(account.manager->current().state));
}

common::AccountRoster AccountPool::roster() const {
  common::AccountRoster r;
  r.strategy = settings_.strategy;
  for (const auto& [name, account] : accounts_) {
    if (!included(name)) continue;
    common::AccountRosterEntry e;
    e.name = name;
    e.logged_in = loggedIn(name, account);
    e.paused = paused_.count(name) > 0;
    e.cooling_until_ms = coolingUntil(name);
    e.primary_used_percent = account.quota.primary_used_percent;
    e.secondary_used_percent = account.quota.secondary_used_percent;
    r.accounts.push_back(std::move(e));
  }
  return r;
}

void AccountPool::maybeRosterChanged() {
  common::AccountRoster now = roster();
  if (last_roster_ && *last_roster_ == now) return;
  last_roster_ = std::move(now);
  if (on_roster_change) on_roster_change();
}

int64_t AccountPool::summed(const std::string& name, int64_t common::AccountObservation::*field) const {
  int64_t total = 0;
  if (auto it = retired_.find(name); it != retired_.end()) total += it->second.*field;
  for (const auto& [pid, seen] : live_) {
    if (auto it = seen.find(name); it != seen.end()) total += it->second.*field;
  }
  return total;
}

std::vector<AccountPool::Totals> AccountPool::totals() const {
  std::vector<Totals> out;
  for (const auto& [name, account] : accounts_) {
    if (!included(name)) continue;
    Totals t;
    t.name = name;
    t.state = stateOf(name, account);
    t.requests = summed(name, &common::AccountObservation::requests);
    // A worker counts a failover when it leaves an account and reports account_failed for it:
    // the same events, so the larger count (a lost datagram, a restarted worker) is the truth.
    t.failovers = std::max(summed(name, &common::AccountObservation::failovers), account.failovers_reported);
    t.quota = account.quota;
    out.push_back(std::move(t));
  }
  return out;
}

common::JsonValue AccountPool::status() const {
  common::JsonValue list = common::JsonValue::array();
  const int64_t now_s = clock_.unixMillis() / 1000;
  for (const Totals& t : totals()) {
    const Account& account = accounts_.at(t.name);
    const common::JsonValue cred = account.manager->status();
    common::JsonValue item = common::JsonValue::object();
    item.set("name", t.name);
    item.set("state", t.state);
    const std::string masked = stringMember(cred, "account_id");
    item.set("account_id", masked.empty() ? common::JsonValue() : common::JsonValue(masked));
    item.set("primary_used_percent", static_cast<int64_t>(t.quota.primary_used_percent));
    item.set("secondary_used_percent", static_cast<int64_t>(t.quota.secondary_used_percent));
    auto resetsIn = [&](int64_t at) {
      return at > 0 ? common::JsonValue(std::max<int64_t>(0, at - now_s)) : common::JsonValue();
    };
    item.set("resets_in_s", resetsIn(t.quota.primary_resets_at_s));
    item.set("secondary_resets_in_s", resetsIn(t.quota.secondary_resets_at_s));
    const int64_t cooling = coolingUntil(t.name);
    item.set("cooling_until_ms", cooling);
    item.set("requests", t.requests);
    item.set("failovers", t.failovers);
    std::string last_error = stringMember(cred, "last_error");
    if (!account.last_failure.empty()) last_error = account.last_failure;
    item.set("last_error", last_error.empty() ? common::JsonValue() : common::JsonValue(last_error));
    list.push(std::move(item));
  }
  return list;
}

}  // namespace cosp::supervisor
