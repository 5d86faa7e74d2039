#pragma once

#include <cstdint>
#include <random>

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
  // Seeded from std::random_device (getrandom), once per generator.
  static SplitMix64 fromRandomDevice() {
    std::random_device device;
    return SplitMix64((std::uint64_t{device()} << 32) ^ device());
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
