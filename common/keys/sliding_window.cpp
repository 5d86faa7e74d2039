#include "common/keys/sliding_window.h"

#include <algorithm>
#include <type_traits>

namespace cosp::common::keys {

static_assert(std::atomic<std::int64_t>::is_always_lock_free, "the zone is shared between processes");
static_assert(std::is_standard_layout_v<SlidingWindow>, "placed in shared memory");

namespace {

// Empties `bucket` if it still holds second `seen`, moving it to `to`; the CAS winner subtracts
// the count it took from the total.
void retire(SlidingWindow& window, SlidingWindow::Bucket& bucket, std::int64_t seen, std::int64_t to) {
  if (bucket.second.compare_exchange_strong(seen, to, std::memory_order_acq_rel)) {
    std::int64_t taken = bucket.count.exchange(0, std::memory_order_acq_rel);
    if (taken != 0) window.total.fetch_sub(taken, std::memory_order_acq_rel);
  }
}

}  // namespace

void SlidingWindow::advance(std::int64_t now) {
  for (Bucket& bucket : buckets) {
    std::int64_t second = bucket.second.load(std::memory_order_acquire);
    // Second 0 is "never used" (and a retired bucket is parked on 0 too).
    if (second != 0 && second <= now - kSeconds) retire(*this, bucket, second, 0);
  }
  Bucket& current = buckets[now % kSeconds];
  std::int64_t second = current.second.load(std::memory_order_acquire);
  if (second != now && second < now) retire(*this, current, second, now);
}

std::int64_t SlidingWindow::used(std::int64_t now) {
  advance(now);
  return std::max<std::int64_t>(0, total.load(std::memory_order_acquire));
}

void SlidingWindow::add(std::int64_t now, std::int64_t n) {
  if (n <= 0) return;
  advance(now);
  total.fetch_add(n, std::memory_order_acq_rel);
  buckets[now % kSeconds].count.fetch_add(n, std::memory_order_acq_rel);
}

bool SlidingWindow::tryAdd(std::int64_t now, std::int64_t limit) {
  advance(now);
  std::int64_t before = total.fetch_add(1, std::memory_order_acq_rel);
  if (before >= limit) {
    total.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  buckets[now % kSeconds].count.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

std::int64_t SlidingWindow::secondsUntilBelow(std::int64_t now, std::int64_t limit) {
  std::int64_t in_window = used(now);
  if (in_window < limit) return 0;
  // Walk the live buckets from the oldest: once enough of them expire, the window is below.
  std::int64_t expire_at[kSeconds];
  std::int64_t counts[kSeconds];
  int n = 0;
  for (Bucket& bucket : buckets) {
    std::int64_t second = bucket.second.load(std::memory_order_acquire);
    std::int64_t count = bucket.count.load(std::memory_order_acquire);
    if (second > now - kSeconds && second != 0 && count > 0) {
      expire_at[n] = second + kSeconds;
      counts[n] = count;
      ++n;
    }
  }
  std::int64_t order[kSeconds];
  for (int i = 0; i < n; ++i) order[i] = i;
  std::sort(order, order + n, [&](std::int64_t a, std::int64_t b) { return expire_at[a] < expire_at[b]; });
  for (int i = 0; i < n; ++i) {
    in_window -= counts[order[i]];
    if (in_window < limit) return std::max<std::int64_t>(1, expire_at[order[i]] - now);
  }
  return kSeconds;
}

void SlidingWindow::reset() {
  for (Bucket& bucket : buckets) {
    bucket.second.store(0);
    bucket.count.store(0);
  }
  total.store(0);
}

}  // namespace cosp::common::keys
