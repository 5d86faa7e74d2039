#pragma once

#include <time.h>

#include <chrono>

namespace cosp::test {

// Poll `predicate` every 20 ms until true or the deadline; returns its last value.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec ts {
      0, 20 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
}

}  // namespace cosp::test
