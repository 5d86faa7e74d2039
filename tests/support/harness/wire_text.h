#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cosp::test {

// Small pieces every raw-socket test needs.

// A blocking TCP connection to 127.0.0.1:port (on loopback it completes or fails at once), with
// SOCK_CLOEXEC; -1 when it failed.
int connectLoopback(int port);

// Milliseconds between two instants, and left until a deadline (never negative).
int64_t msBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to);
inline int64_t msSince(std::chrono::steady_clock::time_point from) {
  return msBetween(from, std::chrono::steady_clock::now());
}
int msLeft(std::chrono::steady_clock::time_point deadline);

// ASCII lower case.
std::string lower(std::string s);

// Bytes as a C-ish literal for failure messages: CR, LF, NUL, other control bytes and bytes
// >= 0x7f shown as escapes; beyond `max` bytes, only the length.
std::string printable(std::string_view bytes, std::size_t max = 600);

}  // namespace cosp::test
