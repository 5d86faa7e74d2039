#include "worker/handlers/request_body.h"

namespace cosp::worker {

common::Result<std::string> readRequestBody(HttpRequest& request, uint64_t max_bytes) {
  return request.readBody(max_bytes);
}

}  // namespace cosp::worker
