// CallDeadline: the overall budget of a non-streaming model call (REQUEST_TIMEOUT), as pure
// arithmetic and cutting the waits of a real exchange whose upstream stalls.
#include "worker/upstream/call_deadline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/fakes/fake_codex_backend.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(CallDeadline, UnlimitedByDefault) {
  const CallDeadline d;
  EXPECT_FALSE(d.limited());
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.cap(5000ms), 5000ms);
  const auto now = Clock::now();
  EXPECT_EQ(d.capPoint(15s, now), now + 15s);
}

TEST(CallDeadline, CutsEveryWaitToWhatIsLeft) {
  const auto t0 = Clock::now();
  const CallDeadline d = CallDeadline::after(50ms, t0);
  EXPECT_TRUE(d.limited());
  EXPECT_EQ(d.at(), t0 + 50ms);
  EXPECT_FALSE(d.expired(t0));
  EXPECT_FALSE(d.expired(t0 + 49ms));
  EXPECT_TRUE(d.expired(t0 + 50ms));
  EXPECT_EQ(d.left(t0 + 20ms), 30ms);
  EXPECT_EQ(d.left(t0 + 20ms + 1us), 30ms);  // rounded up: a wait never ends just short of it
  EXPECT_EQ(d.left(t0 + 50ms), 0ms);
  EXPECT_EQ(d.left(t0 + 1h), 0ms);
  EXPECT_EQ(d.cap(5000ms, t0 + 20ms), 30ms);
  EXPECT_EQ(d.cap(10ms, t0), 10ms);
  EXPECT_EQ(d.cap(10ms, t0 + 60ms), 0ms);
  EXPECT_EQ(d.capPoint(15s, t0), t0 + 50ms);
  EXPECT_EQ(d.capPoint(10ms, t0), t0 + 10ms);
}

class CallDeadlineThroughPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = std::make_unique<test::FakeCodexBackend>();
    backend_->addTranscript("text",
                            "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
                            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{}}\n\n");
  }
  UpstreamSettings settings() const {
    UpstreamSettings s;
    s.base_url = backend_->baseUrl();
    s.connect_timeout = 2000ms;
    s.idle_timeout = 30000ms;  // far beyond the call's budget: the deadline must end it
    return s;
  }
  static UpstreamRequestSpec spec(const std::string& scenario, const CallDeadline& deadline) {
    UpstreamRequestSpec s;
    s.path = "/responses";
    s.headers = {{"x-fake-scenario", scenario}};
    s.body = test::kAcceptedCodexBody;
    s.head_timeout = std::max(deadline.cap(30000ms), 1ms);  // as the handler sets it
    return s;
  }
  std::unique_ptr<test::FakeCodexBackend> backend_;
};

TEST_F(CallDeadlineThroughPoolTest, AStalledBodyEndsAtTheDeadlineNotAtTheIdleTimeout) {
  UpstreamPool pool(settings());
  const auto start = Clock::now();
  const CallDeadline deadline = CallDeadline::after(400ms, start);
  auto ex = pool.send(spec("text+stall:30", deadline));
  ASSERT_TRUE(ex) << ex.error().message;
  std::string body;
  ReadStatus last = ReadStatus::Timeout;
  // The handler's loop: each read waits at most 5 s, cut to the deadline.
  while (!deadline.expired() && last != ReadStatus::End && last != ReadStatus::Error) {
    last = (*ex)->read(body, deadline.cap(5000ms));
  }
  const auto took = Clock::now() - start;
  EXPECT_EQ(last, ReadStatus::Timeout);
  EXPECT_NE(body.find("response.created"), std::string::npos);
  EXPECT_EQ(body.find("response.completed"), std::string::npos);
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 2400ms);
  (*ex)->abort();
  EXPECT_TRUE(backend_->waitForClientClose(0, 5s).has_value());
}

TEST_F(CallDeadlineThroughPoolTest, ASlowHeadEndsAtTheDeadline) {
  UpstreamPool pool(settings());
  const auto start = Clock::now();
  const CallDeadline deadline = CallDeadline::after(300ms, start);
  auto ex = pool.send(spec("text+slow:20000", deadline));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().kind, UpstreamFailure::Kind::HeadTimeout);
  EXPECT_TRUE(deadline.expired());
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2300ms);
}

}  // namespace
}  // namespace cosp::worker
