#include "worker/handlers/exchange.h"

#include "common/log/log.h"

namespace cosp::worker {

std::string errorJson(const common::ApiError& error) {
  std::string out = "{\"error\":{\"message\":";
  common::appendJsonString(out, error.message);
  out += ",\"type\":";
  common::appendJsonString(out, error.type);
  out += ",\"param\":";
  if (error.param) common::appendJsonString(out, *error.param);
  else out += "null";
  out += ",\"code\":";
  if (error.code) common::appendJsonString(out, *error.code);
  else out += "null";
  out += "}}";
  return out;
}

void prepareResponse(Exchange& ex, int status) {
  ex.status = status;
  if (ex.ttfb_us < 0) {  // the head goes out right after this: the first byte
    ex.ttfb_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ex.started).count();
  }
  ex.response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  ex.response.set("x-request-id", ex.request_id);
  bool unread_body = !ex.body_read && (ex.request.hasContentLength() ? ex.request.getContentLength64() > 0
                                                                      : ex.request.getChunkedTransferEncoding());
  if (ex.ctx.draining.load() || unread_body) ex.response.setKeepAlive(false);
}

void sendJson(Exchange& ex, int status, std::string_view body) {
  prepareResponse(ex, status);
  ex.response.setContentType("application/json");
  ex.response.setContentLength64(static_cast<Poco::Int64>(body.size()));
  std::ostream& out = ex.response.send();
  if (ex.request.getMethod() != "HEAD") {
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    ex.bytes_out += static_cast<int64_t>(body.size());
  }
  out.flush();
}

void sendError(Exchange& ex, const common::ApiError& error) {
  if (error.header) ex.response.set(error.header->first, error.header->second);
  sendJson(ex, error.status, errorJson(error));
}

}  // namespace cosp::worker
