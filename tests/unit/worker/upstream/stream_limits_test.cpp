// MAX_EVENT_BYTES through the real client: the fake backend sends an endless line or a huge
// event, the pooled exchange reads it in slices and the SSE relay / parser cut it at the cap
// (as the model handler does), holding no more than about twice the cap.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/fakes/fake_codex_backend.h"
#include "worker/sse/sse_parser.h"
#include "worker/sse/sse_relay.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kText =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n"
    "\n"
    "event: response.completed\n"
    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\"}}\n"
    "\n";

constexpr std::size_t kCap = 256 * 1024;

class StreamLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = std::make_unique<test::FakeCodexBackend>();
    backend_->addTranscript("text", kText);
  }
  std::unique_ptr<UpstreamExchange> open(UpstreamPool& pool, const std::string& scenario) {
    UpstreamRequestSpec s;
    s.path = "/responses";
    s.headers = {{"x-fake-scenario", scenario}};
    s.body = test::kAcceptedCodexBody;
    auto ex = pool.send(s);
    EXPECT_TRUE(ex) << ex.error().message;
    return ex ? std::move(ex.value()) : nullptr;
  }
  UpstreamSettings settings() const {
    UpstreamSettings s;
    s.base_url = backend_->baseUrl();
    s.connect_timeout = 2000ms;
    s.idle_timeout = 5000ms;
    return s;
  }
  std::unique_ptr<test::FakeCodexBackend> backend_;
};

struct Outcome {
  bool cut = false;  // feed() failed: the cap
  ReadStatus last = ReadStatus::Timeout;
  std::vector<std::string> events;
  std::string relayed;  // what a client would have been sent
  std::size_t most_held = 0;
};

// The handler's loop for a Responses stream, with a 10 s budget as a safety net.
Outcome relayAll(UpstreamExchange& ex, std::size_t cap) {
  Outcome o;
  SseRelay relay(cap);
  std::string buf;
  auto on = [&](SseEvent&& e) { o.events.push_back(e.event); };
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    buf.clear();
    o.last = ex.read(buf, 200ms);
    if (o.last == ReadStatus::Data && !relay.feed(buf, on)) o.cut = true;
    if (o.last == ReadStatus::End || o.last == ReadStatus::Error) relay.finish(on);
    o.most_held = std::max(o.most_held, relay.heldBytes() + buf.capacity());
    o.relayed += relay.ready();
    relay.ready().clear();
    if (o.cut || o.last == ReadStatus::End || o.last == ReadStatus::Error) break;
  }
  return o;
}

TEST_F(StreamLimitsTest, AnEndlessLineIsCutAtTheCapAndTheUpstreamLetGo) {
  UpstreamPool pool(settings());
  auto ex = open(pool, "text+endless-line");
  ASSERT_TRUE(ex);
  const Outcome o = relayAll(*ex, kCap);
  EXPECT_TRUE(o.cut);
  EXPECT_EQ(o.last, ReadStatus::Data);
  EXPECT_EQ(o.events, std::vector<std::string>{"response.created"});
  EXPECT_LE(o.most_held, 2 * kCap + 64 * 1024);
  // Only the whole first event reached the client (and its stamp comment).
  EXPECT_TRUE(o.relayed.ends_with("data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n"))
      << o.relayed.substr(0, 200);
  EXPECT_EQ(o.relayed.find("xxx"), std::string::npos);
  // As the handler does: abort, then the exchange goes (closing with unread bytes: an RST, so a
  // backend blocked writing into a full window notices at once).
  ex->abort();
  ex.reset();
  EXPECT_TRUE(backend_->waitForClientClose(0, 5s).has_value());
}

TEST_F(StreamLimitsTest, AnEndlessLineBeforeAnyEventIsCutWithNothingForTheClient) {
  UpstreamPool pool(settings());
  auto ex = open(pool, "text+endless-line:0");
  ASSERT_TRUE(ex);
  const Outcome o = relayAll(*ex, kCap);
  EXPECT_TRUE(o.cut);
  EXPECT_TRUE(o.events.empty());  // so the handler answers 502 upstream_event_too_large
  EXPECT_EQ(o.relayed, "");
  EXPECT_LE(o.most_held, 2 * kCap + 64 * 1024);
  ex->abort();
  ex.reset();
  EXPECT_TRUE(backend_->waitForClientClose(0, 5s).has_value());
}

TEST_F(StreamLimitsTest, AHugeEventIsCutAtTheCap) {
  UpstreamPool pool(settings());
  // 64 MiB: more than the socket buffers between the two can absorb, so the backend is still
  // writing it when the client lets go (and sees that), whatever the machine's load.
  auto ex = open(pool, "text+huge-event:67108864");
  ASSERT_TRUE(ex);
  const Outcome o = relayAll(*ex, kCap);
  EXPECT_TRUE(o.cut);
  EXPECT_EQ(o.events, std::vector<std::string>{"response.created"});
  EXPECT_LE(o.most_held, 2 * kCap + 64 * 1024);
  // As the handler does: abort, then the exchange goes (closing with unread bytes: an RST, so a
  // backend blocked writing into a full window notices at once).
  ex->abort();
  ex.reset();
  EXPECT_TRUE(backend_->waitForClientClose(0, 5s).has_value());
}

TEST_F(StreamLimitsTest, AnEventUnderTheCapPassesWhole) {
  UpstreamPool pool(settings());
  auto ex = open(pool, "text+huge-event:200000");
  ASSERT_TRUE(ex);
  const Outcome o = relayAll(*ex, kCap);
  EXPECT_FALSE(o.cut);
  EXPECT_EQ(o.last, ReadStatus::End);
  EXPECT_EQ(o.events,
            (std::vector<std::string>{"response.created", "response.output_text.delta", "response.completed"}));
  EXPECT_NE(o.relayed.find(std::string(200000, 'x') + "\"}\n\n"), std::string::npos);
}

TEST_F(StreamLimitsTest, TheEventParserOfTheChatAndCollectorPathsIsCutTheSameWay) {
  UpstreamPool pool(settings());
  auto ex = open(pool, "text+endless-line");
  ASSERT_TRUE(ex);
  SseParser parser(kCap);
  std::vector<std::string> events;
  std::string buf;
  bool cut = false;
  std::size_t most_buffered = 0;
  for (const auto until = Clock::now() + 10s; !cut && Clock::now() < until;) {
    buf.clear();
    const ReadStatus st = ex->read(buf, 200ms);
    if (st == ReadStatus::Data) cut = !parser.feed(buf, [&](SseEvent&& e) { events.push_back(e.event); });
    most_buffered = std::max(most_buffered, parser.bufferedBytes());
    if (st == ReadStatus::End || st == ReadStatus::Error) break;
  }
  EXPECT_TRUE(cut);
  EXPECT_LE(most_buffered, kCap);
  EXPECT_EQ(parser.bufferedBytes(), 0u);
  EXPECT_EQ(events, std::vector<std::string>{"response.created"});
  // As the handler does: abort, then the exchange goes (closing with unread bytes: an RST, so a
  // backend blocked writing into a full window notices at once).
  ex->abort();
  ex.reset();
  EXPECT_TRUE(backend_->waitForClientClose(0, 5s).has_value());
}

}  // namespace
}  // namespace cosp::worker
