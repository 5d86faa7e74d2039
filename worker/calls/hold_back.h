#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "worker/sse/event_kind.h"
#include "worker/sse/sse_parser.h"

namespace cosp::worker {

// The backend answers 200 at once and reports most failures inside the stream, after
// response.created and response.in_progress (and codex.rate_limits, codex.response.metadata).
// So a call holds those first events back, committing nothing to the client (no status, no
// header, no byte), until the stream shows output: then a failure before that point is still an
// error before the first byte, retried or answered with a real status (docs/ARCHITECTURE.md §3,
// the attempt loop). This is the pure decision; AttemptLoop does the reading.

// How long a call holds back after the upstream's 200 head: a model that thinks that long before
// its first output gets its held events delivered (a stream shows progress), and a failure after
// that is an in-stream error.
inline constexpr std::chrono::milliseconds kHoldBackWindow{10000};

struct HoldBackLimits {
  std::chrono::milliseconds window = kHoldBackWindow;
  // Past either bound the call commits rather than hold more: response.created and
  // response.in_progress each echo the request's instructions and tools (tens of KB).
  std::size_t max_events = 32;
  std::size_t max_bytes = 2 * 1024 * 1024;
};

// What one upstream event means for holding back.
enum class HoldBackRole {
  Hold,     // lifecycle and metadata (response.created, response.in_progress, codex.*, anything unknown)
  Output,   // output_item.*, content_part.*, any *.delta, or a terminal event (completed, incomplete)
  Failure,  // `error` or `response.failed`
};
HoldBackRole holdBackRole(const SseEvent& event);
// The same decision from the event's type alone (a WebSocket message: worker/calls/ws_turns.h).
HoldBackRole holdBackRoleOfType(std::string_view type);

enum class HoldVerdict {
  Hold,    // nothing goes to the client yet
  Commit,  // deliver what was held, then stream on
  Fail,    // the attempt failed before the first byte (the last event fed is the failure)
};

// Feeds the events of one attempt's 200 stream, in order, and the passing time. Once it says
// Commit or Fail it stays there.
class HoldBack {
 public:
  using Clock = std::chrono::steady_clock;
  enum class CommitReason { None, Output, Window, TooMany, TooLarge };

  explicit HoldBack(Clock::time_point head_at, HoldBackLimits limits = {})
      : limits_(limits), commit_at_(head_at + limits.window) {}

  HoldVerdict onEvent(const SseEvent& event);
  // Commits once the window since the head has passed.
  HoldVerdict onTime(Clock::time_point now);

  HoldVerdict verdict() const { return verdict_; }
  CommitReason commitReason() const { return reason_; }
  // How long a wait for upstream bytes may last before the window passes (0 once it has).
  std::chrono::milliseconds timeLeft(Clock::time_point now) const;
  std::size_t heldEvents() const { return events_; }
  std::size_t heldBytes() const { return bytes_; }

 private:
  HoldVerdict commit(CommitReason reason);

  HoldBackLimits limits_;
  Clock::time_point commit_at_;
  HoldVerdict verdict_ = HoldVerdict::Hold;
  CommitReason reason_ = CommitReason::None;
  std::size_t events_ = 0;
  std::size_t bytes_ = 0;
};

const char* toString(HoldBack::CommitReason reason);

}  // namespace cosp::worker
