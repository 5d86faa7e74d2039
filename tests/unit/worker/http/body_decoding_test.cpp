// Compressed request bodies (worker/http/body_decoding.h): the Content-Encoding value, round trips
// through the real encoders, and the bounds: decoded size, bombs, corrupt and truncated streams.
#include "worker/http/body_decoding.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/harness/compression.h"

using cosp::test::Coding;
using cosp::test::compress;
using cosp::test::compressedZeros;
using cosp::worker::BodyCoding;
using cosp::worker::decodeBody;
using cosp::worker::parseContentEncoding;

namespace {

constexpr uint64_t kLimit = 16ull * 1024 * 1024;  // MAX_BODY_BYTES' default

BodyCoding codingFor(Coding c) {
  switch (c) {
    case Coding::Zstd:
      return BodyCoding::Zstd;
    case Coding::Gzip:
      return BodyCoding::Gzip;
    default:
      return BodyCoding::Deflate;
  }
}

// A JSON body the size of a real conversation, compressible but not trivially so.
std::string conversation(std::size_t bytes) {
  std::string s = R"({"model":"gpt-5","input":[)";
  for (int i = 0; s.size() < bytes; ++i) {
    s += R"({"role":"user","content":"message )" + std::to_string(i * 7919 % 100003) + R"("},)";
  }
  s.back() = ']';
  return s + "}";
}

int statusOf(const cosp::common::Result<std::string>& r) { return r ? 200 : r.error().status; }

const Coding kAll[] = {Coding::Zstd, Coding::Gzip, Coding::Zlib, Coding::RawDeflate};

}  // namespace

TEST(ContentEncoding, NamesOneCodingCaseInsensitivelyWithOptionalIdentity) {
  EXPECT_EQ(*parseContentEncoding("zstd"), BodyCoding::Zstd);
  EXPECT_EQ(*parseContentEncoding("ZSTD"), BodyCoding::Zstd);
  EXPECT_EQ(*parseContentEncoding("gzip"), BodyCoding::Gzip);
  EXPECT_EQ(*parseContentEncoding("x-gzip"), BodyCoding::Gzip);
  EXPECT_EQ(*parseContentEncoding("Deflate"), BodyCoding::Deflate);
  EXPECT_EQ(*parseContentEncoding("identity"), BodyCoding::Identity);
  EXPECT_EQ(*parseContentEncoding(""), BodyCoding::Identity);
  EXPECT_EQ(*parseContentEncoding(" gzip , identity"), BodyCoding::Gzip);
  EXPECT_EQ(*parseContentEncoding("identity,zstd"), BodyCoding::Zstd);
}

TEST(ContentEncoding, RefusesUnknownAndStackedCodingsWith415) {
  for (const char* value : {"br", "compress", "gzip, zstd", "deflate,gzip", "zstd;q=1"}) {
    auto r = parseContentEncoding(value);
    ASSERT_FALSE(r) << value;
    EXPECT_EQ(r.error().status, 415) << value;
    EXPECT_EQ(r.error().type, "invalid_request_error");
    EXPECT_EQ(r.error().code.value_or(""), "unsupported_content_encoding");
  }
}

TEST(BodyDecoding, EveryCodingRoundTrips) {
  const std::string body = conversation(300 * 1024);
  for (Coding c : kAll) {
    const std::string packed = compress(c, body);
    ASSERT_LT(packed.size(), body.size());
    auto decoded = decodeBody(codingFor(c), packed, kLimit);
    ASSERT_TRUE(decoded) << static_cast<int>(c) << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, body) << static_cast<int>(c);
  }
  auto same = decodeBody(BodyCoding::Identity, body, kLimit);
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, body);
}

TEST(BodyDecoding, ConcatenatedGzipMembersAndZstdFramesAreOneBody) {
  auto gz = decodeBody(BodyCoding::Gzip, compress(Coding::Gzip, "{\"a\":") + compress(Coding::Gzip, "1}"), kLimit);
  ASSERT_TRUE(gz) << gz.error().message;
  EXPECT_EQ(*gz, "{\"a\":1}");
  auto zs = decodeBody(BodyCoding::Zstd, compress(Coding::Zstd, "{\"a\":") + compress(Coding::Zstd, "1}"), kLimit);
  ASSERT_TRUE(zs) << zs.error().message;
  EXPECT_EQ(*zs, "{\"a\":1}");
}

