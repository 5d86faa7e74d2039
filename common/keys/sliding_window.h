#pragma once

#include <atomic>
#include <cstdint>

namespace cosp::common::keys {

// Events (requests or tokens) in the last 60 s, shared by every worker through the limits zone:
// 60 per-second buckets plus a running total. Lock-free: every change to a bucket's count is
// mirrored in `total` (an add adds to both; retiring a bucket exchanges its count with 0 and
// subtracts what it took), so `total` equals the sum of live buckets whatever the interleaving.
// Which second an event races into may be off by one; the sum never leaks.
// Lives in shared memory: standard layout, only lock-free atomics, zero bytes = empty.
struct SlidingWindow {
  static constexpr int kSeconds = 60;
  struct Bucket {
    std::atomic<std::int64_t> second;
    std::atomic<std::int64_t> count;
  };
  Bucket buckets[kSeconds];
  std::atomic<std::int64_t> total;

  // Retires the buckets older than 60 s and rolls the bucket of `now`.
  void advance(std::int64_t now);
  // Events in the last 60 s (after advance).
  std::int64_t used(std::int64_t now);
  // Adds `n` unconditionally (tokens reported at the end of a call).
  void add(std::int64_t now, std::int64_t n);
  // Adds one event if fewer than `limit` are in the window; atomic across processes: of N
  // contenders at limit-1 exactly one wins (fetch_add on the total decides, losers take it back).
  bool tryAdd(std::int64_t now, std::int64_t limit);
  // Seconds until the window holds fewer than `limit` events (0 when it already does).
  std::int64_t secondsUntilBelow(std::int64_t now, std::int64_t limit);
  void reset();
};

}  // namespace cosp::common::keys
