#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cosp::worker::accounts {

// The round-robin strategy's per-process rotation: each call takes the next start position. Workers
// do not share it (no shared state); over many calls each worker spreads evenly by itself.
class RoundRobin {
 public:
  // The next rotation start, in [0, n) (0 when n is 0).
  size_t next(size_t n) {
    const std::uint64_t t = counter_.fetch_add(1, std::memory_order_relaxed);
    return n == 0 ? 0 : static_cast<size_t>(t % n);
  }

 private:
  std::atomic<std::uint64_t> counter_{0};
};

// 0..n-1 rotated to begin at `start`.
std::vector<size_t> rotation(size_t n, size_t start);

}  // namespace cosp::worker::accounts
