// The strict request-head parser and the chunked body decoder (worker/http/).
#include "worker/http/request_head.h"

#include <gtest/gtest.h>

#include <string>

#include "worker/http/chunked_decoder.h"

using cosp::worker::HeadLimits;
using cosp::worker::HeadParse;
using cosp::worker::parseRequestHead;
using cosp::worker::RequestChunkDecoder;
using cosp::worker::RequestFraming;

namespace {

HeadParse parse(const std::string& head) { return parseRequestHead(head); }

// The status a head is refused with, or 0 when it parses.
int refusal(const std::string& head) {
  HeadParse p = parse(head);
  if (p.status == HeadParse::Status::Invalid) return p.error_status;
  return p.status == HeadParse::Status::Complete ? 0 : -1;
}

}  // namespace

TEST(RequestHead, ParsesAnOrdinaryRequestWithoutDecodingValues) {
  std::string text =
      "POST /v1/responses?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization:  Bearer =?UTF-8?Q?k?=  \r\n"
      "Content-Length: 12\r\n\r\n{\"body\":1}";
  HeadParse p = parse(text);
  ASSERT_EQ(p.status, HeadParse::Status::Complete) << p.error;
  EXPECT_EQ(p.consumed, text.find("{"));
  EXPECT_EQ(p.head.method, "POST");
  EXPECT_EQ(p.head.target, "/v1/responses?x=1");
  EXPECT_EQ(p.head.path(), "/v1/responses");
  EXPECT_EQ(p.head.minor_version, 1);
  EXPECT_EQ(p.head.header("authorization").value_or(""), "Bearer =?UTF-8?Q?k?=");  // never RFC 2047 decoded
  EXPECT_EQ(p.head.framing, RequestFraming::Length);
  EXPECT_EQ(p.head.content_length, 12u);
  EXPECT_TRUE(p.head.keep_alive);
}

