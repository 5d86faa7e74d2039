#pragma once

#include "worker/http/http_request.h"
#include "worker/http/http_response.h"

namespace cosp::worker {

// What the HTTP server calls for every request whose head parsed.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Answers the request. Runs on a connection thread, where it may block (bounded by deadlines).
  // Must not throw; a handler that cannot answer leaves the response unsent and the connection
  // closes.
  virtual void handle(HttpRequest& request, HttpResponse& response) = 0;
  // Whether this request is answered from memory without waiting for anything (liveness and
  // readiness probes): the accept loop then answers it itself, so probes are answered even when
  // every connection thread is busy.
  virtual bool answersInline(const RequestHead& head) const = 0;
};

}  // namespace cosp::worker
