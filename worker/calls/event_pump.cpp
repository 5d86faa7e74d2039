#include "worker/calls/event_pump.h"

#include "common/log/log.h"
#include "worker/front/caller_keys.h"
#include "worker/sse/event_kind.h"

namespace cosp::worker {

PumpEnd pumpEvents(CallContext& call, UpstreamEvents& events, std::vector<SseEvent>& first_events, OutputSink& sink) {
  // A file key's tokens come from the terminal event's usage (parsed only for file keys).
  const bool count_tokens = call.ex.file_key != nullptr;
  for (SseEvent& e : first_events) {
    if (count_tokens && isTerminalEvent(e)) captureUsage(call.ex, e.data);
    sink.onEvent(std::move(e));
  }
  first_events.clear();
  const SseParser::Callback to_sink = [&sink, &call, count_tokens](SseEvent&& e) {
    if (count_tokens && isTerminalEvent(e)) captureUsage(call.ex, e.data);
    sink.onEvent(std::move(e));
  };
  // The first round delivers what the attempt loop read, without reading more.
  for (bool first_round = true;; first_round = false) {
    ReadStatus status = ReadStatus::Data;
    if (!first_round) {
      status = events.read(call.deadline.cap(call.client.slice(sink.nextWait())), call.client.hangupFd(), to_sink);
    }
    bool client_left = !sink.deliver();
    if (!client_left && status == ReadStatus::Timeout) client_left = call.client.gone() || !sink.idle();
    if (client_left) {
      events.abort();  // the upstream sees FIN now, not when it next writes
      call.worker.metrics.recordClientDisconnect();
      common::logInfo("client_disconnected").field("request_id", call.ex.request_id);
      return PumpEnd::ClientLeft;
    }
    if (sink.overCap()) {
      common::logWarn("upstream_response_too_large").field("request_id", call.ex.request_id);
      events.stop(std::nullopt);
    }
    if (!events.ended() && !events.stopped() && call.deadline.expired()) {
      common::logWarn("request_timeout").field("request_id", call.ex.request_id);
      events.stop(call.deadlineError());
    }
    if (events.ended() || events.stopped()) break;
  }
  // Stopped mid-body: end the upstream now; its connection is not reusable anyway.
  if (events.stopped()) events.abort();
  sink.finish(events.endReason());
  return PumpEnd::Finished;
}

}  // namespace cosp::worker
