#pragma once

#include <string>
#include <vector>

#include "worker/calls/streaming_sink.h"
#include "worker/translate/chat_stream_mapper.h"

namespace cosp::worker {

// stream:true on /v1/chat/completions: Responses events become chat.completion.chunk events.
// The 200 head goes out with the first event that is not a failure, so a client waiting through
// long reasoning sees progress; a failure before anything was sent gets its real status instead.
class ChatStreamSink final : public StreamingSink {
 public:
  ChatStreamSink(Exchange& ex, ClientWatch& client, ChatStreamOptions options)
      : StreamingSink(ex, client), mapper_(std::move(options)) {}

  void onEvent(SseEvent&& event) override;
  bool deliver() override;
  void finish(const std::optional<common::ApiError>& end_reason) override;

 private:
  ChatStreamMapper mapper_;
  std::vector<std::string> chunks_;
  bool seen_event_ = false;
};

}  // namespace cosp::worker
