#include "worker/sse/sse_relay.h"

namespace cosp::worker {

SseRelay::SseRelay(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes), parser_(max_event_bytes) {}

bool SseRelay::fail() {
  failed_ = true;
  // Give the memory back now: the stream is over, the handler may still be writing an error.
  // Whole events already released stay for the client, then the caller's error event.
  std::string().swap(held_);
  if (ready_.size() > max_event_bytes_) std::string().swap(ready_);
  return false;
}

bool SseRelay::feed(std::string_view bytes, const SseParser::Callback& on_event) {
  if (failed_) return false;
  const bool parsed = parser_.feed(bytes, on_event);
  // held_ + bytes is the stream from held_start_ on; everything up to the settled point goes.
  const auto release = static_cast<std::size_t>(parser_.settledBytes() - held_start_);
  if (release >= held_.size()) {
    const std::size_t from_bytes = release - held_.size();
    if (ready_.empty())
      ready_.swap(held_);
    else
      ready_ += held_;
    held_.clear();
    ready_.append(bytes.substr(0, from_bytes));
    held_.append(bytes.substr(from_bytes));
  } else {
    ready_.append(held_, 0, release);
    held_.erase(0, release);
    held_.append(bytes);
  }
  held_start_ += release;
  if (!parsed || held_.size() + ready_.size() > max_event_bytes_) return fail();
  return true;
}

void SseRelay::finish(const SseParser::Callback& on_event) {
  bool dispatched = false;
  parser_.finish([&](SseEvent&& event) {
    dispatched = true;
    if (on_event) on_event(std::move(event));
  });
  if (!failed_ && dispatched) {
    ready_ += held_;
    ready_ += "\n\n";
  }
  std::string().swap(held_);
  held_start_ = 0;
}

}  // namespace cosp::worker
