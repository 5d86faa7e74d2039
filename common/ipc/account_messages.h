#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ipc/messages.h"

// The channel messages of several accounts (SPEC §9, docs/ARCHITECTURE.md §5). With the one
// account `default` nothing here changes a byte on the wire: the optional "account" members are
// omitted for `default`, and the heartbeat's "accounts" object is omitted when empty.
namespace cosp::common {

namespace msg {
// Supervisor -> worker, after config at start and on every change: every account's state.
inline constexpr const char* kAccounts = "accounts";
// Worker -> supervisor: an account-level failure (usage limit, usage not included, 401 after
// refresh, deactivated) seen on one call.
inline constexpr const char* kAccountFailed = "account_failed";
}  // namespace msg

inline constexpr const char* kDefaultAccountName = "default";

struct AccountRosterEntry {
  std::string name;
  bool logged_in = false;
  bool paused = false;
  int64_t cooling_until_ms = 0;     // unix ms; 0 = not cooling
  int primary_used_percent = -1;    // -1 = unknown
  int secondary_used_percent = -1;  // -1 = unknown
  bool operator==(const AccountRosterEntry&) const = default;
};

struct AccountRoster {
  std::string strategy = "sticky";
  std::vector<AccountRosterEntry> accounts;  // encoded sorted by name
  bool operator==(const AccountRoster&) const = default;
};

std::string encodeAccountRoster(const AccountRoster& roster);
// nullopt when malformed: not an object, a member of the wrong kind, an entry without a valid name.
std::optional<AccountRoster> decodeAccountRoster(const std::string& json);

// `credentials` with the account it belongs to (absent = `default`).
struct AccountCredentials {
  std::string account = kDefaultAccountName;
  WorkerCredentials credentials;
};
std::string encodeAccountCredentials(const std::string& account, const WorkerCredentials& credentials);
std::optional<AccountCredentials> decodeAccountCredentials(const std::string& json);

// `unauthorized` / `refresh_needed` with the account (absent = `default`).
struct AccountGenerationReport {
  std::string account = kDefaultAccountName;
  uint64_t generation = 0;
};
std::string encodeAccountUnauthorized(const std::string& account, uint64_t generation);
std::string encodeAccountRefreshNeeded(const std::string& account, uint64_t generation);
std::optional<AccountGenerationReport> decodeAccountGenerationReport(const std::string& json);

enum class AccountFailureKind { UsageLimit, UsageNotIncluded, Unauthorized, Deactivated };
const char* accountFailureKindName(AccountFailureKind kind);
std::optional<AccountFailureKind> parseAccountFailureKind(const std::string& name);

struct AccountFailure {
  std::string account;
  AccountFailureKind kind = AccountFailureKind::UsageLimit;
  int64_t cooling_until_ms = 0;  // unix ms (usage kinds); 0 for the login kinds
  bool operator==(const AccountFailure&) const = default;
};
std::string encodeAccountFailed(const AccountFailure& failure);
std::optional<AccountFailure> decodeAccountFailed(const std::string& json);

// What one worker saw of one account since it started: calls made on it, failovers away from it,
// and the newest x-codex-* rate-limit headers with their time (unix s).
struct AccountObservation {
  int64_t requests = 0;
  int64_t failovers = 0;
  std::map<std::string, std::string> rate_limits;
  int64_t rate_limits_at_ms = 0;  // unix ms: two workers' observations of one second keep their order
  bool operator==(const AccountObservation&) const = default;
};
using AccountObservations = std::map<std::string, AccountObservation>;

// The heartbeat with the per-account object; `accounts` empty = byte-identical to encodeHeartbeat.
std::string encodeHeartbeatWithAccounts(const WorkerCounters& counters, const UpstreamObservation& upstream,
                                        const AccountObservations& accounts);
// The "accounts" member of a heartbeat (empty when absent); nullopt when malformed.
std::optional<AccountObservations> decodeHeartbeatAccounts(const std::string& json);

}  // namespace cosp::common
