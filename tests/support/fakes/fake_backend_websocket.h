#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cosp::test {

// Pure pieces of the fake backend's Responses-over-WebSocket answer (fake_codex_backend.h).

// The JSON of one SSE event as the transcripts hold it (`event:` and `data:` lines): its data
// lines joined with '\n', or nullopt when it has none (a comment-only block). Over WebSocket the
// backend sends exactly this JSON as one text message.
std::optional<std::string> sseEventJson(std::string_view event);

// `response.id` of a `response.created` / `response.completed` event's JSON, if any.
std::optional<std::string> responseIdOf(std::string_view event_json);

// The `error` message the fake sends over WebSocket for a refused `response.create`, in the shape
// the Codex CLI reads: {"type":"error","status":N,"error":{"type","code","message","param"}}.
std::string websocketErrorEvent(int status, std::string_view code, std::string_view message,
                                std::string_view param = {});

}  // namespace cosp::test
