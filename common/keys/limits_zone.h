#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/keys/sliding_window.h"
#include "common/util/result.h"

namespace cosp::common::keys {

// Tokens a backend reported for one call.
struct TokenUsage {
  std::int64_t input = 0;  // includes cached
  std::int64_t cached = 0;
  std::int64_t output = 0;  // includes reasoning
  std::int64_t reasoning = 0;
};

// Requests per model: a few buckets per key, claimed by name on first use (state 0 free,
// 1 being written, 2 ready); calls for a model beyond them count in `other_model_requests`.
struct ModelBucket {
  static constexpr std::size_t kNameSize = 56;
  std::atomic<std::int64_t> state;
  char name[kNameSize];
  std::atomic<std::int64_t> requests;
};

// One key's shared state. Zero bytes = a fresh key. Standard layout, lock-free atomics only:
// it lives in a MAP_SHARED mapping that every worker and the supervisor see.
struct KeySlot {
  static constexpr int kStatusClasses = 5;  // 1xx … 5xx
  static constexpr int kModelBuckets = 8;
  // Which key owns the slot: the supervisor bumps it when it gives the slot to another key, and a
  // worker uses a slot only when the generation it was sent matches.
  std::atomic<std::int64_t> generation;
  SlidingWindow requests;         // rpm
  SlidingWindow tokens;           // tpm (input + output)
  std::atomic<std::int64_t> day;  // UTC days since the epoch of day_tokens
  std::atomic<std::int64_t> day_tokens;
  std::atomic<std::int64_t> month;  // year * 12 + month - 1 of month_tokens
  std::atomic<std::int64_t> month_tokens;
  std::atomic<std::int64_t> in_flight;
  // Accounting (persisted in STATE_DIR/keys_usage.json).
  std::atomic<std::int64_t> requests_by_class[kStatusClasses];
  std::atomic<std::int64_t> input_tokens;
  std::atomic<std::int64_t> cached_tokens;
  std::atomic<std::int64_t> output_tokens;
  std::atomic<std::int64_t> reasoning_tokens;
  std::atomic<std::int64_t> last_use;  // unix seconds, 0 never
  ModelBucket models[kModelBuckets];
  std::atomic<std::int64_t> other_model_requests;
};

std::int64_t utcDayNumber(std::int64_t unix_seconds);
std::int64_t utcMonthNumber(std::int64_t unix_seconds);
// Unix seconds at which the UTC day / month of `unix_seconds` ends.
std::int64_t utcDayEnd(std::int64_t unix_seconds);
std::int64_t utcMonthEnd(std::int64_t unix_seconds);

// The supervisor's shared-memory zone of per-key limits and accounting (like nginx's
// limit_req zones): a memfd of fixed size mapped MAP_SHARED by the supervisor and by every
// worker, so limits hold for all workers together without a round trip per request.
// Layout: header, `kSlots` KeySlots, then one row of lease counts per worker (`kLeaseRows`
// rows of kSlots int32): a worker's in-flight calls per key, which the supervisor subtracts
// from the key's in_flight when it reaps that worker (a crashed worker's leases do not leak).
class LimitsZone {
 public:
  static constexpr std::uint32_t kSlots = 4096;
  // WORKERS is at most 256; during a reload old and new workers overlap, so twice that.
  static constexpr std::uint32_t kLeaseRows = 512;

  LimitsZone() = default;
  LimitsZone(const LimitsZone&) = delete;
  LimitsZone& operator=(const LimitsZone&) = delete;
  LimitsZone(LimitsZone&& other) noexcept;
  LimitsZone& operator=(LimitsZone&& other) noexcept;
  ~LimitsZone();

  // A fresh zone (memfd, close-on-exec; the spawner dup2s it into the worker).
  static Result<LimitsZone, std::string> create();
  // Maps the zone behind `fd` (a worker; the fd is kept open by the zone object).
  static Result<LimitsZone, std::string> attach(int fd);

  bool valid() const { return base_ != nullptr; }
  int fd() const { return fd_; }
  KeySlot& slot(std::uint32_t index);

  // Gives `index` to a new owner: zeroes it and sets `generation`.
  void resetSlot(std::uint32_t index, std::int64_t generation);

  // max_concurrent: takes one in-flight lease unless `limit` are already out (limit < 0: no limit).
  bool acquireLease(std::uint32_t row, std::uint32_t index, std::int64_t limit);
  void releaseLease(std::uint32_t row, std::uint32_t index);
  // Returns the leases of a dead worker's row to their keys.
  void reapLeases(std::uint32_t row);
  std::int32_t leases(std::uint32_t row, std::uint32_t index);

  // rpm: admits one request unless `limit` are in the last 60 s.
  bool tryAdmitRequest(std::uint32_t index, std::int64_t now, std::int64_t limit);
  // Tokens of a finished call: tpm window, day / month counters and the accounting.
  void addTokens(std::uint32_t index, std::int64_t now, const TokenUsage& usage);
  // A finished call (status 0 = the client went away before a status).
  void recordRequest(std::uint32_t index, std::int64_t now, int status, std::string_view model);
  std::int64_t dayTokens(std::uint32_t index, std::int64_t now);
  std::int64_t monthTokens(std::uint32_t index, std::int64_t now);

 private:
  struct Header;
  Header* header() const;
  std::atomic<std::int32_t>* leaseRow(std::uint32_t row) const;

  int fd_ = -1;
  void* base_ = nullptr;
  std::size_t size_ = 0;
};

// A held in-flight lease; returns it when the call ends however it ends (RAII).
class LeaseGuard {
 public:
  LeaseGuard() = default;
  LeaseGuard(LimitsZone* zone, std::uint32_t row, std::uint32_t index) : zone_(zone), row_(row), index_(index) {}
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;
  LeaseGuard(LeaseGuard&& other) noexcept { *this = std::move(other); }
  LeaseGuard& operator=(LeaseGuard&& other) noexcept {
    if (this != &other) {
      release();
      zone_ = other.zone_;
      row_ = other.row_;
      index_ = other.index_;
      other.zone_ = nullptr;
    }
    return *this;
  }
  ~LeaseGuard() { release(); }
  void release() {
    if (zone_ != nullptr) zone_->releaseLease(row_, index_);
    zone_ = nullptr;
  }

 private:
  LimitsZone* zone_ = nullptr;
  std::uint32_t row_ = 0;
  std::uint32_t index_ = 0;
};

}  // namespace cosp::common::keys
