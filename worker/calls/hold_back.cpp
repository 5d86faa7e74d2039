#include "worker/calls/hold_back.h"

namespace cosp::worker {

HoldBackRole holdBackRole(const SseEvent& event) { return holdBackRoleOfType(eventType(event)); }

HoldBackRole holdBackRoleOfType(std::string_view type) {
  if (isFailureType(type)) return HoldBackRole::Failure;
  if (isTerminalType(type)) return HoldBackRole::Output;
  if (type.starts_with("response.output_item.") || type.starts_with("response.content_part.") ||
      type.starts_with("response.output_text.") || type.ends_with(".delta")) {
    return HoldBackRole::Output;
  }
  return HoldBackRole::Hold;
}

HoldVerdict HoldBack::onEvent(const SseEvent& event) {
  if (verdict_ != HoldVerdict::Hold) return verdict_;
  switch (holdBackRole(event)) {
    case HoldBackRole::Failure:
      verdict_ = HoldVerdict::Fail;
      return verdict_;
    case HoldBackRole::Output:
      return commit(CommitReason::Output);
    case HoldBackRole::Hold:
      break;
  }
  ++events_;
  bytes_ += event.event.size() + event.data.size() + event.id.size();
  if (events_ > limits_.max_events) return commit(CommitReason::TooMany);
  if (bytes_ > limits_.max_bytes) return commit(CommitReason::TooLarge);
  return verdict_;
}

HoldVerdict HoldBack::onTime(Clock::time_point now) {
  if (verdict_ == HoldVerdict::Hold && now >= commit_at_) return commit(CommitReason::Window);
  return verdict_;
}

std::chrono::milliseconds HoldBack::timeLeft(Clock::time_point now) const {
  if (now >= commit_at_) return std::chrono::milliseconds(0);
  // Rounded up: a wait that ends just before the window would only come back for nothing.
  return std::chrono::ceil<std::chrono::milliseconds>(commit_at_ - now);
}

HoldVerdict HoldBack::commit(CommitReason reason) {
  verdict_ = HoldVerdict::Commit;
  reason_ = reason;
  return verdict_;
}

const char* toString(HoldBack::CommitReason reason) {
  switch (reason) {
    case HoldBack::CommitReason::None:
      return "none";
    case HoldBack::CommitReason::Output:
      return "output";
    case HoldBack::CommitReason::Window:
      return "window";
    case HoldBack::CommitReason::TooMany:
      return "too_many_events";
    case HoldBack::CommitReason::TooLarge:
      return "too_many_bytes";
  }
  return "none";
}

}  // namespace cosp::worker
