#pragma once

#include <chrono>

#include "worker/http/http_request.h"
#include "worker/http/http_response.h"

namespace cosp::worker {

// Whether the client of a request has gone away, asked without reading from its socket:
// POLLRDHUP reports the client's FIN even while bytes of a pipelined request are pending.
//
// A FIN alone is ambiguous: a client that closed and one that only half-closed (`nc -N`,
// HTTP/1.0-era clients, some scripts: they shut their sending side after the request and still
// read the answer) look the same. So at the first FIN the watch writes a probe that any HTTP
// client skips (a `100 Continue` interim response before the answer's head, an SSE comment
// during a stream): a client that is really gone answers it with a reset, which shows as an
// error at the next look; a half-closed one reads it and is served. Without a probe to send
// (HTTP/1.0, a fixed-length answer already under way) a FIN means gone, as before.
class ClientWatch {
 public:
  using Clock = std::chrono::steady_clock;

  ClientWatch(HttpRequest& request, HttpResponse& response);

  bool gone() { return goneWithin(std::chrono::milliseconds(0)); }
  // Waits up to `wait` for the client to leave; true when it has (at once if it already had).
  bool goneWithin(std::chrono::milliseconds wait);
  void markGone() { gone_ = true; }
  bool isGone() const { return gone_; }  // as last seen, without asking the kernel
  int fd() const { return fd_; }
  // The socket an upstream wait may watch for the client's FIN; -1 once that FIN was seen (it
  // stays readable), when only errors tell: see slice().
  int hangupFd() const { return fin_seen_ ? -1 : fd_; }
  // How long an upstream wait may last before the caller looks at gone() again: after a FIN,
  // short, since nothing else wakes it when the probe's reset arrives.
  std::chrono::milliseconds slice(std::chrono::milliseconds wanted) const;

 private:
  bool probe();

  HttpRequest& request_;
  HttpResponse& response_;
  int fd_;
  bool fin_seen_ = false;  // half-closed at the start, or a probe went out after a FIN
  bool gone_ = false;
};

}  // namespace cosp::worker
