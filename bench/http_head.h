#pragma once

// The few HTTP/1.1 head helpers the bench's client and fake upstream share. Header-only and
// without dependencies: the fake upstream links nothing of the project.

#include <cstddef>
#include <string_view>

namespace cosp::bench {

inline char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool asciiIEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

inline bool asciiIStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && asciiIEquals(s.substr(0, prefix.size()), prefix);
}

inline bool asciiIContains(std::string_view hay, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (asciiIEquals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// Without optional white space around it (and a stray CR at the end).
inline std::string_view trimHeaderValue(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Calls on_header(name, trimmed value) for every "name: value" line of `head` (CRLF lines,
// without the final blank line) from offset `pos` on, the start line's end; other lines are skipped.
template <typename OnHeader>
void forEachHeader(std::string_view head, std::size_t pos, OnHeader on_header) {
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    on_header(line.substr(0, colon), trimHeaderValue(line.substr(colon + 1)));
  }
}

}  // namespace cosp::bench
