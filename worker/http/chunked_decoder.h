#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cosp::worker {

// Incremental, strict decoder of a chunked request body (RFC 9112 §7.1), fed in pieces of any
// size. Refused, each with a reason: a chunk size that is not 1-16 hex digits, white space in
// it, a size line or trailer line not ended by CRLF, chunk data not followed by CRLF, control
// bytes in extensions or trailers, and extensions or trailers beyond their limits. POCO 1.11's
// chunked stream read a malformed size as the end of the body, which let the rest of the body be
// read as a second request.
class RequestChunkDecoder {
 public:
  enum class Status { NeedMore, Done, Invalid };

  static constexpr std::size_t kMaxLineBytes = 4096;      // a size line with its extensions
  static constexpr std::size_t kMaxTrailerBytes = 16384;  // the whole trailer section

  // Decodes from `in`, appending chunk data to `out`. `consumed` is how many bytes of `in` were
  // used: all of them unless the body ended (Done: the rest belongs to the next request).
  Status decode(std::string_view in, std::size_t& consumed, std::string& out);

  bool done() const { return state_ == State::Done; }
  const std::string& error() const { return error_; }

 private:
  enum class State { SizeLine, Data, DataCr, DataLf, Trailer, Done, Invalid };
  Status fail(std::string why);
  Status finishLine(std::string_view line);
  Status finishTrailerLine(std::string_view line);

  State state_ = State::SizeLine;
  std::string line_;        // the size or trailer line being collected
  uint64_t remaining_ = 0;  // bytes of chunk data still to come
  std::size_t trailer_bytes_ = 0;
  std::string error_;
};

}  // namespace cosp::worker
