#pragma once

#include "worker/calls/call_context.h"
#include "worker/calls/output_sink.h"
#include "worker/sse/sse_writer.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/response_collector.h"

namespace cosp::worker {

// stream:false on either API: the events are collected and the client gets one JSON object at the
// end, a chat.completion or a Responses object. Its memory is capped (MAX_EVENT_BYTES of kept
// output); past the cap the proxy stops reading and the call fails.
class CollectSink final : public OutputSink {
 public:
  CollectSink(Exchange& ex, CallApi api, ChatStreamOptions chat, std::size_t max_event_bytes)
      : ex_(ex), api_(api), chat_(std::move(chat)), collector_(max_event_bytes) {}

  void onEvent(SseEvent&& event) override { collector_.onEvent(event); }
  bool deliver() override { return true; }  // nothing until the end
  bool overCap() const override { return collector_.overCap(); }
  std::chrono::milliseconds nextWait() const override { return SseWriter::kLongestWait; }
  void finish(const std::optional<common::ApiError>& end_reason) override;

 private:
  Exchange& ex_;
  CallApi api_;
  ChatStreamOptions chat_;  // the chat.completion's id, created time, model and output options
  ResponseCollector collector_;
};

}  // namespace cosp::worker
