#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json/json_value.h"
#include "common/keys/keys_message.h"
#include "common/keys/limits_zone.h"
#include "common/keys/usage_snapshot.h"
#include "common/metrics/prometheus.h"

namespace cosp::supervisor {

// The supervisor's side of caller keys (SPEC §10): reads API_KEYS_FILE, owns the limits zone
// (common/keys/limits_zone.h) that every worker maps, gives each key a zone slot, hands workers
// lease rows and reaps a dead worker's leases, and persists the accounting to
// STATE_DIR/keys_usage.json (every 10 s and at stop; loaded at start, so a kill -9 loses ≤ 10 s).
class KeysManager {
 public:
  // Throws std::runtime_error when the zone cannot be made; a bad file is reported by load().
  KeysManager(std::string file, std::string state_dir);

  // (Re-)reads the file. On error nothing changes (the old keys keep serving) and the error is
  // returned. An empty path means "no file keys".
  std::optional<std::string> load();
  void setFile(std::string file) { file_ = std::move(file); }
  const std::string& file() const { return file_; }
  std::size_t keyCount() const { return served_.size(); }

  // The keys table for workers (names, digests, limits, slots; never keys).
  std::string message() const { return common::keys::encodeKeysMessage(served_); }
  int zoneFd() const { return zone_.fd(); }

  // A lease row for a new worker; returned (and its leases reaped) when the worker is gone.
  std::uint32_t takeLeaseRow();
  void releaseLeaseRow(std::uint32_t row);

  // Every 10 s: writes the usage snapshot.
  void onTick(std::chrono::steady_clock::time_point now);
  std::optional<std::string> saveUsage();
  std::vector<common::keys::KeyUsage> usage();
  // Per-key series for /metrics (label key="<name>").
  void addMetrics(common::MetricSeries& series);
  // The cache hit ratio gauge lines (Prometheus text), which MetricSeries (integers) cannot carry.
  std::string cacheRatioText();

 private:
  std::string usagePath() const { return state_dir_ + "/keys_usage.json"; }
  std::string file_;
  std::string state_dir_;
  common::keys::LimitsZone zone_;
  std::vector<common::keys::ServedKey> served_;
  std::map<std::string, common::keys::KeyUsage> persisted_;  // loaded at start, by name
  std::int64_t next_generation_ = 1;
  std::vector<bool> slot_used_ = std::vector<bool>(common::keys::LimitsZone::kSlots, false);
  std::vector<bool> row_used_ = std::vector<bool>(common::keys::LimitsZone::kLeaseRows, false);
  std::chrono::steady_clock::time_point next_save_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
};

}  // namespace cosp::supervisor
