#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/json/json_value.h"
#include "common/util/result.h"

namespace cosp::common {

// Why not Poco::JSON::Parser on the request path (measured on the project's
// 2-core machine, POCO 1.11.0 from Debian):
//  - a 9 MB base64 string parses at ~60 MB/s (pdjson reads byte by byte through
//    a callback), far below the 150 MB/s round-trip budget for chat bodies;
//  - Poco::JSON::Object::set() with JSON_PRESERVE_KEY_ORDER scans its key list
//    on every insert, so one object with 40k keys takes ~3 s to parse: a cheap
//    denial of service inside a 16 MiB body.
// This parser is strict RFC 8259 (plus an optional leading UTF-8 BOM), validates
// UTF-8, caps nesting depth, and bulk-copies unescaped string runs.
struct JsonParseOptions {
  std::size_t max_depth = 256;  // arrays + objects open at once
  // String values longer than 15 bytes are not copied: without escapes they become
  // borrowed views into `text` (JsonValue::borrowed), with escapes escaped views
  // (JsonValue::escapedView: validated, written back without a decode/re-escape
  // round trip, decoded only when read). `text` must then outlive the document and
  // every copy of its values. Saves a copy and an allocation of large payloads
  // (a 9 MB image data URL) and of conversation text (issue 17). Keys are always owned.
  bool borrow_strings = false;
};

struct JsonParseError {
  std::string message;  // e.g. "unterminated string"; never contains input text
  std::size_t offset = 0;
};

Result<JsonValue, JsonParseError> parseJson(std::string_view text, const JsonParseOptions& options = {});

// The document when it is a JSON object; nullopt when it is malformed or another kind of value
// (channel messages, control requests, token endpoint answers, credential files).
std::optional<JsonValue> parseJsonObject(std::string_view text, const JsonParseOptions& options = {});

}  // namespace cosp::common
