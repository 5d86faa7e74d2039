#include <gtest/gtest.h>

#include "common/metrics/prometheus.h"
#include "worker/worker_context.h"

using namespace cosp;

// The worker keeps its per-route counts as integers and builds the series keys when read; what it
// reports must be exactly what one observeHistogram per request used to build.
TEST(WorkerMetrics, SnapshotHasTheSeriesOfEveryRequestByRouteAndStatus) {
  worker::WorkerMetrics metrics;
  metrics.recordRequest("responses", 200, 1500, 900);
  metrics.recordRequest("responses", 200, 70'000, -1);  // no first byte (a failure before it)
  metrics.recordRequest("responses", 429, 800, 700);
  metrics.recordRequest("models", 200, 300, -1);

  common::MetricSeries expected;
  expected[common::seriesKey("http_requests_total", "route=\"responses\",status=\"200\"")] = 2;
  expected[common::seriesKey("http_requests_total", "route=\"responses\",status=\"429\"")] = 1;
  expected[common::seriesKey("http_requests_total", "route=\"models\",status=\"200\"")] = 1;
  for (int64_t us : {1500, 70'000, 800}) {
    common::observeHistogram(expected, "http_request_duration_seconds", "route=\"responses\"", us);
  }
  common::observeHistogram(expected, "http_request_duration_seconds", "route=\"models\"", 300);
  for (int64_t us : {900, 700})
    common::observeHistogram(expected, "time_to_first_byte_seconds", "route=\"responses\"", us);

  common::WorkerCounters got = metrics.snapshot();
  for (const char* gauge : {"active_requests", "active_streams", "response_bytes_total", "handler_exceptions_total"}) {
    EXPECT_EQ(got.at(gauge), 0) << gauge;
    got.erase(gauge);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.count("time_to_first_byte_seconds_count{route=\"models\"}"), 0u);  // never observed there
}
