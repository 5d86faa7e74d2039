#include "worker/handlers/request_body.h"

#include <istream>

namespace cosp::worker {

namespace {

common::ApiError tooLarge(uint64_t max_bytes) {
  return common::ApiError{413, "invalid_request_error",
                          "Request body exceeds the limit of " + std::to_string(max_bytes) + " bytes (MAX_BODY_BYTES)",
                          std::nullopt, "request_too_large", {}};
}

}  // namespace

common::Result<std::string> readRequestBody(Poco::Net::HTTPServerRequest& request, uint64_t max_bytes) {
  std::istream& in = request.stream();
  std::string body;
  if (request.hasContentLength()) {
    auto length = static_cast<uint64_t>(request.getContentLength64());
    if (length > max_bytes) return tooLarge(max_bytes);
    body.resize(length);
    in.read(body.data(), static_cast<std::streamsize>(length));
    if (static_cast<uint64_t>(in.gcount()) != length) {
      return common::ApiError::invalidRequest("The request body ended before its Content-Length of " +
                                              std::to_string(length) + " bytes");
    }
    return body;
  }
  if (!request.getChunkedTransferEncoding()) return body;  // no body at all
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    if (body.size() + n > max_bytes) return tooLarge(max_bytes);
    body.append(buf, n);
  }
  return body;
}

}  // namespace cosp::worker
