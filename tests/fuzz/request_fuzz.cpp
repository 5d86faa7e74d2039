// Client request framing: the strict request-head parser (worker/http/request_head.h) and the
// chunked request-body decoder (worker/http/chunked_decoder.h), fed in fuzzer-chosen pieces
// (fuzz_split.h) the way a connection receives them: the head is re-parsed over the bytes so
// far, the body decoder gets each new piece.
//
// Invariants:
//  - along growing prefixes a head is Incomplete until it becomes Complete or Invalid, and then
//    stays exactly that (same consumed, head, error); consumed never exceeds the input or the limit;
//  - a Complete head is clean (token method and names, trimmed legal values, origin-form or "*"
//    target, HTTP/1.0 or 1.1, one Host on 1.1, consistent framing) and, written back out, parses
//    to the same head; tighter limits only ever turn Complete into 431, never into another head;
//  - the chunk decoder never consumes more than given, does not depend on the split, stops right
//    after the body (the rest is the next request), and a Done body is well formed: every size
//    line and the trailer section within their limits, and the output exactly the chunk data.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/http_syntax.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_split.h"
#include "worker/http/chunked_decoder.h"
#include "worker/http/request_head.h"

namespace {

using cosp::worker::HeadLimits;
using cosp::worker::HeadParse;
using cosp::worker::RequestChunkDecoder;
using cosp::worker::RequestFraming;
using cosp::worker::RequestHead;

bool sameHead(const RequestHead& a, const RequestHead& b) {
  return a.method == b.method && a.target == b.target && a.minor_version == b.minor_version && a.headers == b.headers &&
         a.framing == b.framing && a.content_length == b.content_length && a.keep_alive == b.keep_alive &&
         a.expect_continue == b.expect_continue;
}

bool sameParse(const HeadParse& a, const HeadParse& b) {
  if (a.status != b.status) return false;
  if (a.status == HeadParse::Status::Invalid) return a.error_status == b.error_status && a.error == b.error;
  if (a.status == HeadParse::Status::Complete) return a.consumed == b.consumed && sameHead(a.head, b.head);
  return true;
}

bool isTrimmedValue(std::string_view v) {
  if (!cosp::common::isFieldValue(v)) return false;
  return v.empty() || (v.front() != ' ' && v.front() != '\t' && v.back() != ' ' && v.back() != '\t');
}

void checkCompleteHead(const HeadParse& p, std::string_view bytes, const HeadLimits& limits) {
  const RequestHead& h = p.head;
  FUZZ_CHECK(p.consumed <= bytes.size() && p.consumed <= limits.max_head_bytes);
  FUZZ_CHECK(bytes.substr(0, p.consumed).ends_with("\r\n\r\n"));
  FUZZ_CHECK(cosp::common::isToken(h.method));
  FUZZ_CHECK(h.target == "*" || h.target.starts_with("/"));
  FUZZ_CHECK(h.minor_version == 0 || h.minor_version == 1);
  FUZZ_CHECK(h.headers.size() <= limits.max_headers);
  int hosts = 0;
  for (const auto& [name, value] : h.headers) {
    FUZZ_CHECK(cosp::common::isToken(name));
    FUZZ_CHECK(isTrimmedValue(value));
    if (name.size() == 4 && (name[0] | 0x20) == 'h' && (name[1] | 0x20) == 'o' && (name[2] | 0x20) == 's' &&
        (name[3] | 0x20) == 't') {
      ++hosts;
    }
  }
  FUZZ_CHECK(h.minor_version == 0 ? hosts <= 1 : hosts == 1);
  FUZZ_CHECK(h.framing != RequestFraming::Chunked || (h.minor_version == 1 && h.header("transfer-encoding")));
  FUZZ_CHECK((h.framing == RequestFraming::Length) == (h.content_length > 0));
  FUZZ_CHECK(!h.expect_continue || h.framing != RequestFraming::None);

  // Written back out, the head means the same (an absolute-form target stays reduced).
  std::string text = h.method + " " + h.target + " HTTP/1." + std::to_string(h.minor_version) + "\r\n";
  for (const auto& [name, value] : h.headers) text += name + ": " + value + "\r\n";
  text += "\r\n";
  const HeadParse again = cosp::worker::parseRequestHead(text);
  FUZZ_CHECK(again.status == HeadParse::Status::Complete && again.consumed == text.size());
  FUZZ_CHECK(sameHead(again.head, h));
}

// Re-parses the growing buffer at every piece boundary, as a connection does.
HeadParse parseAsReceived(const std::vector<std::string_view>& pieces, std::string_view payload,
                          const HeadLimits& limits) {
  HeadParse settled;
  std::size_t seen = 0;
  for (std::string_view piece : pieces) {
    seen += piece.size();
    const std::string_view bytes = payload.substr(0, seen);
    HeadParse p = cosp::worker::parseRequestHead(bytes, limits);
    if (p.status == HeadParse::Status::Complete) checkCompleteHead(p, bytes, limits);
    if (p.status == HeadParse::Status::Invalid) FUZZ_CHECK(p.error_status >= 400 && !p.error.empty());
    if (settled.status != HeadParse::Status::Incomplete) {
      FUZZ_CHECK(sameParse(p, settled));  // a verdict never changes with more bytes
    }
    settled = std::move(p);
  }
  return settled;
}

struct Decoded {
  RequestChunkDecoder::Status status = RequestChunkDecoder::Status::NeedMore;
  std::string body;
  std::size_t consumed = 0;
};

Decoded decodeChunks(const std::vector<std::string_view>& pieces) {
  RequestChunkDecoder decoder;
  Decoded out;
  for (std::string_view piece : pieces) {
    std::size_t consumed = 0;
    out.status = decoder.decode(piece, consumed, out.body);
    FUZZ_CHECK(consumed <= piece.size());
    out.consumed += consumed;
    if (out.status == RequestChunkDecoder::Status::NeedMore) FUZZ_CHECK(consumed == piece.size());
    if (out.status != RequestChunkDecoder::Status::NeedMore) break;
  }
  FUZZ_CHECK(decoder.done() == (out.status == RequestChunkDecoder::Status::Done));
  FUZZ_CHECK((out.status == RequestChunkDecoder::Status::Invalid) == !decoder.error().empty());
  if (out.status == RequestChunkDecoder::Status::Done) {
    std::size_t consumed = 1;
    std::string more;
    FUZZ_CHECK(decoder.decode("0\r\n\r\n", consumed, more) == RequestChunkDecoder::Status::Done);
    FUZZ_CHECK(consumed == 0 && more.empty());
  }
  return out;
}

std::size_t hexPrefix(std::string_view line, std::uint64_t& size) {
  std::size_t i = 0;
  size = 0;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
    if (d < 0) break;
    size = size * 16 + static_cast<std::uint64_t>(d);
  }
  return i;
}

