#include "worker/http/chunked_decoder.h"

#include <algorithm>

#include "common/util/http_syntax.h"

namespace cosp::worker {

namespace {

using common::hexDigitValue;
using common::isFieldValue;
using common::isToken;

}  // namespace

RequestChunkDecoder::Status RequestChunkDecoder::fail(std::string why) {
  state_ = State::Invalid;
  error_ = std::move(why);
  line_.clear();
  return Status::Invalid;
}

// "1a;ext=val" without its CRLF.
RequestChunkDecoder::Status RequestChunkDecoder::finishLine(std::string_view line) {
  std::size_t digits = 0;
  uint64_t size = 0;
  while (digits < line.size() && hexDigitValue(line[digits]) >= 0) {
    if (digits == 16) return fail("chunk size too large");
    size = size * 16 + static_cast<uint64_t>(hexDigitValue(line[digits]));
    ++digits;
  }
  if (digits == 0) return fail("malformed chunk size");
  std::string_view rest = line.substr(digits);
  // Extensions are ignored, but only well-formed ones: ";" then no control bytes.
  if (!rest.empty() && rest[0] != ';') return fail("malformed chunk size");
  if (!isFieldValue(rest)) return fail("control character in a chunk extension");
  if (size == 0) {
    state_ = State::Trailer;
  } else {
    remaining_ = size;
    state_ = State::Data;
  }
  return Status::NeedMore;
}

RequestChunkDecoder::Status RequestChunkDecoder::finishTrailerLine(std::string_view line) {
  if (line.empty()) {
    state_ = State::Done;
    return Status::Done;
  }
  // Trailer fields are read and dropped: nothing here uses them, and none may change framing.
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !isToken(line.substr(0, colon)) || !isFieldValue(line.substr(colon + 1))) {
    return fail("malformed trailer field");
  }
  return Status::NeedMore;
}

RequestChunkDecoder::Status RequestChunkDecoder::decode(std::string_view in, std::size_t& consumed, std::string& out) {
  consumed = 0;
  while (consumed < in.size()) {
    switch (state_) {
      case State::Done:
        return Status::Done;
      case State::Invalid:
        return Status::Invalid;
      case State::Data: {
        std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(remaining_, in.size() - consumed));
        out.append(in.data() + consumed, n);
        consumed += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::DataCr;
        break;
      }
      case State::DataCr:
        if (in[consumed++] != '\r') return fail("chunk data not followed by CRLF");
        state_ = State::DataLf;
        break;
      case State::DataLf:
        if (in[consumed++] != '\n') return fail("chunk data not followed by CRLF");
        state_ = State::SizeLine;
        break;
      case State::SizeLine:
      case State::Trailer: {
        std::string_view rest = in.substr(consumed);
        std::size_t lf = rest.find('\n');
        std::string_view piece = rest.substr(0, lf == std::string_view::npos ? rest.size() : lf + 1);
        consumed += piece.size();
        const std::size_t limit = state_ == State::SizeLine ? kMaxLineBytes : kMaxTrailerBytes - trailer_bytes_;
        if (line_.size() + piece.size() > limit + 2) {
          return fail(state_ == State::SizeLine ? "chunk size line too long" : "trailer section too large");
        }
        line_.append(piece);
        if (lf == std::string_view::npos) break;
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') return fail("line not ended by CRLF");
        std::string line = std::move(line_);
        line_.clear();
        line.resize(line.size() - 2);
        if (line.find('\r') != std::string::npos) return fail("bare CR in a chunk line");
        Status s;
        if (state_ == State::SizeLine) {
          s = finishLine(line);
        } else {
          trailer_bytes_ += line.size() + 2;
          s = finishTrailerLine(line);
        }
        if (s != Status::NeedMore) return s;
        break;
      }
    }
  }
  if (state_ == State::Done) return Status::Done;
  if (state_ == State::Invalid) return Status::Invalid;
  return Status::NeedMore;
}

}  // namespace cosp::worker
