#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// Eight bytes at a time ("SIMD within a register") for the JSON parser and writer: both skip
// plain string bytes a word at a time and fall back to byte steps only where this says so.
// Where SSE2 exists (every x86-64) the scans below take 16 bytes at a time instead.
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

// Index of the first byte of p[0..n) that a string scan must look at: '"', '\\', a control
// character (< 0x20) or a non-ASCII byte; n when there is none. The lowest flagged byte of a
// SWAR mask is exact (a borrow only runs upwards from a byte that really matched), so on a
// little-endian machine its bit position gives the byte without a byte loop.
inline std::size_t findStringSpecial(const unsigned char* p, std::size_t n) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  // Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches non-ASCII.
  auto special = [&](std::size_t at) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)), _mm_cmplt_epi8(x, space));
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
  };
  // 32 bytes per step (one branch for two vectors), then 16.
  for (; n - i >= 32; i += 32) {
    const unsigned mask = special(i) | (special(i + 16) << 16);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
  if (n - i >= 16) {
    const unsigned mask = special(i);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  for (; n - i >= 8; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    const std::uint64_t m = nonAscii(w) | needsEscape(w);
    if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return i + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
#else
      break;
#endif
    }
  }
  for (; i < n; ++i) {
    const unsigned char c = p[i];
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return i;
  }
  return n;
}

// Index of the first backslash of p[0..n), or n.
inline std::size_t findBackslash(const unsigned char* p, std::size_t n) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; n - i >= 16; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(x, backslash));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i) {
    if (p[i] == '\\') return i;
  }
  return n;
}

}  // namespace cosp::common::swar
