#include "worker/calls/relay_sink.h"

#include "common/util/strings.h"
#include "worker/sse/event_kind.h"
#include "worker/translate/error_json.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

void RelaySink::onEvent(SseEvent&& event) {
  seen_event_ = true;
  if (isTerminalEvent(event)) seen_terminal_ = true;
}

bool RelaySink::deliver() {
  if (!seen_event_ || bytes_.empty()) return true;
  const bool written = writer_.write(bytes_);
  common::clearAndTrim(bytes_);
  return written;
}

void RelaySink::finish(const std::optional<common::ApiError>& end_reason) {
  if (seen_terminal_) {
    if (!bytes_.empty()) writer_.write(bytes_);
    return;
  }
  // The upstream vanished (or was cut) without a terminal event: the client gets one. The relay
  // released whole events only, so the client is between events here.
  const common::ApiError error = end_reason.value_or(upstreamTruncatedError());
  if (!writer_.started()) {
    sendError(ex_, error);  // no event reached the client: a real status
    return;
  }
  if (!bytes_.empty()) writer_.write(bytes_);
  writer_.write("event: error\ndata: " + responsesErrorEventData(error) + "\n\n");
}

}  // namespace cosp::worker
