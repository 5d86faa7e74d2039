#include "worker/calls/choose_account.h"

namespace cosp::worker {

bool accountUsable(const common::AccountRosterEntry& entry, int64_t now_ms) {
  return entry.logged_in && !entry.paused && entry.cooling_until_ms <= now_ms;
}

std::string chooseAccount(std::string_view /*session_id*/, const common::AccountRoster& roster, int64_t now_ms) {
  for (const common::AccountRosterEntry& entry : roster.accounts) {  // sorted by name
    if (accountUsable(entry, now_ms)) return entry.name;
  }
  return common::kDefaultAccountName;
}

}  // namespace cosp::worker
