#include "worker/calls/choose_account.h"

#include <algorithm>

#include "worker/accounts/account_selector.h"

namespace cosp::worker {

namespace {

// One selector per strategy for the whole process: round-robin's counter is per process by
// design (SPEC §9: "each call to the next usable account"), and sticky holds no state at all.
accounts::AccountSelector& selectorFor(const std::string& strategy) {
  static accounts::AccountSelector sticky(accounts::AccountStrategy::Sticky);
  static accounts::AccountSelector round_robin(accounts::AccountStrategy::RoundRobin);
  const auto parsed = accounts::accountStrategyFromName(strategy);
  return parsed == accounts::AccountStrategy::RoundRobin ? round_robin : sticky;
}

bool allowedName(const std::vector<std::string>& allowed, const std::string& name) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), name) != allowed.end();
}

}  // namespace

bool accountUsable(const common::AccountRosterEntry& entry, int64_t now_ms) {
  return entry.logged_in && !entry.paused && entry.cooling_until_ms <= now_ms;
}

std::vector<accounts::AccountView> accountViews(const common::AccountRoster& roster) {
  std::vector<accounts::AccountView> views;
  views.reserve(roster.accounts.size());
  for (const common::AccountRosterEntry& entry : roster.accounts) {
    accounts::AccountView& view = views.emplace_back();
    view.name = entry.name;
    view.logged_in = entry.logged_in;
    view.paused = entry.paused;
    view.cooling_until_ms = entry.cooling_until_ms;
    view.primary_used_percent = entry.primary_used_percent;
    view.secondary_used_percent = entry.secondary_used_percent;
  }
  return views;
}

bool severalAccounts(const common::AccountRoster& roster) { return roster.accounts.size() > 1; }

std::vector<std::string> accountOrder(std::string_view session_id, const common::AccountRoster& roster, int64_t now_ms,
                                      const std::vector<std::string>& allowed) {
  if (!severalAccounts(roster)) {
    return {roster.accounts.empty() ? std::string(common::kDefaultAccountName) : roster.accounts.front().name};
  }
  const std::vector<accounts::AccountView> views = accountViews(roster);
  std::vector<std::string> names;
  for (size_t index : selectorFor(roster.strategy).order(session_id, views, now_ms, allowed)) {
    names.push_back(views[index].name);
  }
  return names;
}

std::string chooseAccount(std::string_view session_id, const common::AccountRoster& roster, int64_t now_ms,
                          const std::vector<std::string>& allowed) {
  if (!severalAccounts(roster)) {  // the common deployment: no order to build
    return roster.accounts.empty() ? std::string(common::kDefaultAccountName) : roster.accounts.front().name;
  }
  std::vector<std::string> order = accountOrder(session_id, roster, now_ms, allowed);
  if (!order.empty()) return std::move(order.front());
  for (const common::AccountRosterEntry& entry : roster.accounts) {  // sorted by name
    if (allowedName(allowed, entry.name)) return entry.name;
  }
  return common::kDefaultAccountName;
}

}  // namespace cosp::worker
