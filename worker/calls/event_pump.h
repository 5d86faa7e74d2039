#pragma once

#include <vector>

#include "worker/calls/call_context.h"
#include "worker/calls/output_sink.h"
#include "worker/calls/upstream_events.h"

namespace cosp::worker {

enum class PumpEnd { Finished, ClientLeft };

// Stage 3 of a model call, the one read loop: hands `first_events` (what the attempt loop read)
// and then every further upstream event to `sink`, lets it write, keeps an idle stream alive, and
// stops at the upstream's end, at the sink's cap, at the call's deadline or when the client
// leaves. The sink then completes the answer (unless the client left: nobody to answer).
PumpEnd pumpEvents(CallContext& call, UpstreamEvents& events, std::vector<SseEvent>& first_events, OutputSink& sink);

}  // namespace cosp::worker
