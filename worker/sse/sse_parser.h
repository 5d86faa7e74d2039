#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cosp::worker {

// One Server-Sent Event. `event` is empty when the stream gave no "event:" field
// (the WHATWG default type "message" is left to the consumer: a proxy relays what
// it saw). `id` is the id field of this event, empty if none.
struct SseEvent {
  std::string event;
  std::string data;  // "data:" lines joined with '\n', without the final newline
  std::string id;
};

// Incremental SSE parser (WHATWG "event stream interpretation") over byte chunks
// of any size: lines end in LF, CRLF or CR (also when the CR and LF arrive in
// different chunks); "data:" lines accumulate; ":" lines are comments; one
// leading space after the colon is stripped; a line without a colon is a field
// with an empty value; unknown fields and "retry" are ignored; an event is
// dispatched at a blank line when it has at least one data line.
//
// Memory is bounded: when one event (its data, or a single unterminated line)
// grows past max_event_bytes the parser enters the error state, drops its
// buffers and ignores further input. Not thread-safe; one parser per stream.
class SseParser {
 public:
  using Callback = std::function<void(SseEvent&&)>;

  static constexpr std::size_t kDefaultMaxEventBytes = 64u * 1024u * 1024u;

  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes);

  // Parses bytes; on_event is called for every complete event, in order.
  // Returns false once the parser is in the error state.
  bool feed(std::string_view bytes, const Callback& on_event);

  // End of stream: a final line without terminator is processed, and an event
  // still pending (no trailing blank line) is dispatched. The parser is then
  // reset for reuse.
  void finish(const Callback& on_event);

  bool failed() const { return failed_; }
  // Bytes held for the event being built (partial line + accumulated data).
  std::size_t bufferedBytes() const { return line_.size() + data_.size(); }
  std::size_t maxEventBytes() const { return max_event_bytes_; }
  // Bytes fed since construction or the last reset.
  std::uint64_t fedBytes() const { return fed_; }
  // How many of the fed bytes end at a settled point: the end of a line after which no event is
  // being built (a blank line, or a comment or other field-less line between events). A relay
  // that forwards raw bytes up to here never leaves its client inside an event (sse_relay.h).
  std::uint64_t settledBytes() const { return settled_; }

  void reset();

 private:
  void processLine(std::string_view line, const Callback& on_event);
  void dispatch(const Callback& on_event);
  void fail();

  std::size_t max_event_bytes_;
  std::string line_;  // partial line carried between chunks
  std::string data_;  // accumulated data lines, each followed by '\n'
  std::string event_;
  std::string id_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // last chunk ended in CR: a leading LF belongs to it
  bool failed_ = false;
  std::uint64_t fed_ = 0;
  std::uint64_t settled_ = 0;

  bool buildingEvent() const { return has_data_ || !event_.empty() || !id_.empty(); }
};

}  // namespace cosp::worker
