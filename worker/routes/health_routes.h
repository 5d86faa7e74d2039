#pragma once

#include "worker/exchange.h"

namespace cosp::worker {

// GET /healthz: the worker answers at all. GET /readyz: it can serve model calls now (usable
// credentials, not draining), and if not, why. The accept loop answers both itself
// (FrontController::answersInline), so a worker whose threads are all busy still answers probes.
void handleHealth(Exchange& ex);
void handleReady(Exchange& ex);

}  // namespace cosp::worker
