#include "tests/support/harness/compression.h"

#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <stdexcept>

namespace cosp::test {

namespace {

// One encoder fed piece by piece; finish() closes the stream.
class Encoder {
 public:
  Encoder(Coding coding, int level) : coding_(coding) {
    if (coding_ == Coding::Zstd) {
      zstd_ = ZSTD_createCCtx();
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, level);
      return;
    }
    const int bits = coding_ == Coding::Gzip ? 15 + 16 : coding_ == Coding::Zlib ? 15 : -15;
    if (deflateInit2(&zs_, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("deflateInit2");
    }
  }
  ~Encoder() {
    if (zstd_ != nullptr) {
      ZSTD_freeCCtx(zstd_);
    } else {
      deflateEnd(&zs_);
    }
  }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  void feed(std::string_view piece, bool last) {
    char buf[64 * 1024];
    if (zstd_ != nullptr) {
      ZSTD_inBuffer in{piece.data(), piece.size(), 0};
      for (;;) {
        ZSTD_outBuffer out{buf, sizeof buf, 0};
        const std::size_t left = ZSTD_compressStream2(zstd_, &out, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left)) throw std::runtime_error(ZSTD_getErrorName(left));
        out_.append(buf, out.pos);
        if (last ? left == 0 : in.pos == in.size) return;
      }
    }
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    zs_.avail_in = static_cast<uInt>(piece.size());
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = sizeof buf;
      const int rc = deflate(&zs_, last ? Z_FINISH : Z_NO_FLUSH);
      out_.append(buf, sizeof buf - zs_.avail_out);
      if (rc == Z_STREAM_END) return;
      if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate");
      if (!last && zs_.avail_in == 0 && zs_.avail_out != 0) return;
    }
  }
  std::string take() { return std::move(out_); }

 private:
  Coding coding_;
  ZSTD_CCtx* zstd_ = nullptr;
  z_stream zs_{};
  std::string out_;
};

}  // namespace

std::string compress(Coding coding, std::string_view data, int level) {
  Encoder encoder(coding, level);
  encoder.feed(data, true);
  return encoder.take();
}

namespace {

void appendLittleEndian(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// DEFLATE of `total` zeros without running the encoder over all of them (at level 9 that takes
// seconds per gigabyte): after Z_FULL_FLUSH the encoder starts afresh, so one mebibyte of zeros
// flushed that way encodes to the same bytes every time and the stream is that piece repeated.
// The wrappers' checksums are combined arithmetically (crc32_combine, adler32_combine).
std::string deflatedZeros(Coding coding, uint64_t total) {
  constexpr uLong kPiece = 1 << 20;
  const std::string zeros(kPiece, '\0');
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&zs, &deflateEnd);
  std::string buf(kPiece, '\0');
  auto run = [&](uLong in_size, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = static_cast<uInt>(in_size);
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    deflate(&zs, flush);
    if (zs.avail_in != 0 || zs.avail_out == 0) throw std::runtime_error("deflate piece");
    return buf.substr(0, buf.size() - zs.avail_out);
  };
  const uint64_t pieces = total / kPiece;
  const uLong tail = static_cast<uLong>(total % kPiece);
  std::string first = pieces > 0 ? run(kPiece, Z_FULL_FLUSH) : std::string();
  std::string body = first;
  if (pieces > 1) {
    const std::string second = run(kPiece, Z_FULL_FLUSH);
    if (second != first) throw std::runtime_error("deflate pieces differ");
    body.reserve(first.size() * pieces + 64);
    for (uint64_t i = 1; i < pieces; ++i) body += first;
  }
  body += run(tail, Z_FINISH);

  uLong crc = crc32(0, nullptr, 0);
  uLong adler = adler32(0, nullptr, 0);
  const uLong piece_crc = crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), kPiece);
  const uLong piece_adler = adler32(1, reinterpret_cast<const Bytef*>(zeros.data()), kPiece);
  for (uint64_t i = 0; i < pieces; ++i) {
    crc = crc32_combine(crc, piece_crc, kPiece);
    adler = adler32_combine(adler, piece_adler, kPiece);
  }
  crc = crc32(crc, reinterpret_cast<const Bytef*>(zeros.data()), tail);
  adler = adler32(adler, reinterpret_cast<const Bytef*>(zeros.data()), tail);

  switch (coding) {
    case Coding::Gzip: {
      std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", 10);
      out += body;
      appendLittleEndian(out, static_cast<uint32_t>(crc));
      appendLittleEndian(out, static_cast<uint32_t>(total & 0xffffffffu));
      return out;
    }
    case Coding::Zlib: {
      std::string out("\x78\xda", 2);
      out += body;
      for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((adler >> (8 * i)) & 0xff));
      return out;
    }
    default:
      return body;
  }
}

}  // namespace

std::string compressedZeros(Coding coding, uint64_t total) {
  if (coding != Coding::Zstd) return deflatedZeros(coding, total);
  Encoder encoder(coding, 1);
  const std::string zeros(1 << 20, '\0');
  if (total == 0) encoder.feed({}, true);
  while (total > 0) {
    const uint64_t take = std::min<uint64_t>(total, zeros.size());
    total -= take;
    encoder.feed(std::string_view(zeros.data(), take), total == 0);
  }
  return encoder.take();
}

}  // namespace cosp::test
