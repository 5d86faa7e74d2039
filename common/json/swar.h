#pragma once

#include <cstdint>

// Eight bytes at a time ("SIMD within a register") for the JSON parser and writer: both skip
// plain string bytes a word at a time and fall back to byte steps only where this says so.
namespace cosp::common::swar {

inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// Non-zero when any byte of w is zero (the classic bit trick; exact for "any").
inline std::uint64_t hasZeroByte(std::uint64_t w) { return (w - kOnes) & ~w & kHighs; }

// Non-zero when one of the 8 bytes must be escaped in a JSON string: '"', '\\' or < 0x20.
// Bytes >= 0x80 (UTF-8) are masked out of the control test (~w) so they never trigger it.
inline std::uint64_t needsEscape(std::uint64_t w) {
  const std::uint64_t control = (w - 0x2020202020202020ULL) & ~w & kHighs;
  const std::uint64_t quote = hasZeroByte(w ^ 0x2222222222222222ULL);
  const std::uint64_t backslash = hasZeroByte(w ^ 0x5C5C5C5C5C5C5C5CULL);
  return control | quote | backslash;
}

// Non-zero when one of the 8 bytes is not plain ASCII (>= 0x80).
inline std::uint64_t nonAscii(std::uint64_t w) { return w & kHighs; }

}  // namespace cosp::common::swar
