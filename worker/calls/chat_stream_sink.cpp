#include "worker/calls/chat_stream_sink.h"

namespace cosp::worker {

void ChatStreamSink::onEvent(SseEvent&& event) {
  seen_event_ = true;
  mapper_.onEvent(event, chunks_);
}

bool ChatStreamSink::deliver() {
  if (!chunks_.empty()) return writer_.writeData(chunks_);
  if (seen_event_ && !writer_.started() && !mapper_.finished()) writer_.start();
  return true;
}

void ChatStreamSink::finish(const std::optional<common::ApiError>& end_reason) {
  mapper_.onUpstreamEnd(chunks_, end_reason);
  if (!writer_.started() && mapper_.failure()) {
    sendError(ex_, *mapper_.failure());  // failed before anything was sent: a real status
    return;
  }
  writer_.writeData(chunks_);
}

}  // namespace cosp::worker
