#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ipc/account_messages.h"
#include "worker/accounts/account_view.h"

namespace cosp::worker {

// The worker's side of several accounts (SPEC §9): the supervisor's roster turned into the pure
// policy's views (worker/accounts/), and the order in which a call tries them. The order is the
// same in every worker for one session (weighted rendezvous hashing, docs/ARCHITECTURE.md §9),
// so no request needs a round trip to choose.

// Whether `entry` may take a call at `now_ms`: logged in, not paused, not cooling.
bool accountUsable(const common::AccountRosterEntry& entry, int64_t now_ms);

std::vector<accounts::AccountView> accountViews(const common::AccountRoster& roster);

// True when the roster names more than one account: only then does a call choose, fail over or
// answer for all accounts; with one account everything behaves as before accounts existed.
bool severalAccounts(const common::AccountRoster& roster);

// The usable accounts a call of `session_id` tries, best first, each once; `allowed` is a caller
// key's allow-list (empty = all). With one account (or an empty roster): that account, usable or
// not, so the call meets its own state as before (a wait for a refresh, or the one-account 503).
std::vector<std::string> accountOrder(std::string_view session_id, const common::AccountRoster& roster, int64_t now_ms,
                                      const std::vector<std::string>& allowed = {});

// The first of accountOrder(); with none usable, the first allowed account in name order (the
// call is then answered by noUsableAccountError or meets that account's state).
std::string chooseAccount(std::string_view session_id, const common::AccountRoster& roster, int64_t now_ms,
                          const std::vector<std::string>& allowed = {});

}  // namespace cosp::worker
