#pragma once

#include <sys/random.h>
#include <time.h>

#include <cstdint>

namespace cosp::common {

// A small, fast UniformRandomBitGenerator (Steele, Lea and Flood's SplitMix64) for ids and
// jitter: nothing here needs to be unpredictable to an attacker.
//
// Why not std::mt19937_64: its 2.5 KB of state, kept thread_local, is static TLS, and static TLS
// is carved out of every thread's stack. A worker holds one thread per open stream, so three of
// them cost ~7.5 KB per held stream; this one costs 8 bytes.
class SplitMix64 {
 public:
  using result_type = std::uint64_t;

  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  // Seeded from getrandom(2), once per generator. Not through std::random_device: libstdc++'s
  // is a ~5 KB object, and built on a connection thread's stack (thread_local generators are
  // seeded on first use there) it was two of the four stack pages every held stream's thread
  // kept resident (perf page-faults on a worker, issue 17). Should getrandom fail (no entropy
  // pool yet, a seccomp filter), the clock and the generator's address still tell threads apart.
  static SplitMix64 fromRandomDevice() {
    std::uint64_t seed = 0;
    if (::getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed)) {
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      seed = (static_cast<std::uint64_t>(now.tv_sec) * 1000000000u + static_cast<std::uint64_t>(now.tv_nsec)) ^
             reinterpret_cast<std::uintptr_t>(&seed);
    }
    return SplitMix64(seed);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }

  result_type operator()() {
    result_type z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace cosp::common
