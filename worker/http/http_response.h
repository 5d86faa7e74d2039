#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worker/http/client_connection.h"

namespace cosp::worker {

// The response to one request: status, headers, then either a fixed-length body or a chunked
// stream. Setter names follow POCO's HTTPServerResponse, which this replaces.
//
// Every header is checked where it is set: a name that is not an RFC 9110 token, or a value with
// CR, LF, NUL or another control byte, is refused (logged by name length, never written), so
// nothing a request body or the backend says can split this response.
class HttpResponse {
 public:
  struct Options {
    std::chrono::milliseconds send_timeout{60000};  // one deadline per write, across partial sends
    bool head_only = false;                         // a HEAD request: headers, no body
    std::string server_name = "codex-sub-proxy";
    int keep_alive_seconds = 5;  // announced in Keep-Alive: timeout=N
  };
  HttpResponse(ClientConnection& connection, Options options) : connection_(connection), options_(std::move(options)) {}

  void setStatusAndReason(int status) { status_ = status; }
  int getStatus() const { return status_; }
  // Adds or replaces the header `name`; false (and nothing set) when it could split the response.
  bool set(std::string_view name, std::string_view value);
  bool has(std::string_view name) const;
  void setContentType(std::string_view type) { set("Content-Type", type); }
  void setContentLength64(int64_t length) { content_length_ = length; }
  void setChunkedTransferEncoding(bool chunked) { chunked_ = chunked; }
  void setKeepAlive(bool keep_alive) { keep_alive_ = keep_alive; }
  bool getKeepAlive() const { return keep_alive_; }
  bool isChunked() const { return chunked_; }

  // Fixes the status line and headers; a chunked head is written at once, a fixed-length one
  // with the body (one segment, one syscall). False when the client is gone (the connection
  // then closes). Called once; the head cannot change afterwards.
  bool send();
  bool sent() const { return sent_; }
  // Writes body bytes after send(): raw for a fixed length, one chunk each when chunked.
  bool write(std::string_view bytes);
  // Ends a chunked body with its last chunk. False when the client is gone.
  bool finish();
  bool failed() const { return failed_; }
  // The deadline for the next write, SEND_TIMEOUT from now.
  ClientConnection::Clock::time_point writeDeadline() const;

  int socketFd() const { return connection_.fd(); }

 private:
  ClientConnection& connection_;
  Options options_;
  int status_ = 200;
  std::vector<std::pair<std::string, std::string>> headers_;
  int64_t content_length_ = -1;
  bool chunked_ = false;
  bool keep_alive_ = true;
  bool sent_ = false;
  std::string pending_head_;  // a fixed-length response's head, sent together with its body
  bool finished_ = false;
  bool failed_ = false;
};

// The reason phrase of a status code ("Not Found"); "Unknown" for codes it does not know.
std::string_view reasonPhrase(int status);
// An IMF-fixdate of now, for the Date header.
std::string httpDate();

}  // namespace cosp::worker
