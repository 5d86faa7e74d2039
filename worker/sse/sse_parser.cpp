#include "worker/sse/sse_parser.h"

#include <cstring>

namespace cosp::worker {

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseParser::reset() {
  line_.clear();
  data_.clear();
  event_.clear();
  id_.clear();
  has_data_ = false;
  skip_lf_ = false;
  failed_ = false;
  fed_ = 0;
  settled_ = 0;
}

void SseParser::fail() {
  failed_ = true;
  // Release the memory now: a hostile upstream must not keep 64 MiB pinned.
  std::string().swap(line_);
  std::string().swap(data_);
  event_.clear();
  id_.clear();
  has_data_ = false;
}

bool SseParser::feed(std::string_view bytes, const Callback& on_event) {
  if (failed_) return false;
  const char* const begin = bytes.data();
  const char* p = begin;
  const char* end = p + bytes.size();
  const std::uint64_t base = fed_;  // stream offset of bytes[0]
  fed_ += bytes.size();
  auto settleAt = [&](const char* at) {
    if (!buildingEvent()) settled_ = base + static_cast<std::uint64_t>(at - begin);
  };
  if (skip_lf_ && p < end) {
    if (*p == '\n') {
      ++p;
      settleAt(p);
    }
    skip_lf_ = false;
  }
  while (p < end) {
    // Find the next CR or LF. memchr twice is faster than a byte loop on long lines.
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* scan_end = lf != nullptr ? lf : end;
    const auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(scan_end - p)));
    const char* eol = cr != nullptr ? cr : lf;
    if (eol == nullptr) {
      // No terminator in this chunk: keep the partial line.
      if (line_.size() + data_.size() + static_cast<std::size_t>(end - p) > max_event_bytes_) {
        fail();
        return false;
      }
      line_.append(p, static_cast<std::size_t>(end - p));
      return true;
    }
    std::string_view line;
    if (line_.empty()) {
      line = std::string_view(p, static_cast<std::size_t>(eol - p));
    } else {
      line_.append(p, static_cast<std::size_t>(eol - p));
      line = line_;
    }
    if (line.size() + data_.size() > max_event_bytes_) {
      fail();
      return false;
    }
    // Consume the terminator: CRLF is one terminator, even across chunks.
    p = eol + 1;
    if (*eol == '\r') {
      if (p < end) {
        if (*p == '\n') ++p;
      } else {
        skip_lf_ = true;
      }
    }
    processLine(line, on_event);
    line_.clear();
    if (failed_) return false;
    settleAt(p);
  }
  return !failed_;
}

void SseParser::processLine(std::string_view line, const Callback& on_event) {
  if (line.empty()) {
    dispatch(on_event);
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alives, the fake's timestamps)
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_) {
      fail();
      return;
    }
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    // WHATWG: an id containing NUL is ignored.
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // "retry" and unknown fields are ignored.
}

void SseParser::dispatch(const Callback& on_event) {
  if (!has_data_) {
    // WHATWG: no data means no event; the type is reset.
    event_.clear();
    id_.clear();
    return;
  }
  SseEvent ev;
  data_.pop_back();  // the final '\n'
  ev.data = std::move(data_);
  ev.event = std::move(event_);
  ev.id = std::move(id_);
  data_.clear();
  event_.clear();
  id_.clear();
  has_data_ = false;
  if (on_event) on_event(std::move(ev));
}

void SseParser::finish(const Callback& on_event) {
  if (!failed_) {
    if (!line_.empty()) {
      const std::string line = std::move(line_);
      line_.clear();
      processLine(line, on_event);
    }
    if (!failed_) dispatch(on_event);
  }
  reset();
}

}  // namespace cosp::worker
