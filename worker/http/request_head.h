#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cosp::worker {

// How a request's body is delimited (RFC 9112 §6.3).
enum class RequestFraming { None, Length, Chunked };

// A request line and header section, parsed strictly. Header values are the bytes the client
// sent, trimmed of surrounding white space and never decoded: POCO 1.11 applied RFC 2047
// decoding to every request header, so `Authorization: Bearer =?UTF-8?Q?k?=` authenticated as
// `k` and an encoded CR/LF reached the upstream request.
struct RequestHead {
  std::string method;
  std::string target;     // origin-form ("/v1/models?x=1") or "*"; an absolute-form target is reduced to its path
  int minor_version = 1;  // HTTP/1.minor_version: 0 or 1
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  RequestFraming framing = RequestFraming::None;
  uint64_t content_length = 0;  // with RequestFraming::Length
  bool keep_alive = true;       // after this request, per version and Connection
  bool expect_continue = false;

  // The value of the header `name` (ASCII case-insensitive); the first when repeated.
  std::optional<std::string_view> header(std::string_view name) const;
  // The path of the target, without its query.
  std::string_view path() const;
};

struct HeadLimits {
  std::size_t max_head_bytes = 64 * 1024;  // request line plus header section, CRLFs included
  std::size_t max_headers = 128;
};

// The outcome of parsing the bytes received so far.
struct HeadParse {
  enum class Status { Incomplete, Complete, Invalid };
  Status status = Status::Incomplete;
  std::size_t consumed = 0;  // Complete: bytes of the head, up to and including its empty line
  int error_status = 0;      // Invalid: 400, 431, 501 or 505
  std::string error;         // Invalid: what was wrong, for the error body and the log (no header values)
  RequestHead head;          // Complete
};

// Parses the head at the start of `bytes` per RFC 9110/9112, refusing everything a more lenient
// parser elsewhere on the path (a load balancer, POCO) could read differently, since a second
// reading of the same bytes is how requests are smuggled:
//  - lines end in CRLF; a bare CR or LF, NUL or another control byte in a name or value: 400;
//  - exactly one SP between method, target and version; the version is HTTP/1.0 or HTTP/1.1
//    (another HTTP/x.y: 505; anything else, HTTP/0.9 included: 400);
//  - a header line without a colon, white space before the colon, an empty name or a folded
//    (obs-fold) line: 400;
//  - Transfer-Encoding other than exactly `chunked`, Transfer-Encoding with Content-Length,
//    Transfer-Encoding on HTTP/1.0, several Content-Length fields (even equal ones), or one that
//    is not 1-18 decimal digits: 400;
//  - HTTP/1.1 without exactly one Host; several Authorization or x-api-key fields: 400;
//  - an Expect other than 100-continue: 417;
//  - a head larger than max_head_bytes, or more than max_headers fields: 431.
// Up to four empty lines before the request line are skipped (RFC 9112 §2.2). Incomplete means
// that no error shows in `bytes` yet and more bytes are needed; it never holds more than
// max_head_bytes.
HeadParse parseRequestHead(std::string_view bytes, const HeadLimits& limits = {});

}  // namespace cosp::worker
