#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/error/api_error.h"
#include "worker/sse/sse_parser.h"
#include "worker/sse/sse_relay.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

// The SSE body of an upstream 200, read and cut into events. With Framing::KeepBytes (the
// Responses relay) the bytes of whole events are also kept, unchanged, for the client.
//
// Memory: at most about twice MAX_EVENT_BYTES, the parser's one event plus the relay's bytes not
// yet written; an event past the cap stops the reading with upstreamEventTooLargeError.
class UpstreamEvents {
 public:
  enum class Framing { EventsOnly, KeepBytes };

  UpstreamEvents(std::unique_ptr<UpstreamExchange> upstream, Framing framing, std::size_t max_event_bytes,
                 const std::string& request_id);

  // Waits up to `wait` for upstream bytes (or the client's hang-up on `hangup_fd`) and hands each
  // whole event they complete to `on_event`, in order. At the upstream's end (End or Error) an
  // unfinished event is dispatched and ended() turns true.
  ReadStatus read(std::chrono::milliseconds wait, int hangup_fd, const SseParser::Callback& on_event);

  bool ended() const { return ended_; }
  // The proxy stops reading (an event too large, the collector's cap, the deadline); `reason`,
  // when given, is why the stream ends unfinished.
  void stop(std::optional<common::ApiError> reason);
  bool stopped() const { return stopped_; }
  // Why the upstream ended without finishing: a read error or the reason given to stop().
  const std::optional<common::ApiError>& endReason() const { return end_reason_; }

  // The upstream's response head (its quota headers, for a failure before the first output).
  const UpstreamResponseHead& head() const { return upstream_->head(); }

  bool keepsBytes() const { return relay_.has_value(); }
  // Framing::KeepBytes: the bytes of whole events not yet written to the client.
  std::string& bytes() { return relay_->ready(); }

  // Closes the upstream connection now: the backend sees FIN instead of writing into a dead
  // socket until its next event. A connection left mid-body is never reused.
  void abort() { upstream_->abort(); }

 private:
  std::unique_ptr<UpstreamExchange> upstream_;
  const std::string& request_id_;
  std::size_t max_event_bytes_;
  std::optional<SseParser> parser_;  // Framing::EventsOnly
  std::optional<SseRelay> relay_;    // Framing::KeepBytes: parses too
  std::string buf_;
  bool ended_ = false;
  bool stopped_ = false;
  std::optional<common::ApiError> end_reason_;
};

}  // namespace cosp::worker
