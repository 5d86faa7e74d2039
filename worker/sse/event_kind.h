#pragma once

#include <string_view>

#include "worker/sse/sse_parser.h"

namespace cosp::worker {

// What a Responses event means for the proxy, from its `event:` field or, when the upstream
// sends none, a cheap scan of the JSON "type" in its data (no parse on the per-event path).
// The event's type: its `event:` field, else the first JSON "type" member of its data (the
// backend writes it first), else "".
std::string_view eventType(const SseEvent& e);
// The first JSON "type" member of `data`, by the same scan ("" when there is none): the type of a
// Responses event that comes as one WebSocket message.
std::string_view dataType(std::string_view data);

bool isFailureType(std::string_view type);   // `error` or `response.failed`
bool isTerminalType(std::string_view type);  // completed, incomplete, or a failure

inline bool isFailureEvent(const SseEvent& e) { return isFailureType(eventType(e)); }
inline bool isTerminalEvent(const SseEvent& e) { return isTerminalType(eventType(e)); }

}  // namespace cosp::worker
