#include "worker/http/body_decoding.h"

#include <zconf.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "common/util/http_syntax.h"

namespace cosp::worker {

namespace {

// One decoding step writes at most this much; the output grows by steps, so a bomb costs at most
// `limit` plus one step of memory before it is refused.
constexpr std::size_t kStep = 64 * 1024;

// zstd lets a frame ask for a window of up to 2^27 bytes (128 MiB) by default, allocated before a
// byte is decoded. Level 3 (what the Codex CLI uses) needs 2^21 at most, level 19 2^23; anything
// larger is refused rather than letting one request reserve 128 MiB.
constexpr int kZstdWindowLogMax = 23;

common::ApiError unsupportedEncoding(std::string message) {
  return common::ApiError{415,          "invalid_request_error",        std::move(message),
                          std::nullopt, "unsupported_content_encoding", {}};
}

common::ApiError corrupt(std::string_view coding, std::string_view why) {
  return common::ApiError::invalidRequest(
      "The request body is not valid " + std::string(coding) + " data (Content-Encoding): " + std::string(why),
      std::nullopt, "invalid_content_encoding");
}

common::ApiError decodedTooLarge(uint64_t limit) {
  return common::ApiError{
      413,
      "invalid_request_error",
      "The decoded request body exceeds the limit of " + std::to_string(limit) + " bytes (MAX_BODY_BYTES)",
      std::nullopt,
      "request_too_large",
      {}};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// How much the next step may write: one byte past the limit is enough to know it was exceeded.
std::size_t stepRoom(const std::string& out, uint64_t limit) {
  const uint64_t left = limit - std::min<uint64_t>(out.size(), limit) + 1;
  return static_cast<std::size_t>(std::min<uint64_t>(kStep, left));
}

common::Result<std::string> decodeZstd(std::string_view in, uint64_t limit) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!ctx) return common::ApiError::internal("Could not allocate a zstd decoder");
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, kZstdWindowLogMax);
  std::string out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::size_t pending = 0;  // non-zero: the last frame is not finished
  for (;;) {
    const std::size_t room = stepRoom(out, limit);
    const std::size_t before = out.size();
    out.resize(before + room);
    ZSTD_outBuffer output{out.data() + before, room, 0};
    pending = ZSTD_decompressStream(ctx.get(), &output, &input);
    out.resize(before + output.pos);
    if (ZSTD_isError(pending)) return corrupt("zstd", ZSTD_getErrorName(pending));
    if (out.size() > limit) return decodedTooLarge(limit);
    // Done when all input is used and the decoder has nothing buffered (it filled less than room).
    if (input.pos == input.size && output.pos < room) break;
  }
  if (pending != 0) return corrupt("zstd", "the stream ends inside a frame");
  return out;
}

// windowBits per zlib's inflateInit2: 15+16 = gzip, 15 = zlib wrapper, -15 = raw DEFLATE.
common::Result<std::string> decodeZlib(std::string_view in, uint64_t limit, int window_bits, std::string_view name) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return common::ApiError::internal("Could not start a zlib decoder");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  const bool gzip = window_bits > 15;
  std::string out;
  // zlib counts in uInt; a body is bounded by MAX_BODY_BYTES, but feed it in pieces regardless.
  std::size_t fed = 0;
  bool ended = false;
  for (;;) {
    if (zs.avail_in == 0 && fed < in.size()) {
      const std::size_t piece = std::min<std::size_t>(in.size() - fed, 1u << 30);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
      zs.avail_in = static_cast<uInt>(piece);
      fed += piece;
    }
    if (ended) {
      if (zs.avail_in == 0) break;
      // RFC 1952 §2.2: a gzip file is a series of members; anything after a zlib or raw stream
      // is not part of the body.
      if (!gzip) return corrupt(name, "data follows the end of the stream");
      if (inflateReset(&zs) != Z_OK) return corrupt(name, "cannot restart after a member");
      ended = false;
    }
    const std::size_t room = stepRoom(out, limit);
    const std::size_t before = out.size();
    out.resize(before + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(before + (room - zs.avail_out));
    if (out.size() > limit) return decodedTooLarge(limit);
    if (rc == Z_STREAM_END) {
      ended = true;
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      // No progress possible: out of input (truncated) since the output had room.
      return corrupt(name, "the stream ends before it is complete");
    }
    if (rc != Z_OK) return corrupt(name, zs.msg != nullptr ? zs.msg : "inflate failed");
  }
  return out;
}

// RFC 1950 §2.2: a zlib stream starts with CMF (method 8 = deflate, window <= 32 KiB) and FLG such
// that CMF*256+FLG is a multiple of 31. Raw DEFLATE data passing this check by chance would need
// its first block to start with those exact bits; browsers that send raw deflate never do.
bool looksLikeZlib(std::string_view in) {
  if (in.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(in[0]);
  const auto flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

}  // namespace

common::Result<BodyCoding> parseContentEncoding(std::string_view header_value) {
  std::optional<BodyCoding> found;
  std::string_view rest = header_value;
  for (;;) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (!item.empty() && !common::equalsIgnoreCase(item, "identity")) {
      std::optional<BodyCoding> coding;
      if (common::equalsIgnoreCase(item, "zstd")) coding = BodyCoding::Zstd;
      // x-gzip: RFC 9110 §8.4.1.3 asks recipients to treat it as gzip.
      if (common::equalsIgnoreCase(item, "gzip") || common::equalsIgnoreCase(item, "x-gzip")) {
        coding = BodyCoding::Gzip;
      }
      if (common::equalsIgnoreCase(item, "deflate")) coding = BodyCoding::Deflate;
      if (!coding) {
        return unsupportedEncoding("Content-Encoding \"" + std::string(item.substr(0, 64)) +
                                   "\" is not supported; use zstd, gzip, deflate or identity");
      }
      if (found) {
        return unsupportedEncoding(
            "Stacked content codings are not supported; send the body with one of zstd, gzip "
            "or deflate");
      }
      found = coding;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return found.value_or(BodyCoding::Identity);
}

common::Result<std::string> decodeBody(BodyCoding coding, std::string_view encoded, uint64_t limit) {
  // No bytes have nothing to decode; the empty body then gets the route's own answer (invalid JSON).
  if (encoded.empty()) return std::string();
  switch (coding) {
    case BodyCoding::Identity:
      if (encoded.size() > limit) return decodedTooLarge(limit);
      return std::string(encoded);
    case BodyCoding::Zstd:
      return decodeZstd(encoded, limit);
    case BodyCoding::Gzip:
      return decodeZlib(encoded, limit, 15 + 16, "gzip");
    case BodyCoding::Deflate:
      return decodeZlib(encoded, limit, looksLikeZlib(encoded) ? 15 : -15, "deflate");
  }
  return std::string(encoded);
}

}  // namespace cosp::worker
