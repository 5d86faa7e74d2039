#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <string_view>

namespace cosp::common {

// Metrics travel as a flat map from a series key to an integer, e.g.
//   http_requests_total{route="models",status="200"}            -> 12
//   http_request_duration_seconds_bucket{route="models",le="0.005"} -> 11  (cumulative)
//   http_request_duration_seconds_sum_us{route="models"}        -> 8123  (microseconds)
// Workers report theirs in heartbeats; the supervisor sums them (gauges included, since the sum
// of per-worker gauges is the process-wide gauge) and renders the Prometheus text format.
using MetricSeries = std::map<std::string, int64_t>;

// Upper bounds (seconds) of the latency histograms.
inline constexpr double kLatencyBuckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                             1,     2.5,   5,    10,    30,   60,  300};

// One latency histogram over kLatencyBuckets as plain integers: an observation is 15 compares, no
// string and no map lookup (a worker observes two per request under a lock every handler thread
// takes), and the series keys are built only when the counts are read (addTo, once per heartbeat).
struct LatencyHistogram {
  std::array<int64_t, std::size(kLatencyBuckets)> buckets{};  // cumulative: observations <= bound
  int64_t count = 0;
  int64_t sum_us = 0;

  void observe(int64_t micros);
  // Adds these counts to `series` as name_bucket{labels,le="…"} (every bound, zero included:
  // scrapers expect the full, fixed set), le="+Inf", name_sum_us{labels} and name_count{labels}.
  void addTo(MetricSeries& series, std::string_view name, std::string_view labels) const;
};

// A series key: name{labels}, or just name when `labels` is empty.
std::string seriesKey(std::string_view name, std::string_view labels);

// Renders every series as Prometheus text (version 0.0.4) under the prefix "codex_sub_proxy_":
// one HELP and TYPE line per family, histograms with cumulative buckets, +Inf, _sum (seconds)
// and _count. Series whose family is unknown are rendered as untyped.
std::string renderPrometheus(const MetricSeries& series);

// True for series that are gauges (current values) rather than counters.
bool isGaugeSeries(std::string_view key);

}  // namespace cosp::common
