#pragma once

#include "worker/exchange.h"

namespace cosp::worker {

// GET /metrics: Prometheus text of every worker together, as the supervisor last pushed it.
void handleMetrics(Exchange& ex);

}  // namespace cosp::worker
