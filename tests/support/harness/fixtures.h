#pragma once

// Golden-file helpers: fixture loading (paths relative to tests/fixtures), canonical JSON
// comparison, SSE replay in arbitrary chunkings.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"
#include "tests/support/harness/paths.h"
#include "worker/sse/sse_parser.h"

namespace cosp::test {

inline std::string readFixture(const std::string& relative) {
  std::ifstream in(fixturePath(relative), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing fixture " << relative;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool fixtureExists(const std::string& relative) {
  std::ifstream in(fixturePath(relative));
  return static_cast<bool>(in);
}

inline void writeFixture(const std::string& relative, const std::string& text) {
  std::ofstream out(fixturePath(relative), std::ios::binary | std::ios::trunc);
  out << text;
}

// Golden files are regenerated (never silently) only with COSP_REGENERATE_GOLDENS=1.
inline bool regenerateGoldens() {
  const char* v = std::getenv("COSP_REGENERATE_GOLDENS");
  return v != nullptr && std::string(v) == "1";
}

// Parse + compact re-serialisation: formatting differences vanish, key order stays.
inline std::string canonical(std::string_view json) {
  auto parsed = common::parseJson(json);
  if (!parsed.ok()) {
    ADD_FAILURE() << "invalid JSON (" << parsed.error().message << " at " << parsed.error().offset << "): " << json;
    return std::string(json);
  }
  return common::toJson(parsed.value());
}

inline common::JsonValue parsed(std::string_view json) {
  auto r = common::parseJson(json);
  if (!r.ok()) {
    ADD_FAILURE() << "invalid JSON: " << json;
    return {};
  }
  return std::move(r).value();
}

// Feeds `bytes` to a fresh parser in chunks of the given sizes (cycled), then finish().
inline std::vector<worker::SseEvent> parseSseChunked(const std::string& bytes, const std::vector<std::size_t>& sizes) {
  worker::SseParser parser;
  std::vector<worker::SseEvent> events;
  auto cb = [&](worker::SseEvent&& ev) { events.push_back(std::move(ev)); };
  std::size_t pos = 0;
  std::size_t i = 0;
  while (pos < bytes.size()) {
    const std::size_t n = std::min(sizes[i++ % sizes.size()], bytes.size() - pos);
    EXPECT_TRUE(parser.feed(std::string_view(bytes).substr(pos, n), cb));
    pos += n;
  }
  parser.finish(cb);
  return events;
}

inline std::vector<worker::SseEvent> parseSse(const std::string& bytes) {
  return parseSseChunked(bytes, {bytes.size() + 1});
}

// Random chunk sizes 1..max_chunk from a fixed seed (reproducible).
inline std::vector<std::size_t> randomChunkSizes(unsigned seed, std::size_t count, std::size_t max_chunk) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> dist(1, max_chunk);
  std::vector<std::size_t> sizes(count);
  for (auto& s : sizes) s = dist(rng);
  return sizes;
}

}  // namespace cosp::test
