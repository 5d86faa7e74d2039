#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cosp::test {

// Test-side encoders for the content codings the proxy decodes (worker/http/body_decoding.h),
// made with the real libraries so the round trips test against what clients send.
enum class Coding { Zstd, Gzip, Zlib, RawDeflate };

std::string compress(Coding coding, std::string_view data, int level = 3);

// `total` bytes of zeros compressed, fed to the encoder in small pieces so a gigabyte bomb never
// sits in memory in its decoded form (zstd at its fastest level; DEFLATE at level 9, about 1 MB
// per gigabyte, built from one repeated piece).
std::string compressedZeros(Coding coding, uint64_t total);

}  // namespace cosp::test
