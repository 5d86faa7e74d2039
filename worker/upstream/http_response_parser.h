#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/result.h"
#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

// Pure, incremental HTTP/1.1 response parsing for the upstream client. We own
// this instead of using POCO's HTTPClientSession because its chunked istream
// loses parser state when a receive timeout fires mid chunk-header, which makes
// short wait slices (client-disconnect checks) impossible (docs/ARCHITECTURE.md §6.14).

constexpr std::size_t kMaxResponseHeadBytes = 64 * 1024;

// Length of the head including its terminating blank line ("\r\n\r\n", or a bare
// "\n\n" from sloppy servers), or nullopt while incomplete.
std::optional<std::size_t> findHeadEnd(std::string_view buffer);

// Parses a complete head (status line + header lines + blank line). Rejects
// anything that is not HTTP/1.x, a status outside 100..599, obs-fold
// continuation lines and header lines without a colon.
common::Result<UpstreamResponseHead, std::string> parseResponseHead(std::string_view head);

struct BodyFraming {
  enum class Kind { None, Length, Chunked, UntilClose };
  Kind kind = Kind::None;
  std::uint64_t length = 0;  // Kind::Length
};

// RFC 9112 §6.3: HEAD, 1xx, 204 and 304 have no body; chunked wins over
// Content-Length; conflicting Content-Length values are an error; otherwise the
// body runs until the server closes.
common::Result<BodyFraming, std::string> bodyFramingFor(std::string_view request_method,
                                                        const UpstreamResponseHead& head);

// False when the server announced it will close (Connection: close) or spoke
// HTTP/1.0 without "Connection: keep-alive".
bool responseAllowsReuse(const UpstreamResponseHead& head);

enum class DecodeStatus { NeedMore, Done, Error };

// Transfer-Encoding: chunked, fed arbitrary byte splits.
class ChunkedDecoder {
 public:
  // Consumes a prefix of `in` (reported in `consumed`) and appends decoded
  // payload to `out`. Never consumes bytes after the final CRLF, so a following
  // response on the same connection stays in the caller's buffer.
  DecodeStatus feed(std::string_view in, std::size_t& consumed, std::string& out);
  bool done() const { return state_ == State::Done; }
  const std::string& error() const { return error_; }

 private:
  enum class State { SizeLine, Data, DataEnd, Trailer, Done, Error };
  DecodeStatus fail(std::string message);
  // Accumulates one line into line_; true when a full line is available.
  bool takeLine(std::string_view in, std::size_t& pos);

  State state_ = State::SizeLine;
  std::uint64_t remaining_ = 0;
  std::string line_;
  bool line_complete_ = false;
  std::size_t trailer_bytes_ = 0;  // trailer section bytes so far, over every feed()
  std::string error_;
};

// Any of the framings, behind one interface.
class BodyDecoder {
 public:
  explicit BodyDecoder(BodyFraming framing);
  DecodeStatus feed(std::string_view in, std::size_t& consumed, std::string& out);
  // The peer closed the connection: Done for close-delimited bodies, else Error.
  DecodeStatus onEof();
  bool done() const { return done_; }
  const BodyFraming& framing() const { return framing_; }
  const std::string& error() const { return error_; }

 private:
  BodyFraming framing_;
  std::uint64_t remaining_ = 0;
  ChunkedDecoder chunked_;
  bool done_ = false;
  std::string error_;
};

}  // namespace cosp::worker
