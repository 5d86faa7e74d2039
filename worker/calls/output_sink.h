#pragma once

#include <chrono>
#include <optional>

#include "common/error/api_error.h"
#include "worker/sse/sse_parser.h"

namespace cosp::worker {

// Where the events of an upstream 200 go, fed by the one read loop (event_pump.h). Three
// implementations, one per kind of answer:
//   ChatStreamSink  chat completion chunks, streamed   (chat_stream_sink.h)
//   CollectSink     one JSON object at the end         (collect_sink.h, both APIs)
//   RelaySink       the Responses events, unchanged    (relay_sink.h)
// Until finish(), nothing but deliver() and idle() may write to the client, so a call that fails
// before its first byte still gets a real HTTP status.
class OutputSink {
 public:
  virtual ~OutputSink() = default;

  // One upstream event, in order.
  virtual void onEvent(SseEvent&& event) = 0;
  // Writes what the events so far have made ready; false when the client is gone.
  virtual bool deliver() = 0;
  // The upstream has been silent for a while; false when the client is gone.
  virtual bool idle() { return true; }
  // The sink holds all it may: the proxy stops reading.
  virtual bool overCap() const { return false; }
  // How long the next wait for upstream bytes may last.
  virtual std::chrono::milliseconds nextWait() const = 0;
  // The upstream ended, or the proxy stopped reading; `end_reason` says why when it did not
  // finish. Completes the answer to the client.
  virtual void finish(const std::optional<common::ApiError>& end_reason) = 0;
};

}  // namespace cosp::worker
