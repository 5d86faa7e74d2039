#pragma once

#include "worker/sse/sse_parser.h"

namespace cosp::worker {

// What a Responses event means for the proxy, from its `event:` field or, when the upstream
// sends none, a cheap scan of the JSON "type" in its data (no parse on the per-event path).
bool isFailureEvent(const SseEvent& e);   // `error` or `response.failed`
bool isTerminalEvent(const SseEvent& e);  // completed, incomplete, or a failure

}  // namespace cosp::worker
