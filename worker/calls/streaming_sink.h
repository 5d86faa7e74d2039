#pragma once

#include "worker/calls/output_sink.h"
#include "worker/sse/sse_writer.h"

namespace cosp::worker {

// The part the two streaming sinks share: an SSE answer, kept alive during upstream silences, and
// the next read's wait bounded by its keep-alive timer.
class StreamingSink : public OutputSink {
 public:
  bool idle() override { return writer_.keepAlive(); }
  std::chrono::milliseconds nextWait() const override { return writer_.nextWait(); }

 protected:
  StreamingSink(Exchange& ex, ClientWatch& client) : ex_(ex), writer_(ex, client) {}

  Exchange& ex_;
  SseWriter writer_;
};

}  // namespace cosp::worker
