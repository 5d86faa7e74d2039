#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/util/result.h"
#include "worker/http/client_connection.h"
#include "worker/http/request_head.h"

namespace cosp::worker {

// How long a body may take: `timeout`, plus one second for every `min_rate` bytes received
// (Apache's mod_reqtimeout rule): a large upload from a fast client is never cut, a client that
// trickles a byte now and then cannot hold a thread for long.
struct BodyLimits {
  std::chrono::milliseconds timeout{20000};
  uint64_t min_rate = 16 * 1024;
};

// A request whose head has been parsed, on its connection. Accessor names follow POCO's
// HTTPServerRequest, which this replaces, so handlers read the same.
class HttpRequest {
 public:
  HttpRequest(RequestHead head, ClientConnection& connection, BodyLimits limits)
      : head_(std::move(head)),
        connection_(connection),
        limits_(limits),
        half_closed_at_start_(connection.peerClosed()) {}

  const std::string& getMethod() const { return head_.method; }
  const std::string& getURI() const { return head_.target; }
  std::string_view path() const { return head_.path(); }
  bool has(std::string_view name) const { return head_.header(name).has_value(); }
  // The value of `name`, empty when absent (test with has() first when that matters).
  std::string get(std::string_view name) const { return std::string(head_.header(name).value_or("")); }
  std::optional<std::string_view> header(std::string_view name) const { return head_.header(name); }
  auto begin() const { return head_.headers.begin(); }
  auto end() const { return head_.headers.end(); }

  bool hasContentLength() const { return head_.framing == RequestFraming::Length; }
  int64_t getContentLength64() const { return static_cast<int64_t>(head_.content_length); }
  bool getChunkedTransferEncoding() const { return head_.framing == RequestFraming::Chunked; }
  bool hasBody() const { return head_.framing != RequestFraming::None; }
  bool keepAliveRequested() const { return head_.keep_alive; }
  const RequestHead& head() const { return head_; }

  // Reads the whole body, at most `max_bytes` of it (413 beyond, decided from Content-Length
  // before reading when there is one). Sends "100 Continue" first when the client waits for it.
  // A body that ends early (the connection closed, a chunked body without its last chunk) is an
  // error, never a shorter body. After success, what follows in the buffer is the next request.
  common::Result<std::string> readBody(uint64_t max_bytes);
  // The body was read to its end (or there was none): the connection may serve another request.
  bool bodyConsumed() const { return !hasBody() || body_consumed_; }

  int socketFd() const { return connection_.fd(); }
  // The client closed its sending side before its answer began: it still waits for the answer
  // (HTTP/1.0 clients and `nc -N` do this), so its end of file is not a hang-up.
  bool peerHalfClosed() const { return half_closed_at_start_; }
  ClientConnection& connection() { return connection_; }

 private:
  RequestHead head_;
  ClientConnection& connection_;
  BodyLimits limits_;
  bool body_consumed_ = false;
  const bool half_closed_at_start_;
};

}  // namespace cosp::worker
