// Compressed request bodies (worker/http/body_decoding.h). Byte 0 picks the coding (low 2 bits:
// zstd, gzip, deflate, identity) and byte 1 the decoded-size limit (0-255 × 256 bytes); the rest
// is the encoded body. The same payload is also compressed for real and decoded back.
//
// Invariants:
//  - decoding is deterministic; a success is never larger than the limit; a failure is 400 or 413
//    (never 415 or 5xx: the coding is already known);
//  - the limit only decides between the decoded body and 413: with the limit set to the decoded
//    size it decodes to the same bytes, one byte less is 413;
//  - what the real encoder makes decodes back to the payload (413 when the payload is over the
//    limit);
//  - parseContentEncoding, given the payload as a header value, answers a known coding or 415.

#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tests/support/harness/compression.h"
#include "worker/http/body_decoding.h"

namespace {

using cosp::worker::BodyCoding;

constexpr BodyCoding kCodings[] = {BodyCoding::Zstd, BodyCoding::Gzip, BodyCoding::Deflate, BodyCoding::Identity};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const BodyCoding coding = kCodings[data[0] & 3];
  const uint64_t limit = static_cast<uint64_t>(data[1]) * 256;
  const std::string_view payload(reinterpret_cast<const char*>(data + 2), size - 2);

  auto decoded = cosp::worker::decodeBody(coding, payload, limit);
  auto again = cosp::worker::decodeBody(coding, payload, limit);
  FUZZ_CHECK(decoded.ok() == again.ok());
  if (decoded) {
    FUZZ_CHECK(*decoded == *again);
    FUZZ_CHECK(decoded->size() <= limit);
    auto exact = cosp::worker::decodeBody(coding, payload, decoded->size());
    FUZZ_CHECK(exact && *exact == *decoded);
    if (!decoded->empty()) {
      auto under = cosp::worker::decodeBody(coding, payload, decoded->size() - 1);
      FUZZ_CHECK(!under && under.error().status == 413);
    }
  } else {
    FUZZ_CHECK(decoded.error().status == 400 || decoded.error().status == 413);
    FUZZ_CHECK(again.error().status == decoded.error().status);
  }

  if (coding != BodyCoding::Identity) {
    const cosp::test::Coding real = coding == BodyCoding::Zstd   ? cosp::test::Coding::Zstd
                                    : coding == BodyCoding::Gzip ? cosp::test::Coding::Gzip
                                    : (data[0] & 4) != 0         ? cosp::test::Coding::RawDeflate
                                                                 : cosp::test::Coding::Zlib;
    auto round = cosp::worker::decodeBody(coding, cosp::test::compress(real, payload, 1), limit);
    if (payload.size() <= limit) {
      FUZZ_CHECK(round && *round == payload);
    } else {
      FUZZ_CHECK(!round && round.error().status == 413);
    }
  }

  auto parsed = cosp::worker::parseContentEncoding(payload);
  FUZZ_CHECK(parsed || parsed.error().status == 415);
  return 0;
}
