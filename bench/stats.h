#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace cosp::bench {

// Order statistics of a sample in nanoseconds.
struct Summary {
  std::size_t count = 0;
  double mean = 0;
  std::int64_t p50 = 0;
  std::int64_t p90 = 0;
  std::int64_t p99 = 0;
  std::int64_t p999 = 0;
  std::int64_t max = 0;
  std::size_t over_40ms = 0;  // samples >= 40 ms: the signature of Nagle + delayed ACK
};

// Nearest-rank percentile of a sorted sample.
inline std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  if (rank == 0) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return sorted[rank - 1];
}

inline Summary summarize(std::vector<std::int64_t> v) {
  Summary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (std::int64_t x : v) {
    sum += static_cast<double>(x);
    if (x >= 40'000'000) ++s.over_40ms;
  }
  s.mean = sum / static_cast<double>(v.size());
  s.p50 = percentile(v, 50);
  s.p90 = percentile(v, 90);
  s.p99 = percentile(v, 99);
  s.p999 = percentile(v, 99.9);
  s.max = v.back();
  return s;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace cosp::bench
