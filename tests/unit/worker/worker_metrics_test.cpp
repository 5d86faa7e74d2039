#include <gtest/gtest.h>

#include <array>
#include <string>

#include "common/metrics/prometheus.h"
#include "worker/worker_context.h"

using namespace cosp;

namespace {

// The bounds as a scraper sees them, spelled out rather than formatted by the code under test.
constexpr std::array<const char*, 15> kBounds = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                                 "1",     "2.5",   "5",    "10",    "30",   "60",  "300"};

// Moves one histogram's 18 series out of `got` after checking each value.
void takeHistogram(common::WorkerCounters& got, const std::string& name, const std::string& route,
                   const std::array<int64_t, 15>& cumulative, int64_t count, int64_t sum_us) {
  const std::string labels = "route=\"" + route + "\"";
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    const std::string key = name + "_bucket{" + labels + ",le=\"" + kBounds[i] + "\"}";
    ASSERT_EQ(got.count(key), 1u) << key;
    EXPECT_EQ(got[key], cumulative[i]) << key;
    got.erase(key);
  }
  for (const auto& [key, value] :
       {std::pair{name + "_bucket{" + labels + ",le=\"+Inf\"}", count},
        std::pair{name + "_count{" + labels + "}", count}, std::pair{name + "_sum_us{" + labels + "}", sum_us}}) {
    ASSERT_EQ(got.count(key), 1u) << key;
    EXPECT_EQ(got[key], value) << key;
    got.erase(key);
  }
}

}  // namespace

// The worker keeps its per-route counts as integers and builds the series keys when read: the
// heartbeat must carry the same keys and values as when every request wrote them.
TEST(WorkerMetrics, SnapshotHasTheSeriesOfEveryRequestByRouteAndStatus) {
  worker::WorkerMetrics metrics;
  metrics.recordRequest("responses", 200, 1500, 900);
  metrics.recordRequest("responses", 200, 70'000, -1);  // no first byte (a failure before it)
  metrics.recordRequest("responses", 429, 800, 700);
  metrics.recordRequest("models", 200, 300, -1);

  common::WorkerCounters got = metrics.snapshot();
  for (const char* gauge : {"active_requests", "active_streams", "response_bytes_total", "handler_exceptions_total"}) {
    EXPECT_EQ(got.at(gauge), 0) << gauge;
    got.erase(gauge);
  }
  takeHistogram(got, "http_request_duration_seconds", "responses", {1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, 3,
                1500 + 70'000 + 800);
  takeHistogram(got, "http_request_duration_seconds", "models", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 300);
  takeHistogram(got, "time_to_first_byte_seconds", "responses", {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 2,
                900 + 700);
  const common::WorkerCounters requests = {
      {"http_requests_total{route=\"models\",status=\"200\"}", 1},
      {"http_requests_total{route=\"responses\",status=\"200\"}", 2},
      {"http_requests_total{route=\"responses\",status=\"429\"}", 1},
  };
  EXPECT_EQ(got, requests);  // and nothing else: no first-byte histogram for models
}
