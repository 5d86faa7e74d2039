#include "worker/http/http_response.h"

#include <ctime>

#include "common/log/log.h"
#include "common/util/http_syntax.h"
#include "worker/http/chunk_writer.h"

namespace cosp::worker {

using common::equalsIgnoreCase;

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string httpDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char out[40];
  std::size_t n = std::strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(out, n);
}

bool HttpResponse::set(std::string_view name, std::string_view value) {
  if (sent_) return false;
  if (!common::isToken(name) || !common::isFieldValue(value)) {
    common::logWarn("response_header_refused")
        .field("name_bytes", static_cast<int64_t>(name.size()))
        .field("value_bytes", static_cast<int64_t>(value.size()));
    return false;
  }
  for (auto& [n, v] : headers_) {
    if (equalsIgnoreCase(n, name)) {
      v = std::string(value);
      return true;
    }
  }
  headers_.emplace_back(std::string(name), std::string(value));
  return true;
}

bool HttpResponse::has(std::string_view name) const {
  for (const auto& [n, v] : headers_) {
    if (equalsIgnoreCase(n, name)) return true;
  }
  return false;
}

ClientConnection::Clock::time_point HttpResponse::writeDeadline() const {
  return ClientConnection::Clock::now() + options_.send_timeout;
}

bool HttpResponse::send() {
  if (sent_) return !failed_;
  sent_ = true;
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(status_);
  head += ' ';
  head += reasonPhrase(status_);
  head += "\r\nDate: ";
  head += httpDate();
  head += "\r\nServer: ";
  head += options_.server_name;
  head += "\r\n";
  for (const auto& [name, value] : headers_) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (chunked_) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (content_length_ >= 0) {
    head += "Content-Length: ";
    head += std::to_string(content_length_);
    head += "\r\n";
  } else {
    keep_alive_ = false;  // a body delimited by closing the connection
  }
  if (keep_alive_) {
    head += "Connection: keep-alive\r\nKeep-Alive: timeout=";
    head += std::to_string(options_.keep_alive_seconds);
    head += "\r\n\r\n";
  } else {
    head += "Connection: close\r\n\r\n";
  }
  if (!chunked_ && content_length_ > 0 && !options_.head_only) {
    pending_head_ = std::move(head);  // goes out with the body
    return true;
  }
  if (!connection_.writeAll(head, writeDeadline())) failed_ = true;
  return !failed_;
}

bool HttpResponse::write(std::string_view bytes) {
  if (!sent_ && !send()) return false;
  if (failed_) return false;
  if (options_.head_only || bytes.empty()) return true;
  bool ok;
  if (chunked_) {
    ok = sendChunk(connection_.fd(), bytes, options_.send_timeout);
  } else {
    ok = connection_.writeAll(pending_head_, bytes, writeDeadline());
    std::string().swap(pending_head_);
  }
  if (!ok) failed_ = true;
  return ok;
}

bool HttpResponse::finish() {
  if (!sent_ && !send()) return false;
  if (!pending_head_.empty() && !failed_) {  // a body that was never written: the head alone
    if (!connection_.writeAll(pending_head_, writeDeadline())) failed_ = true;
    std::string().swap(pending_head_);
  }
  if (!chunked_ || finished_ || failed_ || options_.head_only) return !failed_;
  finished_ = true;
  if (!connection_.writeAll("0\r\n\r\n", writeDeadline())) failed_ = true;
  return !failed_;
}

}  // namespace cosp::worker
