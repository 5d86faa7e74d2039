#include "common/metrics/prometheus.h"

#include <gtest/gtest.h>

using namespace cosp::common;

TEST(Prometheus, RendersFamiliesHistogramsAndSeconds) {
  MetricSeries series;
  series[seriesKey("http_requests_total", "route=\"models\",status=\"200\"")] = 3;
  LatencyHistogram duration;
  duration.observe(2000);    // 2 ms
  duration.observe(400000);  // 400 ms
  duration.addTo(series, "http_request_duration_seconds", "route=\"models\"");
  series["active_streams"] = 2;
  std::string text = renderPrometheus(series);
  EXPECT_NE(text.find("# TYPE codex_sub_proxy_http_requests_total counter\n"
                      "codex_sub_proxy_http_requests_total{route=\"models\",status=\"200\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"0.001\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("le=\"0.001\"} 1"), std::string::npos);
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"0.5\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("codex_sub_proxy_http_request_duration_seconds_bucket{route=\"models\",le=\"+Inf\"} 2\n"
                      "codex_sub_proxy_http_request_duration_seconds_sum{route=\"models\"} 0.402000\n"
                      "codex_sub_proxy_http_request_duration_seconds_count{route=\"models\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE codex_sub_proxy_active_streams gauge\ncodex_sub_proxy_active_streams 2\n"),
            std::string::npos);
  EXPECT_TRUE(isGaugeSeries("active_streams"));
  EXPECT_FALSE(isGaugeSeries("http_requests_total{route=\"x\"}"));
}

TEST(Prometheus, HistogramBoundsAreInclusiveAndCumulative) {
  LatencyHistogram h;
  h.observe(1000);         // exactly 1 ms: in le="0.001"
  h.observe(1001);         // just above: first in le="0.005"
  h.observe(300'000'001);  // above every bound: only +Inf
  EXPECT_EQ(h.buckets[0], 1);
  EXPECT_EQ(h.buckets[1], 2);
  EXPECT_EQ(h.buckets.back(), 2);
  EXPECT_EQ(h.count, 3);
  EXPECT_EQ(h.sum_us, 1000 + 1001 + 300'000'001);

  MetricSeries series;
  h.addTo(series, "d", "route=\"r\"");
  h.addTo(series, "d", "route=\"r\"");  // adds, as the supervisor sums workers
  EXPECT_EQ(series.at("d_bucket{route=\"r\",le=\"0.001\"}"), 2);
  EXPECT_EQ(series.at("d_bucket{route=\"r\",le=\"300\"}"), 4);
  EXPECT_EQ(series.at("d_bucket{route=\"r\",le=\"+Inf\"}"), 6);
  EXPECT_EQ(series.at("d_count{route=\"r\"}"), 6);
  EXPECT_EQ(series.at("d_sum_us{route=\"r\"}"), 2 * (1000 + 1001 + 300'000'001));
  EXPECT_EQ(series.size(), std::size(kLatencyBuckets) + 3);

  MetricSeries unlabelled;
  LatencyHistogram{}.addTo(unlabelled, "d", "");
  EXPECT_EQ(unlabelled.at("d_bucket{le=\"0.001\"}"), 0);  // every bound exists from the start
  EXPECT_EQ(unlabelled.at("d_count"), 0);
}

TEST(Prometheus, UnknownSeriesComeAfterEveryFamilyAndEachSeriesOnce) {
  MetricSeries series;
  series["zz_custom{a=\"1\"}"] = 7;
  series["active_streams"] = 2;
  series["aa_custom"] = 1;
  for (int i = 0; i < 1000; ++i) {
    series[seriesKey("key_requests_total", "key=\"k" + std::to_string(i) + "\",class=\"2xx\"")] = i;
  }
  const std::string text = renderPrometheus(series);
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  // 1,003 samples, HELP and TYPE of the two known families and of the two unknown ones
  EXPECT_EQ(lines, 1003u + 2 * 4) << text.substr(0, 400);
  const auto known = text.find("codex_sub_proxy_key_requests_total{key=\"k999\",class=\"2xx\"} 999\n");
  const auto unknown_a = text.find("codex_sub_proxy_aa_custom 1\n");
  const auto unknown_z = text.find("codex_sub_proxy_zz_custom{a=\"1\"} 7\n");
  ASSERT_NE(known, std::string::npos);
  ASSERT_NE(unknown_a, std::string::npos);
  ASSERT_NE(unknown_z, std::string::npos);
  EXPECT_LT(text.find("codex_sub_proxy_active_streams 2\n"), known);  // table order: gauges first
  EXPECT_LT(known, unknown_a);
  EXPECT_LT(unknown_a, unknown_z);  // unknown ones in key order
  EXPECT_NE(text.find("# TYPE codex_sub_proxy_zz_custom untyped\n"), std::string::npos);
}
