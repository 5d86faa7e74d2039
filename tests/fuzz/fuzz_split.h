#pragma once

// Fuzzer-chosen split points for the incremental parsers (SSE, chunked bodies, response heads).
//
// Input layout: byte 0 is a header, then up to 7 piece lengths, then the payload.
//   header & 7   k, the number of piece-length bytes that follow (0..7)
//   header & 8   after the k pieces, feed the rest one byte at a time
//   otherwise    the k lengths repeat until the payload is used up (k == 0: the rest in one piece)
// A length byte of 0 is an empty piece: feeding nothing must be harmless too.
//
// Seed files therefore start with "\0" (the payload in one piece) or another header; the
// corpus README says so.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cosp::fuzz {

struct SplitInput {
  std::string_view payload;
  std::vector<std::string_view> pieces;  // concatenated, exactly `payload`
};

inline SplitInput splitInput(const std::uint8_t* data, std::size_t size) {
  SplitInput out;
  if (size == 0) return out;
  const std::uint8_t header = data[0];
  const std::size_t k = std::min<std::size_t>(header & 7u, size - 1);
  const bool bytewise_tail = (header & 8u) != 0;
  std::vector<std::size_t> lengths(data + 1, data + 1 + k);
  out.payload = std::string_view(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k);

  std::string_view rest = out.payload;
  auto take = [&](std::size_t n) {
    n = std::min(n, rest.size());
    out.pieces.push_back(rest.substr(0, n));
    rest.remove_prefix(n);
  };
  for (std::size_t n : lengths) take(n);
  if (bytewise_tail) {
    while (!rest.empty()) take(1);
  } else {
    std::size_t cycle = 0;
    for (std::size_t n : lengths) cycle += n;
    if (cycle == 0) {
      take(rest.size());
    } else {
      for (std::size_t i = 0; !rest.empty(); i = (i + 1) % lengths.size()) take(lengths[i]);
    }
  }
  if (out.pieces.empty()) out.pieces.push_back(rest);  // an empty payload is still fed once
  return out;
}

// The pieces of `pieces` that lie at or after `offset` in their concatenation.
inline std::vector<std::string_view> piecesFrom(const std::vector<std::string_view>& pieces, std::size_t offset) {
  std::vector<std::string_view> out;
  for (std::string_view p : pieces) {
    if (offset >= p.size()) {
      offset -= p.size();
      continue;
    }
    out.push_back(p.substr(offset));
    offset = 0;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

}  // namespace cosp::fuzz
