// Upstream stream path: SSE parser -> chat chunk mapper and response collector.
//
// The payload is fed to the parser in fuzzer-chosen pieces (fuzz_split.h), then finish(). The
// header's bits 4-7 choose the mapper options: bits 4-5 REASONING_COMPAT (none, reasoning_content,
// think-tags), bit 6 include_usage, bit 7 json_output.
//
// Invariants:
//  - the events (and the parser's error state) do not depend on how the bytes were split, also
//    with a small max_event_bytes that makes the memory cap trip;
//  - event fields hold no line terminators (and an id no NUL);
//  - the mapper, after the end-of-stream call, produced a well-formed chat stream
//    (stream_checks.h), and the collector either completed with valid response / chat completion
//    JSON or failed with a valid error.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_split.h"
#include "tests/fuzz/stream_checks.h"
#include "worker/sse/sse_parser.h"

namespace {

using cosp::worker::SseEvent;
using cosp::worker::SseParser;

struct Parsed {
  std::vector<SseEvent> events;
  bool failed = false;
};

Parsed parse(const std::vector<std::string_view>& pieces, std::size_t max_event_bytes) {
  Parsed out;
  SseParser parser(max_event_bytes);
  const SseParser::Callback collect = [&](SseEvent&& ev) { out.events.push_back(std::move(ev)); };
  for (std::string_view piece : pieces) {
    const bool ok = parser.feed(piece, collect);
    FUZZ_CHECK(ok == !parser.failed());
    FUZZ_CHECK(parser.bufferedBytes() <= max_event_bytes);
  }
  out.failed = parser.failed();
  parser.finish(collect);
  FUZZ_CHECK(!parser.failed() && parser.bufferedBytes() == 0);  // finish() resets
  return out;
}

bool sameEvents(const Parsed& a, const Parsed& b) {
  if (a.failed != b.failed || a.events.size() != b.events.size()) return false;
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const SseEvent& x = a.events[i];
    const SseEvent& y = b.events[i];
    if (x.event != y.event || x.data != y.data || x.id != y.id) return false;
  }
  return true;
}

void checkEventFields(const SseEvent& ev) {
  FUZZ_CHECK(ev.data.find('\r') == std::string::npos);
  FUZZ_CHECK(ev.event.find_first_of("\r\n") == std::string::npos);
  FUZZ_CHECK(ev.id.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cosp::fuzz::SplitInput in = cosp::fuzz::splitInput(data, size);
  const std::vector<std::string_view> whole = {in.payload};

  const Parsed split = parse(in.pieces, SseParser::kDefaultMaxEventBytes);
  FUZZ_CHECK(sameEvents(split, parse(whole, SseParser::kDefaultMaxEventBytes)));
  FUZZ_CHECK(!split.failed);
  for (const SseEvent& ev : split.events) checkEventFields(ev);
  // A tight cap: failing must not depend on the split either.
  FUZZ_CHECK(sameEvents(parse(in.pieces, 256), parse(whole, 256)));

  const std::uint8_t header = data[0];
  cosp::worker::ChatStreamOptions options;
  options.id = "chatcmpl-fuzz";
  options.created = 1761300000;
  options.model = "gpt-5.5";
  options.reasoning = static_cast<cosp::worker::ReasoningCompat>(((header >> 4) & 3u) % 3u);
  options.include_usage = (header & 0x40u) != 0;
  options.json_output = (header & 0x80u) != 0;

  cosp::worker::ChatStreamMapper mapper(options);
  cosp::worker::ResponseCollector collector;
  std::vector<std::string> chunks;
  for (const SseEvent& ev : split.events) {
    mapper.onEvent(ev, chunks);
    collector.onEvent(ev);
  }
  mapper.onUpstreamEnd(chunks);
  collector.onUpstreamEnd();
  cosp::fuzz::checkChatStream(mapper, options, chunks);
  cosp::fuzz::checkCollector(collector, options.reasoning, options.json_output);
  return 0;
}
