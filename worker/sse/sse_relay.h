#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "worker/sse/sse_parser.h"

namespace cosp::worker {

// Relays an upstream SSE stream to a client byte for byte (the /v1/responses route) while parsing
// it. Bytes are released only at settled points (SseParser::settledBytes: after a blank line, or
// after a comment between events), so a client never holds half an event: the relay can always
// end a stream with an event of its own (an error), and a keep-alive comment never lands inside
// an event.
//
// Memory is bounded: the bytes not yet taken by the caller (the event being received plus
// released bytes still in ready()) may not exceed max_event_bytes, and the parser's copy of the
// event is capped the same way, so a stream never holds much more than twice the cap. Past it
// (an endless line, a huge event, or endless comments before the caller starts taking) the
// relay fails: it drops the unfinished event and ignores further input. Whole events released
// before the failure point stay in ready() (unless they alone pass the cap). Not thread-safe.
class SseRelay {
 public:
  explicit SseRelay(std::size_t max_event_bytes);

  // Parses `bytes` (on_event is called for every complete event, in order) and keeps them for
  // the client. False once the relay has failed.
  bool feed(std::string_view bytes, const SseParser::Callback& on_event);

  // End of the upstream stream. An event still being built is dispatched (as SseParser::finish
  // does) and released with a blank line appended, so the client dispatches it too; an
  // incomplete line that makes no event is discarded (the client would discard it as well).
  void finish(const SseParser::Callback& on_event);

  // Bytes ready for the client, in upstream order: whole events and comments. The caller writes
  // and clears them (it may leave them while it cannot write yet; they count against the cap).
  std::string& ready() { return ready_; }

  bool failed() const { return failed_; }
  // Bytes held: the unreleased event bytes, ready() and the parser's buffers.
  std::size_t heldBytes() const { return held_.size() + ready_.size() + parser_.bufferedBytes(); }
  std::size_t maxEventBytes() const { return max_event_bytes_; }

 private:
  bool fail();

  std::size_t max_event_bytes_;
  SseParser parser_;
  std::string held_;              // fed bytes after the last settled point
  std::uint64_t held_start_ = 0;  // stream offset of held_[0]
  std::string ready_;
  bool failed_ = false;
};

}  // namespace cosp::worker
