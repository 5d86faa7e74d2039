// hold_back: which upstream events are held before the first byte, which commit the answer and
// which fail the attempt, and the bounds of the hold (window, count, bytes).
#include "worker/calls/hold_back.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/harness/fixtures.h"

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = HoldBack::Clock;

SseEvent named(const std::string& type, std::string data = "{}") { return SseEvent{type, std::move(data), ""}; }
SseEvent unnamed(const std::string& type) { return SseEvent{"", R"({"type":")" + type + R"(","x":1})", ""}; }

TEST(HoldBack, LifecycleAndMetadataAreHeldOutputCommitsFailuresFail) {
  for (const char* type : {"response.created", "response.in_progress", "response.queued", "codex.rate_limits",
                           "codex.response.metadata", "keepalive", ""}) {
    EXPECT_EQ(holdBackRole(named(type)), HoldBackRole::Hold) << type;
    EXPECT_EQ(holdBackRole(unnamed(type)), HoldBackRole::Hold) << type;
  }
  for (const char* type :
       {"response.output_item.added", "response.output_text.delta", "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta", "response.content_part.added", "response.output_text.done",
        "response.completed", "response.incomplete"}) {
    EXPECT_EQ(holdBackRole(named(type)), HoldBackRole::Output) << type;
    EXPECT_EQ(holdBackRole(unnamed(type)), HoldBackRole::Output) << type;
  }
  for (const char* type : {"error", "response.failed"}) {
    EXPECT_EQ(holdBackRole(named(type)), HoldBackRole::Failure) << type;
    EXPECT_EQ(holdBackRole(unnamed(type)), HoldBackRole::Failure) << type;
  }
}

// The sequence the real backend sends: lifecycle first, then output or a failure.
TEST(HoldBack, TheFixturesCommitAtTheirFirstOutputOrFailAtTheirFailure) {
  struct Case {
    const char* fixture;
    HoldVerdict verdict;
    std::size_t at_event;  // 0-based index of the event that decided
  };
  for (const Case& c : {Case{"text.sse", HoldVerdict::Commit, 2}, Case{"tool_call.sse", HoldVerdict::Commit, 2},
                        Case{"failed.sse", HoldVerdict::Fail, 2}, Case{"error_event.sse", HoldVerdict::Fail, 1}}) {
    const auto events = test::parseSse(test::readFixture(std::string("responses/") + c.fixture));
    HoldBack hold(Clock::now());
    std::size_t decided = events.size();
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (hold.onEvent(events[i]) != HoldVerdict::Hold) {
        decided = i;
        break;
      }
    }
    EXPECT_EQ(hold.verdict(), c.verdict) << c.fixture;
    EXPECT_EQ(decided, c.at_event) << c.fixture;
  }
}

TEST(HoldBack, TheVerdictSticks) {
  HoldBack hold(Clock::now());
  EXPECT_EQ(hold.onEvent(named("response.output_text.delta")), HoldVerdict::Commit);
  EXPECT_EQ(hold.commitReason(), HoldBack::CommitReason::Output);
  EXPECT_EQ(hold.onEvent(named("error")), HoldVerdict::Commit);  // after the commit: in-stream
  HoldBack failed(Clock::now());
  EXPECT_EQ(failed.onEvent(named("response.failed")), HoldVerdict::Fail);
  EXPECT_EQ(failed.onEvent(named("response.completed")), HoldVerdict::Fail);
  EXPECT_EQ(failed.onTime(Clock::now() + 1h), HoldVerdict::Fail);
}

TEST(HoldBack, CommitsWhenTheWindowSinceTheHeadHasPassed) {
  const auto head = Clock::now();
  HoldBack hold(head);
  EXPECT_EQ(hold.timeLeft(head), kHoldBackWindow);
  EXPECT_EQ(hold.onEvent(named("response.created")), HoldVerdict::Hold);
  EXPECT_EQ(hold.onTime(head + kHoldBackWindow - 1ms), HoldVerdict::Hold);
  EXPECT_EQ(hold.timeLeft(head + kHoldBackWindow - 1ms), 1ms);
  EXPECT_EQ(hold.onTime(head + kHoldBackWindow), HoldVerdict::Commit);
  EXPECT_EQ(hold.commitReason(), HoldBack::CommitReason::Window);
  EXPECT_EQ(hold.timeLeft(head + kHoldBackWindow + 5s), 0ms);
  EXPECT_EQ(kHoldBackWindow, 10s);
}

TEST(HoldBack, CommitsRatherThanHoldMoreThanItsBounds) {
  HoldBack by_count(Clock::now(), HoldBackLimits{10s, 3, 1 << 20});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(by_count.onEvent(named("codex.rate_limits")), HoldVerdict::Hold);
  EXPECT_EQ(by_count.onEvent(named("codex.rate_limits")), HoldVerdict::Commit);
  EXPECT_EQ(by_count.commitReason(), HoldBack::CommitReason::TooMany);

  HoldBack by_bytes(Clock::now(), HoldBackLimits{10s, 100, 1000});
  EXPECT_EQ(by_bytes.onEvent(named("response.created", std::string(900, 'x'))), HoldVerdict::Hold);
  EXPECT_EQ(by_bytes.heldBytes(), 900u + 16u);
  EXPECT_EQ(by_bytes.onEvent(named("response.in_progress", std::string(100, 'x'))), HoldVerdict::Commit);
  EXPECT_EQ(by_bytes.commitReason(), HoldBack::CommitReason::TooLarge);
}

}  // namespace
}  // namespace cosp::worker
