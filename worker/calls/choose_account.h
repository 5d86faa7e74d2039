#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/ipc/account_messages.h"

namespace cosp::worker {

// Whether `entry` may take a call at `now_ms` (SPEC §9): logged in, not paused, not cooling.
bool accountUsable(const common::AccountRosterEntry& entry, int64_t now_ms);

// The account a call of `session_id` uses, from the supervisor's roster. PLACEHOLDER policy: the
// first usable account in name order, `default` when the roster is empty or none is usable (the
// call then meets that account's own state: a wait for a refresh, or the 503 of one account).
// The selection policy (sticky rendezvous hashing, round-robin) replaces this; the plumbing
// around it (Exchange::account, per-account credentials, reports) stays.
std::string chooseAccount(std::string_view session_id, const common::AccountRoster& roster, int64_t now_ms);

}  // namespace cosp::worker
