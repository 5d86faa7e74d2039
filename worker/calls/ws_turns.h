#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error/api_error.h"

namespace cosp::worker {

// Responses over WebSocket (docs/ARCHITECTURE.md §7): what the relay decides per message, as pure
// code. No sockets here; worker/calls/ws_relay.h does the reading and writing.

// The error event the Codex CLI understands on a Responses WebSocket (codex-rs, codex-api
// responses_websocket.rs: a text message of type "error" with a numeric "status" is read as an
// HTTP error of that status, its "headers" as the response's headers):
//   {"type":"error","status":S,"error":{"type","code","message","param"[,resets_at,
//    resets_in_seconds,plan_type]},"headers":{"retry-after":"N"}}
// `upstream_event` is the backend's failure event, whose error object lends the usage-limit
// fields the CLI prints ("" for none). `headers` join the error's own (Retry-After) in "headers",
// names lowercased: a caller key's x-ratelimit-* values on its 429, as an HTTP call has them.
std::string wrappedErrorEvent(const common::ApiError& error, std::string_view upstream_event = {},
                              const std::vector<std::pair<std::string, std::string>>& headers = {});

// Follows the calls on one Responses WebSocket: a client's `response.create` begins a call,
// which the backend answers with events up to a terminal one (response.completed,
// response.incomplete, response.failed, error). A failure before the call's first output event is
// what an HTTP call would answer with a mapped status (worker/translate/upstream_error.h): here it
// is replaced by wrappedErrorEvent() with that status, so the CLI shows a usage limit or a
// context overflow as it does over HTTPS. Everything else is relayed as it came.
class WsTurns {
 public:
  // A text message from the client, by its "type". Other types (response.processed, which gets
  // no answer, or anything else) begin no call.
  void onClientMessage(std::string_view type);

  struct Verdict {
    bool replaced = false;  // send `text` instead of the backend's message
    std::string text;
    int status = 0;           // replaced: the mapped status
    bool call_ended = false;  // a terminal event: the call is over
  };
  // A text message from the backend.
  Verdict onBackendMessage(std::string_view payload, std::int64_t now_unix_seconds);

  // A call was begun and its terminal event has not come yet.
  bool inCall() const { return pending_calls_ > 0; }
  // In a call whose first output event has not come yet.
  bool beforeOutput() const { return inCall() && !output_seen_; }
  std::uint64_t callsBegun() const { return calls_begun_; }

 private:
  int pending_calls_ = 0;
  bool output_seen_ = false;
  std::uint64_t calls_begun_ = 0;
};

}  // namespace cosp::worker
