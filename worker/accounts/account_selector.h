#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/accounts/account_view.h"
#include "worker/accounts/round_robin.h"

namespace cosp::worker::accounts {

enum class AccountStrategy { Sticky, RoundRobin };

// "sticky" | "round-robin"; anything else is nullopt (the config loader reports it).
std::optional<AccountStrategy> accountStrategyFromName(std::string_view name);

// Which accounts a call tries, in order (SPEC §9).
class AccountSelector {
 public:
  explicit AccountSelector(AccountStrategy strategy = AccountStrategy::Sticky) : strategy_(strategy) {}

  // Indices into `views` of the USABLE accounts to try, each at most once, best first. `allowed`
  // is a caller key's allow-list of account names (empty = all).
  // Sticky: the rendezvous order is computed over every logged-in, not paused account (allowed
  // ones), cooling or not, and the cooling ones are then skipped. So a conversation comes back to
  // its account when the cooling ends, and the sessions of the other accounts never move when one
  // account cools. Weights come from the quota (quotaWeight).
  // Round-robin: the usable accounts rotated by a per-process counter.
  std::vector<size_t> order(std::string_view session_id, const std::vector<AccountView>& views, std::int64_t now_ms,
                            const std::vector<std::string>& allowed = {});

  AccountStrategy strategy() const { return strategy_; }

 private:
  AccountStrategy strategy_;
  RoundRobin round_robin_;
};

}  // namespace cosp::worker::accounts
