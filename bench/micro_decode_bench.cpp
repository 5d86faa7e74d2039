// A decompression bomb against the request-body decoder (worker/http/body_decoding.h): how long
// the worker spends before it refuses one with 413. The decoder stops at the limit, so a bomb of
// 64 MiB of zeros costs what one of 2 GiB does (the integration test CompressedBody.BombsAre413WithoutTheWorkerGrowing
// sends those and checks the worker does not grow).
#include <benchmark/benchmark.h>
#include <zlib.h>
#include <zstd.h>

#include <stdexcept>
#include <string>

#include "worker/http/body_decoding.h"

namespace cosp::bench {
namespace {

constexpr std::size_t kZeros = 64u << 20;
constexpr std::uint64_t kLimit = 16u << 20;  // MAX_BODY_BYTES' default

std::string zstdBomb() {
  const std::string zeros(kZeros, '\0');
  std::string out(ZSTD_compressBound(zeros.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), zeros.data(), zeros.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("zstd");
  out.resize(n);
  return out;
}

std::string zlibBomb() {
  const std::string zeros(kZeros, '\0');
  uLongf size = compressBound(static_cast<uLong>(zeros.size()));
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(zeros.data()),
                static_cast<uLong>(zeros.size()), 6) != Z_OK) {
    throw std::runtime_error("zlib");
  }
  out.resize(size);
  return out;
}

void BM_DecodeBomb(benchmark::State& state) {
  const bool zstd = state.range(0) == 0;
  const std::string bomb = zstd ? zstdBomb() : zlibBomb();
  const worker::BodyCoding coding = zstd ? worker::BodyCoding::Zstd : worker::BodyCoding::Deflate;
  for (auto _ : state) {
    auto decoded = worker::decodeBody(coding, bomb, kLimit);
    if (decoded.ok() || decoded.error().status != 413) state.SkipWithError("the bomb was not refused with 413");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetLabel(zstd ? "zstd" : "deflate");
}

BENCHMARK(BM_DecodeBomb)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cosp::bench
