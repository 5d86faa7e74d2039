#include "worker/http/request_head.h"

#include <algorithm>

#include "common/util/http_syntax.h"
#include "common/util/strings.h"

namespace cosp::worker {

namespace {

using common::equalsIgnoreCase;
using common::isFieldValue;
using common::isToken;

HeadParse invalid(int status, std::string error) {
  HeadParse p;
  p.status = HeadParse::Status::Invalid;
  p.error_status = status;
  p.error = std::move(error);
  return p;
}

bool isTargetChar(unsigned char c) { return c > 0x20 && c < 0x7f; }

// Whether the comma-separated list `value` holds `token` (Connection: keep-alive, close).
bool listHas(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = common::trimView(value.substr(0, comma));
    if (equalsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// The request line "METHOD SP target SP HTTP/1.x"; fills method, target and version.
std::optional<HeadParse> parseRequestLine(std::string_view line, RequestHead& head) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return invalid(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  if (!isToken(method)) return invalid(400, "malformed method");
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return invalid(400, "request line without an HTTP version");
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) { return isTargetChar(c); })) {
    return invalid(400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return invalid(400, "malformed HTTP version");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) return invalid(505, "HTTP version not supported");
  head.minor_version = version[7] - '0';
  head.method = std::string(method);
  if (target[0] == '/') {
    head.target = std::string(target);
  } else if (target == "*") {
    if (method != "OPTIONS") return invalid(400, "asterisk-form target outside OPTIONS");
    head.target = "*";
  } else {
    // absolute-form (RFC 9112 §3.2.2: a server must accept it): keep the path and query.
    std::size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return invalid(400, "malformed request target");
    std::string_view scheme_name = target.substr(0, scheme);
    if (!equalsIgnoreCase(scheme_name, "http") && !equalsIgnoreCase(scheme_name, "https")) {
      return invalid(400, "malformed request target");
    }
    std::size_t path = target.find_first_of("/?", scheme + 3);
    if (path == std::string_view::npos)
      head.target = "/";
    else if (target[path] == '?')
      head.target = "/" + std::string(target.substr(path));
    else
      head.target = std::string(target.substr(path));
  }
  return std::nullopt;
}

bool parseContentLength(std::string_view value, uint64_t& out) {
  if (value.empty() || value.size() > 18) return false;  // 18 digits stay below 2^63
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  out = n;
  return true;
}

// Framing, connection and expectation rules that need the whole header section.
std::optional<HeadParse> applyHeaderRules(RequestHead& head) {
  int hosts = 0, lengths = 0, encodings = 0, authorizations = 0, api_keys = 0;
  std::string_view length_value, encoding_value, connection, expect;
  bool has_expect = false;
  for (const auto& [name, value] : head.headers) {
    if (equalsIgnoreCase(name, "host"))
      ++hosts;
    else if (equalsIgnoreCase(name, "content-length"))
      ++lengths, length_value = value;
    else if (equalsIgnoreCase(name, "transfer-encoding"))
      ++encodings, encoding_value = value;
    else if (equalsIgnoreCase(name, "authorization"))
      ++authorizations;
    else if (equalsIgnoreCase(name, "x-api-key"))
      ++api_keys;
    else if (equalsIgnoreCase(name, "expect")) {
      if (has_expect) return invalid(400, "several Expect fields");
      has_expect = true;
      expect = value;
    } else if (equalsIgnoreCase(name, "connection")) {
      // Several Connection fields form one list; keep-alive and close are all we look for.
      if (listHas(value, "close"))
        connection = "close";
      else if (listHas(value, "keep-alive") && connection != "close")
        connection = "keep-alive";
    }
  }
  if (head.minor_version == 1 && hosts != 1) return invalid(400, hosts == 0 ? "missing Host" : "several Host fields");
  if (head.minor_version == 0 && hosts > 1) return invalid(400, "several Host fields");
  if (authorizations > 1) return invalid(400, "several Authorization fields");
  if (api_keys > 1) return invalid(400, "several x-api-key fields");
  if (encodings > 0) {
    if (encodings > 1 || !equalsIgnoreCase(encoding_value, "chunked")) {
      return invalid(400, "Transfer-Encoding other than chunked");  // 501 would invite a retry elsewhere
    }
    if (lengths > 0) return invalid(400, "both Transfer-Encoding and Content-Length");
    if (head.minor_version == 0) return invalid(400, "Transfer-Encoding in an HTTP/1.0 request");
    head.framing = RequestFraming::Chunked;
  } else if (lengths > 0) {
    if (lengths > 1) return invalid(400, "several Content-Length fields");
    if (!parseContentLength(length_value, head.content_length)) return invalid(400, "malformed Content-Length");
    head.framing = head.content_length > 0 ? RequestFraming::Length : RequestFraming::None;
  }
  if (has_expect) {
    if (!equalsIgnoreCase(expect, "100-continue")) return invalid(417, "unsupported expectation");
    head.expect_continue = head.framing != RequestFraming::None;
  }
  head.keep_alive = head.minor_version == 1 ? connection != "close" : connection == "keep-alive";
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> RequestHead::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view RequestHead::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

HeadParse parseRequestHead(std::string_view bytes, const HeadLimits& limits) {
  // Look at no more than the limit allows: a head is judged by its first max_head_bytes.
  const bool truncated = bytes.size() > limits.max_head_bytes;
  std::string_view window = truncated ? bytes.substr(0, limits.max_head_bytes) : bytes;
  std::size_t pos = 0;
  for (int skipped = 0; skipped < 4 && window.substr(pos, 2) == "\r\n"; ++skipped) pos += 2;

  RequestHead head;
  bool have_request_line = false;
  for (;;) {
    std::size_t eol = window.find('\n', pos);
    // Control bytes (bare CR, NUL) are refused as soon as they arrive, not once the line ends.
    std::string_view line = window.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c == '\r') {
        if (eol == std::string_view::npos && i + 1 == line.size()) break;  // the LF may follow
        if (i + 1 != line.size()) return invalid(400, "bare CR in the request head");
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return invalid(400, "control character in the request head");
      }
    }
    if (eol == std::string_view::npos) {
      if (truncated) return invalid(431, "request head larger than the limit");
      HeadParse p;
      return p;  // Incomplete
    }
    if (line.empty() || line.back() != '\r') return invalid(400, "line not ended by CRLF");
    line.remove_suffix(1);
    pos = eol + 1;
    if (!have_request_line) {
      if (auto error = parseRequestLine(line, head)) return *error;
      have_request_line = true;
      continue;
    }
    if (line.empty()) break;  // end of the header section
    if (line[0] == ' ' || line[0] == '\t') return invalid(400, "folded header line");
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return invalid(400, "header line without a colon");
    std::string_view name = line.substr(0, colon);
    if (!isToken(name)) return invalid(400, "malformed header name");
    if (head.headers.size() >= limits.max_headers) return invalid(431, "too many header fields");
    head.headers.emplace_back(std::string(name), std::string(common::trimView(line.substr(colon + 1))));
  }
  if (auto error = applyHeaderRules(head)) return *error;
  HeadParse p;
  p.status = HeadParse::Status::Complete;
  p.consumed = pos;
  p.head = std::move(head);
  return p;
}

}  // namespace cosp::worker
