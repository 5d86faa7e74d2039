#include "worker/upstream/http_response_parser.h"

#include <gtest/gtest.h>

#include <random>

namespace cosp::worker {
namespace {

TEST(ResponseHeadTest, FindsHeadEnd) {
  EXPECT_FALSE(findHeadEnd("HTTP/1.1 200 OK\r\nA: b\r\n"));
  EXPECT_EQ(*findHeadEnd("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), 25u);
  EXPECT_EQ(*findHeadEnd("HTTP/1.1 200 OK\nA: b\n\nbody"), 22u);
}

TEST(ResponseHeadTest, ParsesStatusReasonAndHeaders) {
  auto h = parseResponseHead(
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
      "x-codex-primary-used-percent:  97 \r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n");
  ASSERT_TRUE(h) << h.error();
  EXPECT_EQ(h->status, 429);
  EXPECT_EQ(h->reason, "Too Many Requests");
  EXPECT_EQ(h->http_minor, 1);
  ASSERT_EQ(h->headers.size(), 4u);
  EXPECT_EQ(h->headers[1].first, "x-codex-primary-used-percent");
  EXPECT_EQ(*h->header("X-CODEX-PRIMARY-USED-PERCENT"), "97");
  EXPECT_EQ(*h->header("content-type"), "application/json");
  EXPECT_FALSE(h->header("missing"));
  EXPECT_EQ(h->headerValues("Set-Cookie"), (std::vector<std::string>{"a=1", "b=2"}));
}

TEST(ResponseHeadTest, AcceptsEmptyReasonAndHttp10) {
  auto h = parseResponseHead("HTTP/1.0 200\r\n\r\n");
  ASSERT_TRUE(h) << h.error();
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->reason, "");
  EXPECT_EQ(h->http_minor, 0);
}

TEST(ResponseHeadTest, RejectsMalformedHeads) {
  EXPECT_FALSE(parseResponseHead(""));
  EXPECT_FALSE(parseResponseHead("HTTP/2 200 OK\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("ICY 200 OK\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 20x OK\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 999 Nope\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 200OK\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"));
}

UpstreamResponseHead head(std::string text) {
  auto h = parseResponseHead(text);
  EXPECT_TRUE(h) << h.error();
  return h ? h.value() : UpstreamResponseHead{};
}

TEST(BodyFramingTest, DecidesFraming) {
  auto chunked =
      bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"));
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->kind, BodyFraming::Kind::Chunked);

  auto length = bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"));
  ASSERT_TRUE(length);
  EXPECT_EQ(length->kind, BodyFraming::Kind::Length);
  EXPECT_EQ(length->length, 42u);

  auto same = bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n"));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->length, 7u);

  auto zero = bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->kind, BodyFraming::Kind::None);

  auto until_close = bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\n\r\n"));
  ASSERT_TRUE(until_close);
  EXPECT_EQ(until_close->kind, BodyFraming::Kind::UntilClose);

  auto gzip_only = bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"));
  ASSERT_TRUE(gzip_only);
  EXPECT_EQ(gzip_only->kind, BodyFraming::Kind::UntilClose);

  EXPECT_EQ(bodyFramingFor("HEAD", head("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"))->kind,
            BodyFraming::Kind::None);
  EXPECT_EQ(bodyFramingFor("GET", head("HTTP/1.1 204 No Content\r\n\r\n"))->kind, BodyFraming::Kind::None);
  EXPECT_EQ(bodyFramingFor("GET", head("HTTP/1.1 304 Not Modified\r\n\r\n"))->kind, BodyFraming::Kind::None);

  EXPECT_FALSE(bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")));
  EXPECT_FALSE(bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")));
  EXPECT_FALSE(bodyFramingFor("POST", head("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n")));
}

TEST(BodyFramingTest, ReuseRules) {
  EXPECT_TRUE(responseAllowsReuse(head("HTTP/1.1 200 OK\r\n\r\n")));
  EXPECT_FALSE(responseAllowsReuse(head("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")));
  EXPECT_FALSE(responseAllowsReuse(head("HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\n\r\n")));
  EXPECT_FALSE(responseAllowsReuse(head("HTTP/1.0 200 OK\r\n\r\n")));
  EXPECT_TRUE(responseAllowsReuse(head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")));
}

constexpr std::string_view kChunked =
    "4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
constexpr std::string_view kDecoded = "Wikipedia in \r\n\r\nchunks.";

TEST(ChunkedDecoderTest, DecodesWholeInput) {
  ChunkedDecoder d;
  std::string out;
  std::size_t consumed = 0;
  std::string input = std::string(kChunked) + "HTTP/1.1 next response";
  EXPECT_EQ(d.feed(input, consumed, out), DecodeStatus::Done);
  EXPECT_EQ(out, kDecoded);
  EXPECT_EQ(consumed, kChunked.size());  // the next response stays unconsumed
  EXPECT_TRUE(d.done());
}

TEST(ChunkedDecoderTest, DecodesByteByByte) {
  ChunkedDecoder d;
  std::string out;
  std::string pending;
  DecodeStatus st = DecodeStatus::NeedMore;
  for (char c : kChunked) {
    pending += c;
    std::size_t consumed = 0;
    st = d.feed(pending, consumed, out);
    pending.erase(0, consumed);
    ASSERT_NE(st, DecodeStatus::Error) << d.error();
  }
  EXPECT_EQ(st, DecodeStatus::Done);
  EXPECT_EQ(out, kDecoded);
  EXPECT_TRUE(pending.empty());
}

TEST(ChunkedDecoderTest, DecodesRandomSplits) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    ChunkedDecoder d;
    std::string out;
    std::string pending;
    std::size_t pos = 0;
    DecodeStatus st = DecodeStatus::NeedMore;
    while (pos < kChunked.size()) {
      const std::size_t n = std::min<std::size_t>(kChunked.size() - pos, 1 + rng() % 9);
      pending.append(kChunked.substr(pos, n));
      pos += n;
      std::size_t consumed = 0;
      st = d.feed(pending, consumed, out);
      pending.erase(0, consumed);
      ASSERT_NE(st, DecodeStatus::Error);
    }
    EXPECT_EQ(st, DecodeStatus::Done);
    EXPECT_EQ(out, kDecoded);
  }
}

TEST(ChunkedDecoderTest, AcceptsBareLf) {
  ChunkedDecoder d;
  std::string out;
  std::size_t consumed = 0;
  EXPECT_EQ(d.feed("3\nabc\n0\n\n", consumed, out), DecodeStatus::Done);
  EXPECT_EQ(out, "abc");
}

TEST(ChunkedDecoderTest, RejectsGarbage) {
  for (std::string_view bad : {"zz\r\n", "3\r\nabcX\r\n", "\r\n", "ffffffffffffffffff\r\n"}) {
    ChunkedDecoder d;
    std::string out;
    std::size_t consumed = 0;
    EXPECT_EQ(d.feed(bad, consumed, out), DecodeStatus::Error) << bad;
    EXPECT_FALSE(d.error().empty());
  }
}

// Feeds `input` in pieces of `piece` bytes, keeping unconsumed bytes for the next call.
DecodeStatus feedInPieces(std::string_view input, std::size_t piece, std::string& out) {
  ChunkedDecoder d;
  std::string pending;
  DecodeStatus st = DecodeStatus::NeedMore;
  for (std::size_t pos = 0; pos < input.size() && st == DecodeStatus::NeedMore; pos += piece) {
    pending.append(input.substr(pos, piece));
    std::size_t consumed = 0;
    st = d.feed(pending, consumed, out);
    pending.erase(0, consumed);
  }
  return st;
}

// Found by fuzz_http_response: both caps held only for one of the ways the bytes could arrive.
TEST(ChunkedDecoderTest, LimitsDoNotDependOnHowTheBytesArrive) {
  // A chunk size line past 8 KiB (extensions) was accepted when it came in one read.
  const std::string long_line = "1;" + std::string(9000, 'x') + "\r\na\r\n0\r\n\r\n";
  // A trailer section past 16 KiB was accepted when it came in many reads (counted per call).
  std::string trailers = "1\r\na\r\n0\r\n";
  for (int i = 0; i < 1000; ++i) trailers += "X-T: 12345678901234567890\r\n";
  trailers += "\r\n";
  for (const std::string& input : {long_line, trailers}) {
    for (std::size_t piece : {input.size(), std::size_t{200}, std::size_t{1}}) {
      std::string out;
      EXPECT_EQ(feedInPieces(input, piece, out), DecodeStatus::Error) << "pieces of " << piece;
    }
  }
  // Just under the line cap is fine however it arrives, also with the CR split from its LF.
  const std::string ok_line = "1;" + std::string(8190, 'x') + "\r\na\r\n0\r\n\r\n";
  for (std::size_t piece : {ok_line.size(), std::size_t{8193}, std::size_t{7}}) {
    std::string out;
    EXPECT_EQ(feedInPieces(ok_line, piece, out), DecodeStatus::Done) << "pieces of " << piece;
    EXPECT_EQ(out, "a");
  }
}

TEST(BodyDecoderTest, LengthStopsAtLength) {
  BodyDecoder d(BodyFraming{BodyFraming::Kind::Length, 5});
  std::string out;
  std::size_t consumed = 0;
  EXPECT_EQ(d.feed("abc", consumed, out), DecodeStatus::NeedMore);
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(d.feed("defgh", consumed, out), DecodeStatus::Done);
  EXPECT_EQ(consumed, 2u);
  EXPECT_EQ(out, "abcde");
  EXPECT_TRUE(d.done());
}

TEST(BodyDecoderTest, EofEndsOnlyCloseDelimitedBodies) {
  BodyDecoder close(BodyFraming{BodyFraming::Kind::UntilClose, 0});
  std::string out;
  std::size_t consumed = 0;
  EXPECT_EQ(close.feed("data", consumed, out), DecodeStatus::NeedMore);
  EXPECT_EQ(close.onEof(), DecodeStatus::Done);
  EXPECT_EQ(out, "data");

  BodyDecoder length(BodyFraming{BodyFraming::Kind::Length, 10});
  EXPECT_EQ(length.feed("abc", consumed, out), DecodeStatus::NeedMore);
  EXPECT_EQ(length.onEof(), DecodeStatus::Error);
  EXPECT_FALSE(length.error().empty());

  BodyDecoder chunked(BodyFraming{BodyFraming::Kind::Chunked, 0});
  EXPECT_EQ(chunked.feed("5\r\nab", consumed, out), DecodeStatus::NeedMore);
  EXPECT_EQ(chunked.onEof(), DecodeStatus::Error);

  BodyDecoder none(BodyFraming{BodyFraming::Kind::None, 0});
  EXPECT_TRUE(none.done());
}

}  // namespace
}  // namespace cosp::worker