TEST(RequestHead, IncompleteUntilTheEmptyLineAndLimitedInSize) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n").status, HeadParse::Status::Incomplete);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\r").status, HeadParse::Status::Incomplete);
  HeadLimits small{64, 128};
  HeadParse p = parseRequestHead("GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(100, 'v') + "\r\n\r\n", small);
  EXPECT_EQ(p.status, HeadParse::Status::Invalid);
  EXPECT_EQ(p.error_status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(refusal(many + "\r\n"), 431);
}

TEST(RequestHead, RefusesEveryAmbiguousFraming) {
  const std::string start = "POST /v1/responses HTTP/1.1\r\nHost: a\r\n";
  EXPECT_EQ(refusal(start + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(refusal(start + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
  EXPECT_EQ(refusal(start + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400);
  for (const char* bad : {"-1", "abc", "0x10", "5, 5", "+5", " ", "99999999999999999999", "1 2"}) {
    EXPECT_EQ(refusal(start + "Content-Length: " + bad + "\r\n\r\n"), 400) << bad;
  }
  for (const char* bad : {"identity, chunked", "chunked, identity", "gzip", "identity", "chunked;q=1"}) {
    EXPECT_EQ(refusal(start + "Transfer-Encoding: " + bad + "\r\n\r\n"), 400) << bad;
  }
  EXPECT_EQ(refusal(start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(refusal(start + "Transfer-Encoding : chunked\r\n\r\n"), 400);
  EXPECT_EQ(refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  HeadParse chunked = parse(start + "Transfer-Encoding: Chunked\r\n\r\n");
  ASSERT_EQ(chunked.status, HeadParse::Status::Complete);
  EXPECT_EQ(chunked.head.framing, RequestFraming::Chunked);
  HeadParse empty = parse(start + "Content-Length: 0\r\n\r\n");
  ASSERT_EQ(empty.status, HeadParse::Status::Complete);
  EXPECT_EQ(empty.head.framing, RequestFraming::None);
}

TEST(RequestHead, RefusesMalformedLinesAndBytes) {
  EXPECT_EQ(refusal("GET /\r\n\r\n"), 400);  // HTTP/0.9
  EXPECT_EQ(refusal("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(refusal("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(refusal("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("G\"T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n"), 400);
  EXPECT_EQ(refusal(std::string("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n", 35)), 400);
  EXPECT_EQ(refusal(std::string("GET / HTTP/1.1\r\nHost: a\r\nX\0A: ab\r\n\r\n", 35)), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\nHost: a\n\n"), 400);  // bare LF line ends
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01"
                    "b\r\n\r\n"),
            400);
  // A control byte is refused as soon as it arrives, before the head is complete.
  HeadParse early = parse(std::string("GET / HTTP/1.1\r\nX-A: a\0", 24));
  EXPECT_EQ(early.status, HeadParse::Status::Invalid);
  // obs-text (bytes >= 0x80) and tabs are allowed in values.
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\tx\r\n\r\n"), 0);
}

TEST(RequestHead, HostAuthorizationExpectAndConnectionRules) {
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.0\r\n\r\n"), 0);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nx-api-key: a\r\nX-Api-Key: b\r\n\r\n"), 400);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: something\r\n\r\n"), 417);
  HeadParse expect = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n");
  ASSERT_EQ(expect.status, HeadParse::Status::Complete);
  EXPECT_TRUE(expect.head.expect_continue);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, Close\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keep_alive);
}

TEST(RequestHead, TargetsAndLeadingEmptyLines) {
  HeadParse absolute = parse("GET http://proxy.example/v1/models?a=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(absolute.status, HeadParse::Status::Complete);
  EXPECT_EQ(absolute.head.target, "/v1/models?a=1");
  EXPECT_EQ(parse("GET http://proxy.example HTTP/1.1\r\nHost: a\r\n\r\n").head.target, "/");
  EXPECT_EQ(refusal("GET ftp://x/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  const std::string with_leading = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  HeadParse leading = parse(with_leading);
  ASSERT_EQ(leading.status, HeadParse::Status::Complete);
  EXPECT_EQ(leading.consumed, with_leading.size());
  EXPECT_EQ(refusal("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);  // more than four
  EXPECT_EQ(leading.head.target, "/");
}

namespace {

struct Decoded {
  RequestChunkDecoder::Status status;
  std::string body;
  std::size_t consumed;
};

// Feeds `input` in pieces of `step` bytes, as reads would deliver it.
Decoded decode(const std::string& input, std::size_t step) {
  RequestChunkDecoder decoder;
  Decoded out{RequestChunkDecoder::Status::NeedMore, "", 0};
  for (std::size_t at = 0; at < input.size(); at += step) {
    std::size_t used = 0;
    out.status = decoder.decode(std::string_view(input).substr(at, step), used, out.body);
    out.consumed += used;
    if (out.status != RequestChunkDecoder::Status::NeedMore) break;
  }
  return out;
}

}  // namespace

TEST(RequestChunkDecoder, DecodesInPiecesOfAnySizeAndStopsAtItsEnd) {
  const std::string body = "5;ext=1\r\nhello\r\nB\r\n, world! 12\r\n0\r\nTrailer: x\r\n\r\nGET /next";
  for (std::size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    Decoded d = decode(body, step);
    ASSERT_EQ(d.status, RequestChunkDecoder::Status::Done) << step;
    EXPECT_EQ(d.body, "hello, world! 12") << step;
    EXPECT_EQ(d.consumed, body.find("GET")) << step;  // the next request is left alone
  }
}

TEST(RequestChunkDecoder, RefusesWhatALenientParserWouldReadDifferently) {
  for (const char* bad : {"zz\r\n", "5 5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n", "5\nhello\r\n", "-1\r\n",
                          "5\r\nhelloXX0\r\n\r\n", "11111111111111111\r\n", "5;\x01\r\n", "0\r\nbad trailer\r\n\r\n",
                          "0x5\r\nhello\r\n", "5\r\nhello\r\n0\r\n\r\r\n"}) {
    Decoded d = decode(bad, 1000);
    EXPECT_EQ(d.status, RequestChunkDecoder::Status::Invalid) << bad;
  }
  // A size line without end and a trailer without end are both bounded.
  EXPECT_EQ(decode("5;" + std::string(10000, 'a'), 100).status, RequestChunkDecoder::Status::Invalid);
  EXPECT_EQ(decode("0\r\nX: " + std::string(20000, 'a'), 100).status, RequestChunkDecoder::Status::Invalid);
  // Cut off before the last chunk: still waiting, never done.
  EXPECT_EQ(decode("5\r\nhello\r\n", 1000).status, RequestChunkDecoder::Status::NeedMore);
}
