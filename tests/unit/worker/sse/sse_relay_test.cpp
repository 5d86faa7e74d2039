// SseRelay: byte-exact relaying that releases only whole events, and its memory cap
// (MAX_EVENT_BYTES) against endless lines, huge events and endless comments.
#include "worker/sse/sse_relay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/harness/fixtures.h"
#include "worker/sse/sse_parser.h"

namespace cosp::worker {
namespace {

using cosp::test::randomChunkSizes;

constexpr std::size_t kBig = 1 << 20;

const std::string kTranscript =
    ": keep-alive\n"
    "event: response.created\n"
    "data: {\"type\":\"response.created\"}\n"
    "\n"
    "event: response.output_text.delta\r\n"
    "data: {\"type\":\"response.output_text.delta\",\r\n"
    "data: \"delta\":\"hi\"}\r\n"
    "\r\n"
    ": t=1\r"
    "id: 7\r"
    "data: x\r"
    "\r"
    "event: response.completed\n"
    "data: {\"type\":\"response.completed\"}\n"
    "\n";

// The offsets at which the transcript is between events (what a client may be left with).
std::vector<std::size_t> settledOffsets(const std::string& text) {
  std::vector<std::size_t> out = {0};
  SseParser parser(kBig);
  for (std::size_t i = 0; i < text.size(); ++i) {
    parser.feed(std::string_view(text).substr(i, 1), {});
    out.push_back(parser.settledBytes());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

TEST(SseParserSettled, CountsBytesUpToTheEndOfTheLastCompleteEventOrComment) {
  SseParser parser(kBig);
  const std::string first = "event: a\ndata: 1\n\n: comment\n";
  ASSERT_TRUE(parser.feed(first + "data: 2\nda", {}));
  EXPECT_EQ(parser.fedBytes(), first.size() + 10);
  EXPECT_EQ(parser.settledBytes(), first.size());  // "data: 2" opened an event
  ASSERT_TRUE(parser.feed("ta: 3\n\r\n", {}));
  EXPECT_EQ(parser.settledBytes(), parser.fedBytes());
  // A CR at the end of a chunk settles there; its LF in the next chunk settles again.
  ASSERT_TRUE(parser.feed(": x\r", {}));
  EXPECT_EQ(parser.settledBytes(), parser.fedBytes());
  ASSERT_TRUE(parser.feed("\nevent: b\n", {}));
  EXPECT_EQ(parser.settledBytes(), parser.fedBytes() - 9);
  parser.reset();
  EXPECT_EQ(parser.fedBytes(), 0u);
  EXPECT_EQ(parser.settledBytes(), 0u);
}

TEST(SseRelay, RelaysEveryByteUnchangedAndOnlyWholeEventsInAnyChunking) {
  const std::vector<std::size_t> settled = settledOffsets(kTranscript);
  std::vector<SseEvent> expected;
  {
    SseParser parser(kBig);
    parser.feed(kTranscript, [&](SseEvent&& e) { expected.push_back(std::move(e)); });
  }
  ASSERT_EQ(expected.size(), 4u);
  for (unsigned seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(seed);
    const auto sizes = randomChunkSizes(seed, 64, seed % 2 ? 5 : 40);
    SseRelay relay(kBig);
    std::vector<SseEvent> events;
    auto cb = [&](SseEvent&& e) { events.push_back(std::move(e)); };
    std::string client;
    for (std::size_t pos = 0, i = 0; pos < kTranscript.size(); ++i) {
      const std::size_t n = std::min(sizes[i % sizes.size()], kTranscript.size() - pos);
      ASSERT_TRUE(relay.feed(std::string_view(kTranscript).substr(pos, n), cb));
      pos += n;
      client += relay.ready();
      relay.ready().clear();
      // The client is never left inside an event.
      EXPECT_TRUE(std::binary_search(settled.begin(), settled.end(), client.size())) << client.size();
    }
    relay.finish(cb);
    client += relay.ready();
    EXPECT_EQ(client, kTranscript);
    ASSERT_EQ(events.size(), expected.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].event, expected[i].event);
      EXPECT_EQ(events[i].data, expected[i].data);
    }
  }
}

TEST(SseRelay, FinishReleasesAnUnterminatedEventWithABlankLine) {
  SseRelay relay(kBig);
  int events = 0;
  auto cb = [&](SseEvent&&) { ++events; };
  ASSERT_TRUE(relay.feed("data: a\n\nevent: response.completed\ndata: {}", cb));
  EXPECT_EQ(relay.ready(), "data: a\n\n");
  EXPECT_EQ(events, 1);
  relay.ready().clear();
  relay.finish(cb);
  EXPECT_EQ(events, 2);
  EXPECT_EQ(relay.ready(), "event: response.completed\ndata: {}\n\n");
}

TEST(SseRelay, FinishDropsAnIncompleteLineThatMakesNoEvent) {
  SseRelay relay(kBig);
  int events = 0;
  auto cb = [&](SseEvent&&) { ++events; };
  ASSERT_TRUE(relay.feed("data: a\n\n: half a comm", cb));
  relay.finish(cb);
  EXPECT_EQ(events, 1);
  EXPECT_EQ(relay.ready(), "data: a\n\n");
}

TEST(SseRelay, AnEndlessLineFailsAtTheCapWithoutHoldingMore) {
  constexpr std::size_t kCap = 64 * 1024;
  SseRelay relay(kCap);
  int events = 0;
  auto cb = [&](SseEvent&&) { ++events; };
  ASSERT_TRUE(relay.feed("event: response.created\ndata: {}\n\n", cb));
  const std::string first_event = relay.ready();
  relay.ready().clear();
  ASSERT_TRUE(relay.feed("data: ", cb));
  const std::string piece(4096, 'x');
  std::size_t fed = 0;
  std::size_t most_held = 0;
  bool ok = true;
  while (ok && fed < 100 * kCap) {
    ok = relay.feed(piece, cb);
    fed += piece.size();
    most_held = std::max(most_held, relay.heldBytes());
  }
  EXPECT_FALSE(ok);
  EXPECT_TRUE(relay.failed());
  EXPECT_EQ(events, 1);
  EXPECT_EQ(first_event, "event: response.created\ndata: {}\n\n");
  EXPECT_LE(fed, kCap + piece.size());  // failed as soon as the line passed the cap
  EXPECT_LE(most_held, 2 * kCap);
  EXPECT_EQ(relay.heldBytes(), 0u);  // the memory is given back at once
  EXPECT_FALSE(relay.feed("\n\ndata: late\n\n", cb));
  EXPECT_EQ(events, 1);
  EXPECT_TRUE(relay.ready().empty());
}

TEST(SseRelay, AnEventOfManyShortDataLinesFailsAtTheCap) {
  constexpr std::size_t kCap = 16 * 1024;
  SseRelay relay(kCap);
  int events = 0;
  auto cb = [&](SseEvent&&) { ++events; };
  bool ok = true;
  std::size_t lines = 0;
  for (; ok && lines < 100000; ++lines) ok = relay.feed("data: 0123456789\n", cb);
  EXPECT_FALSE(ok);
  EXPECT_EQ(events, 0);
  EXPECT_LE(lines * 17, kCap + 17);
}

TEST(SseRelay, CommentsNobodyTakesCountAgainstTheCapTakenOnesDoNot) {
  constexpr std::size_t kCap = 4096;
  const std::string comment = ": keep-alive\n";
  {
    SseRelay relay(kCap);  // before the first event the handler takes nothing
    bool ok = true;
    std::size_t n = 0;
    for (; ok && n < 100000; ++n) ok = relay.feed(comment, {});
    EXPECT_FALSE(ok);
    EXPECT_LE(n * comment.size(), kCap + comment.size());
  }
  {
    SseRelay relay(kCap);
    for (int n = 0; n < 10000; ++n) {
      ASSERT_TRUE(relay.feed(comment, {}));
      relay.ready().clear();
    }
    EXPECT_EQ(relay.heldBytes(), 0u);
  }
}

TEST(SseRelay, WholeEventsBeforeTheLineThatBrokeTheCapStayReady) {
  SseRelay relay(64);
  int events = 0;
  auto cb = [&](SseEvent&&) { ++events; };
  EXPECT_FALSE(relay.feed("data: a\n\ndata: " + std::string(100, 'x'), cb));
  EXPECT_EQ(events, 1);
  EXPECT_EQ(relay.ready(), "data: a\n\n");
}

}  // namespace
}  // namespace cosp::worker
