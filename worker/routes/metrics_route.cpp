#include "worker/routes/metrics_route.h"

#include "common/metrics/prometheus.h"

namespace cosp::worker {

void handleMetrics(Exchange& ex) {
  // The supervisor's aggregate over every worker (pushed each second); before the first push,
  // this worker's own series.
  auto pushed = ex.ctx.metricsText();
  std::string body = pushed ? *pushed : common::renderPrometheus(ex.ctx.metrics.snapshot());
  prepareResponse(ex, 200);
  ex.response.setContentType("text/plain; version=0.0.4; charset=utf-8");
  ex.response.setContentLength64(static_cast<int64_t>(body.size()));
  ex.response.send();
  if (ex.request.getMethod() != "HEAD" && ex.response.write(body)) ex.bytes_out += static_cast<int64_t>(body.size());
}

}  // namespace cosp::worker
