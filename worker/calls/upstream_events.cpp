#include "worker/calls/upstream_events.h"

#include "common/log/log.h"
#include "common/util/strings.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

namespace {

common::ApiError readError(const ReadError& e) {
  if (e.kind == ReadError::Kind::IdleTimeout) return upstreamIdleTimeoutError();
  return upstreamTruncatedError();
}

}  // namespace

UpstreamEvents::UpstreamEvents(std::unique_ptr<UpstreamExchange> upstream, Framing framing, std::size_t max_event_bytes,
                               const std::string& request_id)
    : upstream_(std::move(upstream)), request_id_(request_id), max_event_bytes_(max_event_bytes) {
  if (framing == Framing::KeepBytes)
    relay_.emplace(max_event_bytes);
  else
    parser_.emplace(max_event_bytes);
}

ReadStatus UpstreamEvents::read(std::chrono::milliseconds wait, int hangup_fd, const SseParser::Callback& on_event) {
  common::clearAndTrim(buf_);
  const ReadStatus status = upstream_->read(buf_, wait, hangup_fd);
  if (status == ReadStatus::Data) {
    const bool parsed = relay_ ? relay_->feed(buf_, on_event) : parser_->feed(buf_, on_event);
    if (!parsed) {
      common::logWarn("upstream_event_too_large")
          .field("request_id", request_id_)
          .field("max_event_bytes", static_cast<uint64_t>(max_event_bytes_));
      stop(upstreamEventTooLargeError(max_event_bytes_));
    }
  } else if (status == ReadStatus::End || status == ReadStatus::Error) {
    if (relay_)
      relay_->finish(on_event);
    else
      parser_->finish(on_event);
    if (status == ReadStatus::Error) end_reason_ = readError(upstream_->error());
    ended_ = true;
  }
  return status;
}

void UpstreamEvents::stop(std::optional<common::ApiError> reason) {
  stopped_ = true;
  if (reason) end_reason_ = std::move(reason);
}

}  // namespace cosp::worker