TEST(BodyDecoding, DecodedSizeExactlyAtTheLimitPassesOneMoreIs413) {
  const uint64_t limit = 100000;
  const std::string at(limit, 'x');
  const std::string over(limit + 1, 'x');
  for (Coding c : kAll) {
    auto ok = decodeBody(codingFor(c), compress(c, at), limit);
    ASSERT_TRUE(ok) << static_cast<int>(c) << ": " << ok.error().message;
    EXPECT_EQ(ok->size(), limit);
    auto big = decodeBody(codingFor(c), compress(c, over), limit);
    ASSERT_FALSE(big) << static_cast<int>(c);
    EXPECT_EQ(big.error().status, 413);
    EXPECT_EQ(big.error().code.value_or(""), "request_too_large");
  }
  EXPECT_EQ(statusOf(decodeBody(BodyCoding::Identity, at, limit)), 200);
  EXPECT_EQ(statusOf(decodeBody(BodyCoding::Identity, over, limit)), 413);
}

TEST(BodyDecoding, AGibibyteBombIsRefusedWithoutInflatingIt) {
  for (Coding c : kAll) {
    const std::string bomb = compressedZeros(c, 1ull << 30);
    ASSERT_LT(bomb.size(), 2u << 20) << static_cast<int>(c);  // fits MAX_BODY_BYTES many times over
    const auto started = std::chrono::steady_clock::now();
    auto r = decodeBody(codingFor(c), bomb, kLimit);
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(r) << static_cast<int>(c);
    EXPECT_EQ(r.error().status, 413);
    // Decoding stops after kLimit bytes (16 MiB): a few milliseconds; inflating the whole
    // gigabyte takes seconds. Generous for sanitizer builds.
    EXPECT_LT(took, std::chrono::milliseconds(1500)) << static_cast<int>(c);
  }
}

TEST(BodyDecoding, CorruptOrTruncatedStreamsAre400) {
  const std::string body = conversation(20000);
  for (Coding c : kAll) {
    const std::string packed = compress(c, body);
    auto truncated = decodeBody(codingFor(c), packed.substr(0, packed.size() / 2), kLimit);
    ASSERT_FALSE(truncated) << static_cast<int>(c);
    EXPECT_EQ(truncated.error().status, 400) << static_cast<int>(c);
    EXPECT_EQ(truncated.error().type, "invalid_request_error");
  }
  for (BodyCoding b : {BodyCoding::Zstd, BodyCoding::Gzip}) {
    EXPECT_EQ(statusOf(decodeBody(b, R"({"model":"gpt-5"})", kLimit)), 400);
  }
  // Trailing bytes after a zstd frame or a zlib stream are not body.
  EXPECT_EQ(statusOf(decodeBody(BodyCoding::Zstd, compress(Coding::Zstd, body) + "junk", kLimit)), 400);
  EXPECT_EQ(statusOf(decodeBody(BodyCoding::Deflate, compress(Coding::Zlib, body) + "junk", kLimit)), 400);
  EXPECT_EQ(statusOf(decodeBody(BodyCoding::Gzip, compress(Coding::Gzip, body) + "junk", kLimit)), 400);
  // A flipped byte in the middle of a gzip member fails its CRC or its structure.
  std::string flipped = compress(Coding::Gzip, body);
  flipped[flipped.size() / 2] ^= 0x55;
  EXPECT_EQ(statusOf(decodeBody(BodyCoding::Gzip, flipped, kLimit)), 400);
}

TEST(BodyDecoding, AnEmptyBodyStaysEmpty) {
  for (BodyCoding b : {BodyCoding::Zstd, BodyCoding::Gzip, BodyCoding::Deflate}) {
    auto r = decodeBody(b, "", kLimit);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "");
  }
}

// The test's own bomb builder (tests/support/harness/compression.cpp) makes real streams: the
// decoder, given room, inflates them to exactly the zeros they stand for.
TEST(BodyDecoding, TheBombBuilderMakesValidStreams) {
  const uint64_t total = 3 * (1 << 20) + 12345;
  for (Coding c : kAll) {
    auto r = decodeBody(codingFor(c), compressedZeros(c, total), total);
    ASSERT_TRUE(r) << static_cast<int>(c) << ": " << r.error().message;
    EXPECT_EQ(r->size(), total);
    EXPECT_EQ(r->find_first_not_of('\0'), std::string::npos);
  }
}