// A body the decoder called Done, walked independently: its structure and limits hold, and the
// decoded output is exactly its chunk data.
void checkDoneBody(std::string_view body, const std::string& decoded) {
  std::string data;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t eol = body.find("\r\n", pos);
    FUZZ_CHECK(eol != std::string_view::npos);
    const std::string_view line = body.substr(pos, eol - pos);
    FUZZ_CHECK(line.size() <= RequestChunkDecoder::kMaxLineBytes);
    std::uint64_t size = 0;
    const std::size_t digits = hexPrefix(line, size);
    FUZZ_CHECK(digits >= 1 && digits <= 16);
    pos = eol + 2;
    if (size == 0) break;
    FUZZ_CHECK(size <= body.size() - pos);
    data.append(body.substr(pos, size));
    pos += size;
    FUZZ_CHECK(body.substr(pos, 2) == "\r\n");
    pos += 2;
  }
  const std::size_t trailer_start = pos;
  for (;;) {
    const std::size_t eol = body.find("\r\n", pos);
    FUZZ_CHECK(eol != std::string_view::npos);
    const bool last = eol == pos;
    if (last) FUZZ_CHECK(pos - trailer_start <= RequestChunkDecoder::kMaxTrailerBytes);
    pos = eol + 2;
    if (last) break;
  }
  FUZZ_CHECK(pos == body.size());
  FUZZ_CHECK(data == decoded);
}

void checkChunked(const std::vector<std::string_view>& pieces, std::string_view payload) {
  const Decoded split = decodeChunks(pieces);
  const Decoded whole = decodeChunks({payload});
  FUZZ_CHECK(split.status == whole.status && split.body == whole.body);
  if (whole.status != RequestChunkDecoder::Status::Invalid) FUZZ_CHECK(split.consumed == whole.consumed);
  if (whole.status == RequestChunkDecoder::Status::Done) checkDoneBody(payload.substr(0, whole.consumed), whole.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cosp::fuzz::SplitInput in = cosp::fuzz::splitInput(data, size);

  // The chunk decoder straight on the payload, so it need not wait for a valid head.
  checkChunked(in.pieces, in.payload);

  const HeadLimits limits;
  const HeadParse head = parseAsReceived(in.pieces, in.payload, limits);
  FUZZ_CHECK(sameParse(head, cosp::worker::parseRequestHead(in.payload, limits)));
  // Tight limits refuse more (431), but never read a different head.
  HeadLimits tight;
  tight.max_head_bytes = 200;
  tight.max_headers = 3;
  const HeadParse small = cosp::worker::parseRequestHead(in.payload, tight);
  if (small.status == HeadParse::Status::Complete) FUZZ_CHECK(sameParse(small, head));
  if (small.status == HeadParse::Status::Invalid && small.error_status != 431) FUZZ_CHECK(sameParse(small, head));

  if (head.status == HeadParse::Status::Complete && head.head.framing == RequestFraming::Chunked) {
    const std::string_view body = in.payload.substr(head.consumed);
    checkChunked(cosp::fuzz::piecesFrom(in.pieces, head.consumed), body);
  }
  return 0;
}
