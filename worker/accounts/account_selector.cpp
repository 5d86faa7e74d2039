#include "worker/accounts/account_selector.h"

#include <algorithm>

#include "worker/accounts/quota_weight.h"
#include "worker/accounts/sticky_order.h"

namespace cosp::worker::accounts {

std::optional<AccountStrategy> accountStrategyFromName(std::string_view name) {
  if (name == "sticky") return AccountStrategy::Sticky;
  if (name == "round-robin") return AccountStrategy::RoundRobin;
  return std::nullopt;
}

namespace {

bool isAllowed(const AccountView& a, const std::vector<std::string>& allowed) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), a.name) != allowed.end();
}

}  // namespace

std::vector<size_t> AccountSelector::order(std::string_view session_id, const std::vector<AccountView>& views,
                                           std::int64_t now_ms, const std::vector<std::string>& allowed) {
  std::vector<size_t> out;
  if (strategy_ == AccountStrategy::RoundRobin) {
    std::vector<size_t> candidates;
    for (size_t i = 0; i < views.size(); ++i)
      if (isAllowed(views[i], allowed) && usable(views[i], now_ms)) candidates.push_back(i);
    const size_t start = round_robin_.next(candidates.size());
    for (size_t k : rotation(candidates.size(), start)) out.push_back(candidates[k]);
    return out;
  }
  // Sticky: the hashing population is the stable set (logged in, not paused, allowed), not the
  // usable set. Accounts outside it get weight 0, which sorts them last without changing the
  // order of the others (and spares copying the views).
  std::vector<double> weights(views.size(), 0.0);
  for (size_t i = 0; i < views.size(); ++i) {
    const AccountView& a = views[i];
    if (a.logged_in && !a.paused && isAllowed(a, allowed))
      weights[i] = quotaWeight(a.primary_used_percent, a.secondary_used_percent);
  }
  for (size_t i : stickyOrder(session_id, views, weights))
    if (weights[i] > 0 && usable(views[i], now_ms)) out.push_back(i);
  return out;
}

}  // namespace cosp::worker::accounts
