#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace cosp::supervisor {

// The supervisor's own per-account state in STATE_DIR/accounts, kept across restarts:
//   paused.json   {"paused":["a","b"]}              (ctl accounts pause|resume)
//   cooling.json  {"cooling":{"a":<unix ms>, ...}}  (an exhausted account is not hammered after a restart)
// Both 0600 and written atomically (temp + fsync + rename + directory fsync) like credentials.
// A missing file is empty; an unreadable or corrupt one is empty too (logged by the caller from
// the returned error): pausing and cooling are conveniences, never a reason not to start.
struct AccountStateFiles {
  std::string dir;  // STATE_DIR/accounts; empty = nothing persisted

  std::set<std::string> loadPaused(std::string* error = nullptr) const;
  std::optional<std::string> savePaused(const std::set<std::string>& names) const;
  std::map<std::string, int64_t> loadCooling(std::string* error = nullptr) const;
  std::optional<std::string> saveCooling(const std::map<std::string, int64_t>& until_ms) const;
};

// Writes `content` to dir/name atomically with mode 0600, creating dir (0700) when missing.
std::optional<std::string> writeFileAtomic0600(const std::string& dir, const std::string& name,
                                               const std::string& content);

}  // namespace cosp::supervisor
