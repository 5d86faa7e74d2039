#include "worker/http/http_request.h"

#include "worker/http/chunked_decoder.h"

namespace cosp::worker {

namespace {

using Clock = ClientConnection::Clock;

common::ApiError tooLarge(uint64_t max_bytes) {
  return common::ApiError{413,
                          "invalid_request_error",
                          "Request body exceeds the limit of " + std::to_string(max_bytes) + " bytes (MAX_BODY_BYTES)",
                          std::nullopt,
                          "request_too_large",
                          {}};
}

common::ApiError endedEarly() {
  return common::ApiError::invalidRequest("The request body ended before it was complete");
}

common::ApiError tooSlow() {
  return common::ApiError{408,
                          "invalid_request_error",
                          "The request body did not arrive in time (REQUEST_BODY_TIMEOUT, REQUEST_BODY_MIN_RATE)",
                          std::nullopt,
                          "request_timeout",
                          {}};
}

common::ApiError malformedChunks(const std::string& why) {
  return common::ApiError::invalidRequest("Malformed chunked request body: " + why);
}

}  // namespace

common::Result<std::string> HttpRequest::readBody(uint64_t max_bytes) {
  std::string body;
  if (!hasBody()) {
    body_consumed_ = true;
    return body;
  }
  if (hasContentLength() && head_.content_length > max_bytes) return tooLarge(max_bytes);
  std::string& buffer = connection_.buffer();
  if (head_.expect_continue && buffer.empty()) {
    // RFC 9110 §10.1.1: the client holds its body until told to send it.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!connection_.writeAll(kContinue, Clock::now() + limits_.timeout)) return endedEarly();
  }
  const auto started = Clock::now();
  uint64_t received = 0;
  auto deadline = [&] {
    auto extra = std::chrono::seconds(received / std::max<uint64_t>(limits_.min_rate, 1));
    return started + limits_.timeout + extra;
  };
  auto more = [&]() -> std::optional<common::ApiError> {
    switch (connection_.readUntil(deadline())) {
      case ClientConnection::ReadResult::Data:
        return std::nullopt;
      case ClientConnection::ReadResult::WouldBlock:
        return tooSlow();
      default:
        return endedEarly();
    }
  };

  if (hasContentLength()) {
    // Read in place: what the head's read already holds is copied once, the rest lands in the
    // body straight from the socket (a conversation of megabytes is not copied through buffer()
    // first), and no read goes past the body into a pipelined request. The body is sized as it
    // arrives (doubling, zero-filled once): a client that announces 16 MiB and sends nothing
    // gets no 16 MiB of touched memory.
    const auto length = static_cast<std::size_t>(head_.content_length);
    body.reserve(length);
    const std::size_t take = std::min(length, buffer.size());
    body.assign(buffer, 0, take);
    connection_.consume(take);
    received = take;
    while (received < length) {
      if (received == body.size()) body.resize(std::min(length, received + std::max<std::size_t>(64 * 1024, received)));
      std::size_t got = 0;
      switch (connection_.readUntil(deadline(), body.data() + received, body.size() - received, got)) {
        case ClientConnection::ReadResult::Data:
          received += got;
          break;
        case ClientConnection::ReadResult::WouldBlock:
          return tooSlow();
        default:
          return endedEarly();
      }
    }
    body_consumed_ = true;
    return body;
  }

  RequestChunkDecoder decoder;
  for (;;) {
    std::size_t used = 0;
    auto status = decoder.decode(buffer, used, body);
    received += used;
    connection_.consume(used);
    if (status == RequestChunkDecoder::Status::Invalid) return malformedChunks(decoder.error());
    if (body.size() > max_bytes) return tooLarge(max_bytes);
    if (status == RequestChunkDecoder::Status::Done) break;
    if (auto error = more()) return *error;
  }
  body_consumed_ = true;
  return body;
}

}  // namespace cosp::worker
