#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/util/result.h"

namespace cosp::worker {

// The content codings a request body may arrive in (RFC 9110 §8.4.1). The Codex CLI logged in
// with ChatGPT compresses its bodies with zstd; gzip and deflate are what other HTTP clients send.
enum class BodyCoding { Identity, Zstd, Gzip, Deflate };

// The coding a Content-Encoding value names: one coding, case-insensitive, optionally listed with
// "identity" (which is no coding). Stacked codings ("gzip, zstd") and unknown ones are a 415: the
// body is not decoded, never guessed at.
common::Result<BodyCoding> parseContentEncoding(std::string_view header_value);

// Decodes `encoded` in bounded steps: the decoded size counts against `limit` as it is produced,
// so a decompression bomb stops with 413 once `limit` bytes are exceeded, never fully inflated
// (and memory never holds more than `limit` plus one step). A corrupt, truncated or over-long
// stream is a 400. deflate is the zlib-wrapped stream of RFC 9110 §8.4.1.2, and raw DEFLATE as
// browsers have sent it for years; gzip accepts concatenated members (RFC 1952 §2.2).
common::Result<std::string> decodeBody(BodyCoding coding, std::string_view encoded, uint64_t limit);

}  // namespace cosp::worker
