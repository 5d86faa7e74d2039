// Upstream HTTP/1.1 response parsing (worker/upstream/http_response_parser.h), fed in
// fuzzer-chosen pieces (fuzz_split.h) the way the upstream client reads a socket: bytes are
// appended to a buffer, the parser consumes a prefix, the rest waits for more.
//
// Invariants:
//  - findHeadEnd never points past its input, and finds the same end in every prefix that holds it;
//  - an accepted head has a status in 100..599, token header names and trimmed values, and writing
//    it back out (status line, "name: value" lines) re-parses to the same head;
//  - a decoder never consumes more than it was given; decoding does not depend on the split
//    (same status, same body, same bytes consumed); a Content-Length body is exactly that long;
//    after Done, feeding more consumes nothing;
//  - the same holds for the chunked decoder on the raw payload (no head needed to reach it).

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_split.h"
#include "worker/upstream/http_response_parser.h"

namespace {

using cosp::worker::BodyDecoder;
using cosp::worker::BodyFraming;
using cosp::worker::ChunkedDecoder;
using cosp::worker::DecodeStatus;
using cosp::worker::UpstreamResponseHead;

struct Decoded {
  DecodeStatus status = DecodeStatus::NeedMore;
  std::string body;
  std::size_t consumed = 0;  // payload bytes the decoder took
};

// Feeds `pieces` through `feed` like the upstream client: unconsumed bytes stay buffered and are
// offered again with the next piece. Stops at Done or Error.
template <typename Feed>
Decoded decode(const std::vector<std::string_view>& pieces, Feed&& feed) {
  Decoded out;
  std::string buffer;
  for (std::string_view piece : pieces) {
    buffer.append(piece);
    std::size_t consumed = 0;
    out.status = feed(std::string_view(buffer), consumed, out.body);
    FUZZ_CHECK(consumed <= buffer.size());
    out.consumed += consumed;
    buffer.erase(0, consumed);
    if (out.status != DecodeStatus::NeedMore) break;
  }
  if (out.status == DecodeStatus::Done) {
    // Done is final: nothing more is taken, even when offered.
    std::size_t consumed = 0;
    FUZZ_CHECK(feed(std::string_view("0\r\n\r\n"), consumed, out.body) == DecodeStatus::Done);
    FUZZ_CHECK(consumed == 0);
  }
  return out;
}

// After an Error the connection is closed, so what was consumed no longer matters (the decoders do
// not report it then).
bool sameDecode(const Decoded& a, const Decoded& b) {
  return a.status == b.status && a.body == b.body && (a.status == DecodeStatus::Error || a.consumed == b.consumed);
}

Decoded decodeChunked(const std::vector<std::string_view>& pieces) {
  ChunkedDecoder decoder;
  Decoded out = decode(pieces, [&](std::string_view in, std::size_t& consumed, std::string& body) {
    return decoder.feed(in, consumed, body);
  });
  FUZZ_CHECK(decoder.done() == (out.status == DecodeStatus::Done));
  FUZZ_CHECK((out.status == DecodeStatus::Error) == !decoder.error().empty());
  return out;
}

Decoded decodeBody(const BodyFraming& framing, const std::vector<std::string_view>& pieces) {
  BodyDecoder decoder(framing);
  Decoded out = decode(pieces, [&](std::string_view in, std::size_t& consumed, std::string& body) {
    return decoder.feed(in, consumed, body);
  });
  if (out.status == DecodeStatus::NeedMore) out.status = decoder.onEof();
  FUZZ_CHECK(decoder.done() == (out.status == DecodeStatus::Done));
  if (framing.kind == BodyFraming::Kind::Length && out.status == DecodeStatus::Done) {
    FUZZ_CHECK(out.body.size() == framing.length);
  }
  if (framing.kind == BodyFraming::Kind::None) FUZZ_CHECK(out.status == DecodeStatus::Done && out.body.empty());
  return out;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

void checkHead(const UpstreamResponseHead& head) {
  FUZZ_CHECK(head.status >= 100 && head.status <= 599);
  FUZZ_CHECK(head.http_minor >= 0 && head.http_minor <= 9);
  for (const auto& [name, value] : head.headers) {
    FUZZ_CHECK(isToken(name));
    if (!value.empty()) {
      FUZZ_CHECK(value.front() != ' ' && value.front() != '\t');
      FUZZ_CHECK(value.back() != ' ' && value.back() != '\t' && value.back() != '\r');
    }
  }
  std::string text =
      "HTTP/1." + std::to_string(head.http_minor) + " " + std::to_string(head.status) + " " + head.reason;
  text += "\r\n";
  for (const auto& [name, value] : head.headers) text += name + ": " + value + "\r\n";
  text += "\r\n";
  FUZZ_CHECK(cosp::worker::findHeadEnd(text) == text.size());
  const auto again = cosp::worker::parseResponseHead(text);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value().status == head.status && again.value().http_minor == head.http_minor);
  FUZZ_CHECK(again.value().reason == head.reason && again.value().headers == head.headers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cosp::fuzz::SplitInput in = cosp::fuzz::splitInput(data, size);
  const std::vector<std::string_view> whole = {in.payload};

  // The chunked decoder straight on the payload.
  FUZZ_CHECK(sameDecode(decodeChunked(in.pieces), decodeChunked(whole)));

  // The head, found as the pieces arrive.
  const std::optional<std::size_t> head_end = cosp::worker::findHeadEnd(in.payload);
  FUZZ_CHECK(!head_end || *head_end <= in.payload.size());
  std::size_t seen = 0;
  for (std::string_view piece : in.pieces) {
    seen += piece.size();
    const auto end = cosp::worker::findHeadEnd(in.payload.substr(0, seen));
    FUZZ_CHECK(end == (head_end && *head_end <= seen ? head_end : std::nullopt));
  }
  if (!head_end) return 0;
  const auto head = cosp::worker::parseResponseHead(in.payload.substr(0, *head_end));
  if (!head.ok()) {
    FUZZ_CHECK(!head.error().empty());
    return 0;
  }
  checkHead(head.value());
  cosp::worker::responseAllowsReuse(head.value());

  const std::vector<std::string_view> body_pieces = cosp::fuzz::piecesFrom(in.pieces, *head_end);
  const std::vector<std::string_view> body_whole = {in.payload.substr(*head_end)};
  for (std::string_view method : {"POST", "HEAD"}) {
    const auto framing = cosp::worker::bodyFramingFor(method, head.value());
    if (!framing.ok()) continue;
    FUZZ_CHECK(sameDecode(decodeBody(framing.value(), body_pieces), decodeBody(framing.value(), body_whole)));
  }
  return 0;
}
