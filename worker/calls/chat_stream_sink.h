#pragma once

#include <string>
#include <vector>

#include "worker/calls/streaming_sink.h"
#include "worker/translate/chat_stream_mapper.h"

namespace cosp::worker {

// stream:true on /v1/chat/completions: Responses events become chat.completion.chunk events.
// The 200 head goes out with the first events the hold-back releases (attempt_loop.h), so a client
// waiting through long reasoning sees progress; a failure held back before them ended the attempt
// with its real status instead, and a later one becomes an error event.
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
