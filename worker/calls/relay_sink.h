#pragma once

#include <string>

#include "worker/calls/streaming_sink.h"

namespace cosp::worker {

// stream:true on /v1/responses: the upstream's events go to the client byte for byte, as the
// relay framing (UpstreamEvents::Framing::KeepBytes) released them: whole events only, so the
// sink can always end a stream that stopped early with an `error` event of its own.
class RelaySink final : public StreamingSink {
 public:
  // `bytes` is the relay's buffer of whole events not yet written (UpstreamEvents::bytes()).
  RelaySink(Exchange& ex, ClientWatch& client, std::string& bytes) : StreamingSink(ex, client), bytes_(bytes) {}

  void onEvent(SseEvent&& event) override;
  bool deliver() override;
  void finish(const std::optional<common::ApiError>& end_reason) override;

 private:
  std::string& bytes_;
  bool seen_event_ = false;
  bool seen_terminal_ = false;  // completed, incomplete or failed: the client has an ending
};

}  // namespace cosp::worker
