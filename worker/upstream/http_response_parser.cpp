#include "worker/upstream/http_response_parser.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/util/http_syntax.h"

namespace cosp::worker {

namespace {

constexpr std::size_t kMaxChunkLine = 8 * 1024;
constexpr std::size_t kMaxTrailerBytes = 16 * 1024;

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` contains `token` (case-insensitive).
bool listContains(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = trimOws(value.substr(0, comma));
    if (headerNameEquals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// The size of a chunk size line (CRLF already gone): hex digits, optional whitespace, and
// extensions after ';', which are ignored.
std::optional<std::uint64_t> parseChunkSize(std::string_view l) {
  if (const auto semi = l.find(';'); semi != std::string_view::npos) l = l.substr(0, semi);  // extensions
  l = trimOws(l);
  if (l.empty() || l.size() > 15) return std::nullopt;
  std::uint64_t size = 0;
  for (char c : l) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    size = size * 16 + static_cast<std::uint64_t>(d);
  }
  return size;
}

}  // namespace

std::optional<std::size_t> findHeadEnd(std::string_view buffer) {
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    if (buffer[i] != '\n') continue;
    if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return i + 2;
    if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return i + 3;
  }
  return std::nullopt;
}

common::Result<UpstreamResponseHead, std::string> parseResponseHead(std::string_view head) {
  UpstreamResponseHead out;
  std::size_t pos = 0;
  auto nextLine = [&](std::string_view& line) {
    if (pos >= head.size()) return false;
    const auto nl = head.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? head.size() : nl;
    line = head.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    return true;
  };

  std::string_view line;
  if (!nextLine(line)) return std::string("empty response head");
  // "HTTP/1.1 200 OK" — the reason phrase may be empty or absent.
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !std::isdigit(static_cast<unsigned char>(line[7])) ||
      line[8] != ' ') {
    return std::string("malformed status line (not HTTP/1.x)");
  }
  out.http_minor = line[7] - '0';
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[static_cast<std::size_t>(i)]))) {
      return std::string("malformed status code");
    }
    status = status * 10 + (line[static_cast<std::size_t>(i)] - '0');
  }
  if (status < 100 || status > 599) return std::string("status code out of range");
  if (line.size() > 12 && line[12] != ' ') return std::string("malformed status line");
  out.status = status;
  out.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view{});

  while (nextLine(line)) {
    if (line.empty()) break;  // the blank line ending the head
    if (line.front() == ' ' || line.front() == '\t') {
      return std::string("obsolete header line folding is not supported");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::string("malformed header line");
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!common::isTokenChar(static_cast<unsigned char>(c))) return std::string("invalid character in header name");
    }
    out.headers.emplace_back(std::string(name), std::string(trimOws(line.substr(colon + 1))));
  }
  return out;
}

common::Result<BodyFraming, std::string> bodyFramingFor(std::string_view request_method,
                                                        const UpstreamResponseHead& head) {
  BodyFraming f;
  if (headerNameEquals(request_method, "HEAD") || (head.status >= 100 && head.status < 200) || head.status == 204 ||
      head.status == 304) {
    f.kind = BodyFraming::Kind::None;
    return f;
  }
  const auto te = head.headerValues("Transfer-Encoding");
  if (!te.empty()) {
    // Only "chunked" as the final coding gives a self-delimited body; anything else
    // (e.g. "gzip" alone) runs until close (RFC 9112 §6.3 item 4).
    std::string_view last = te.back();
    const auto comma = last.rfind(',');
    if (comma != std::string_view::npos) last = last.substr(comma + 1);
    if (headerNameEquals(trimOws(last), "chunked")) {
      f.kind = BodyFraming::Kind::Chunked;
    } else {
      f.kind = BodyFraming::Kind::UntilClose;
    }
    return f;
  }
  const auto cl = head.headerValues("Content-Length");
  if (!cl.empty()) {
    std::optional<std::uint64_t> value;
    for (const std::string& v : cl) {
      // "Content-Length: 5, 5" is legal (repeated identical values).
      std::string_view rest = v;
      while (true) {
        const auto comma = rest.find(',');
        std::string_view item = trimOws(rest.substr(0, comma));
        if (item.empty() || item.size() > 18) return std::string("invalid Content-Length");
        std::uint64_t n = 0;
        for (char c : item) {
          if (!std::isdigit(static_cast<unsigned char>(c))) return std::string("invalid Content-Length");
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (value && *value != n) return std::string("conflicting Content-Length values");
        value = n;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    f.kind = *value == 0 ? BodyFraming::Kind::None : BodyFraming::Kind::Length;
    f.length = *value;
    return f;
  }
  f.kind = BodyFraming::Kind::UntilClose;
  return f;
}

bool responseAllowsReuse(const UpstreamResponseHead& head) {
  for (const std::string& v : head.headerValues("Connection")) {
    if (listContains(v, "close")) return false;
  }
  if (head.http_minor == 0) {
    for (const std::string& v : head.headerValues("Connection")) {
      if (listContains(v, "keep-alive")) return true;
    }
    return false;
  }
  return true;
}

DecodeStatus ChunkedDecoder::fail(std::string message) {
  state_ = State::Error;
  error_ = std::move(message);
  return DecodeStatus::Error;
}

bool ChunkedDecoder::takeLine(std::string_view in, std::size_t& pos) {
  if (line_complete_) {
    line_.clear();
    line_complete_ = false;
  }
  const auto nl = in.find('\n', pos);
  if (nl == std::string_view::npos) {
    line_.append(in.substr(pos));
    pos = in.size();
    return false;
  }
  line_.append(in.substr(pos, nl - pos));
  pos = nl + 1;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  line_complete_ = true;
  return true;
}

DecodeStatus ChunkedDecoder::feed(std::string_view in, std::size_t& consumed, std::string& out) {
  std::size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::Done:
        consumed = pos;
        return DecodeStatus::Done;
      case State::Error:
        consumed = pos;
        return DecodeStatus::Error;
      case State::SizeLine: {
        // The same cap whether the line arrived in one read or in many: a partial line may still
        // hold the CR of its CRLF, which a complete line has dropped.
        if (!takeLine(in, pos)) {
          consumed = pos;
          if (line_.size() > kMaxChunkLine + 1) return fail("chunk size line too long");
          return DecodeStatus::NeedMore;
        }
        if (line_.size() > kMaxChunkLine) return fail("chunk size line too long");
        const auto size = parseChunkSize(line_);
        if (!size) return fail("invalid chunk size");
        remaining_ = *size;
        state_ = *size == 0 ? State::Trailer : State::Data;
        break;
      }
      case State::Data: {
        const std::size_t avail = in.size() - pos;
        if (avail == 0) {
          consumed = pos;
          return DecodeStatus::NeedMore;
        }
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, avail));
        out.append(in.substr(pos, take));
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::DataEnd;
        break;
      }
      case State::DataEnd: {
        if (!takeLine(in, pos)) {
          consumed = pos;
          if (!line_.empty() && line_ != "\r") return fail("missing CRLF after chunk data");
          return DecodeStatus::NeedMore;
        }
        if (!line_.empty()) return fail("missing CRLF after chunk data");
        state_ = State::SizeLine;
        break;
      }
      case State::Trailer: {
        // Counted across feed() calls, so a trailer sent in many small reads hits the cap too.
        const std::size_t before = pos;
        const bool complete = takeLine(in, pos);
        trailer_bytes_ += pos - before;
        if (trailer_bytes_ > kMaxTrailerBytes) return fail("trailer section too long");
        if (!complete) {
          consumed = pos;
          return DecodeStatus::NeedMore;
        }
        if (line_.empty()) state_ = State::Done;  // trailers are ignored
        break;
      }
    }
  }
}

BodyDecoder::BodyDecoder(BodyFraming framing) : framing_(framing), remaining_(framing.length) {
  done_ = framing_.kind == BodyFraming::Kind::None;
}

DecodeStatus BodyDecoder::feed(std::string_view in, std::size_t& consumed, std::string& out) {
  consumed = 0;
  if (done_) return DecodeStatus::Done;
  if (!error_.empty()) return DecodeStatus::Error;
  switch (framing_.kind) {
    case BodyFraming::Kind::None:
      done_ = true;
      return DecodeStatus::Done;
    case BodyFraming::Kind::Length: {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      out.append(in.substr(0, take));
      consumed = take;
      remaining_ -= take;
      if (remaining_ == 0) {
        done_ = true;
        return DecodeStatus::Done;
      }
      return DecodeStatus::NeedMore;
    }
    case BodyFraming::Kind::Chunked: {
      const DecodeStatus st = chunked_.feed(in, consumed, out);
      if (st == DecodeStatus::Done) done_ = true;
      if (st == DecodeStatus::Error) error_ = chunked_.error();
      return st;
    }
    case BodyFraming::Kind::UntilClose:
      out.append(in);
      consumed = in.size();
      return DecodeStatus::NeedMore;
  }
  return DecodeStatus::Error;
}

DecodeStatus BodyDecoder::onEof() {
  if (done_) return DecodeStatus::Done;
  if (framing_.kind == BodyFraming::Kind::UntilClose) {
    done_ = true;
    return DecodeStatus::Done;
  }
  if (error_.empty()) error_ = "connection closed before the end of the response body";
  return DecodeStatus::Error;
}

}  // namespace cosp::worker
