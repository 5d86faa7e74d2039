#include "common/metrics/prometheus.h"

#include <gtest/gtest.h>

using namespace cosp::common;

TEST(Prometheus, RendersFamiliesHistogramsAndSeconds) {
  MetricSeries series;
  series[seriesKey("http_requests_total", "route=\"models\",status=\"200\"")] = 3;
  observeHistogram(series, "http_request_duration_seconds", "route=\"models\"", 2000);    // 2 ms
  observeHistogram(series, "http_request_duration_seconds", "route=\"models\"", 400000);  // 400 ms
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
