#include "worker/sse/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/harness/fixtures.h"

namespace cosp::worker {
namespace {

using cosp::test::parseSse;
using cosp::test::parseSseChunked;

TEST(SseParser, BasicEventWithTypeAndId) {
  const auto events = parseSse("event: response.created\nid: 7\ndata: {\"a\":1}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "response.created");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
}

TEST(SseParser, MultiLineDataJoinedWithNewline) {
  const auto events = parseSse("data: first\ndata: second\ndata:third\ndata\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "first\nsecond\nthird\n");
  EXPECT_EQ(events[0].event, "");
}

TEST(SseParser, OnlyOneLeadingSpaceIsStripped) {
  const auto events = parseSse("data:  two spaces\n\ndata:no space\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, " two spaces");
  EXPECT_EQ(events[1].data, "no space");
}

TEST(SseParser, LineEndingsLfCrLfAndCr) {
  for (const std::string& nl : {std::string("\n"), std::string("\r\n"), std::string("\r")}) {
    const std::string text = "event: a" + nl + "data: 1" + nl + nl + "data: 2" + nl + "data: 3" + nl + nl;
    const auto events = parseSse(text);
    ASSERT_EQ(events.size(), 2u) << static_cast<int>(nl[0]);
    EXPECT_EQ(events[0].event, "a");
    EXPECT_EQ(events[0].data, "1");
    EXPECT_EQ(events[1].data, "2\n3");
  }
}

TEST(SseParser, CrLfSplitAcrossChunksIsOneTerminator) {
  // "data: x\r" | "\n\r" | "\n": exactly one event with data "x".
  worker::SseParser parser;
  std::vector<SseEvent> events;
  auto cb = [&](SseEvent&& ev) { events.push_back(std::move(ev)); };
  EXPECT_TRUE(parser.feed("data: x\r", cb));
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(parser.feed("\n\r", cb));
  EXPECT_EQ(events.size(), 1u);
  EXPECT_TRUE(parser.feed("\n", cb));
  EXPECT_TRUE(parser.feed("data: y\n\n", cb));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[1].data, "y");
}

TEST(SseParser, CommentsAndUnknownFieldsAreIgnored) {
  const auto events = parseSse(": keep-alive\n: t=123\nretry: 1000\nfoo: bar\ndata: ok\n\n:\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "ok");
}

TEST(SseParser, EventWithoutDataIsNotDispatchedAndResetsType) {
  const auto events = parseSse("event: ping\n\ndata: after\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "");
  EXPECT_EQ(events[0].data, "after");
}

TEST(SseParser, IdWithNulIsIgnoredAndIdIsPerEvent) {
  static constexpr char kText[] = "id: a\0b\ndata: 1\n\nid: 9\ndata: 2\n\ndata: 3\n\n";
  const auto events = parseSse(std::string(kText, sizeof(kText) - 1));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, "");
  EXPECT_EQ(events[1].id, "9");
  EXPECT_EQ(events[2].id, "");
}

TEST(SseParser, FinishFlushesAFinalEventWithoutBlankLine) {
  auto events = parseSse("data: complete\n\ndata: tail");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "tail");
  events = parseSse("event: x\ndata: tail2\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "x");
  EXPECT_EQ(events[0].data, "tail2");
}

TEST(SseParser, EveryChunkingGivesTheSameEvents) {
  const std::string text = cosp::test::readFixture("responses/web_search.sse");
  const auto whole = parseSse(text);
  ASSERT_GT(whole.size(), 10u);
  for (std::size_t size : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    const auto chunked = parseSseChunked(text, {size});
    ASSERT_EQ(chunked.size(), whole.size()) << size;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(chunked[i].event, whole[i].event);
      EXPECT_EQ(chunked[i].data, whole[i].data);
    }
  }
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto chunked = parseSseChunked(text, cosp::test::randomChunkSizes(seed, 64, 23));
    ASSERT_EQ(chunked.size(), whole.size()) << seed;
    for (std::size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(chunked[i].data, whole[i].data);
  }
}

TEST(SseParser, CrLfTranscriptInRandomChunks) {
  std::string text = cosp::test::readFixture("responses/text.sse");
  const auto expected = parseSse(text);
  std::string crlf;
  for (char c : text) {
    if (c == '\n') {
      crlf += "\r\n";
    } else {
      crlf.push_back(c);
    }
  }
  for (unsigned seed = 1; seed <= 10; ++seed) {
    const auto got = parseSseChunked(crlf, cosp::test::randomChunkSizes(seed, 50, 5));
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].event, expected[i].event);
      EXPECT_EQ(got[i].data, expected[i].data);
    }
  }
}

TEST(SseParser, OversizedEventEntersErrorState) {
  SseParser parser(64);
  std::vector<SseEvent> events;
  auto cb = [&](SseEvent&& ev) { events.push_back(std::move(ev)); };
  EXPECT_TRUE(parser.feed("data: small\n\n", cb));
  EXPECT_EQ(events.size(), 1u);
  // Many data lines adding up past the cap.
  bool ok = true;
  for (int i = 0; i < 10 && ok; ++i) ok = parser.feed("data: 0123456789\n", cb);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(parser.failed());
  EXPECT_EQ(parser.bufferedBytes(), 0u);
  EXPECT_FALSE(parser.feed("\n\ndata: later\n\n", cb));
  EXPECT_EQ(events.size(), 1u);
}

TEST(SseParser, OversizedUnterminatedLineEntersErrorState) {
  SseParser parser(1024);
  auto cb = [](SseEvent&&) { FAIL() << "no event expected"; };
  const std::string chunk(300, 'x');
  EXPECT_TRUE(parser.feed("data: ", cb));
  EXPECT_TRUE(parser.feed(chunk, cb));
  EXPECT_TRUE(parser.feed(chunk, cb));
  EXPECT_TRUE(parser.feed(chunk, cb));
  EXPECT_GT(parser.bufferedBytes(), 900u);
  EXPECT_FALSE(parser.feed(chunk, cb));
  EXPECT_TRUE(parser.failed());
}

TEST(SseParser, ResetClearsErrorState) {
  SseParser parser(16);
  auto none = [](SseEvent&&) {};
  EXPECT_FALSE(parser.feed(std::string(40, 'x'), none));
  parser.reset();
  std::vector<SseEvent> events;
  EXPECT_TRUE(parser.feed("data: ok\n\n", [&](SseEvent&& e) { events.push_back(std::move(e)); }));
  ASSERT_EQ(events.size(), 1u);
}

TEST(SseParser, LargeEventInOneLine) {
  const std::string payload(5 * 1024 * 1024, 'a');
  const auto events = parseSseChunked("data: " + payload + "\n\n", {65536});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data.size(), payload.size());
}

}  // namespace
}  // namespace cosp::worker
