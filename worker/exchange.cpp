#include "worker/exchange.h"

#include "common/log/log.h"

namespace cosp::worker {

std::string errorJson(const common::ApiError& error) {
  std::string out = "{\"error\":{\"message\":";
  common::appendJsonString(out, error.message);
  out += ",\"type\":";
  common::appendJsonString(out, error.type);
  out += ",\"param\":";
  if (error.param)
    common::appendJsonString(out, *error.param);
  else
    out += "null";
  out += ",\"code\":";
  if (error.code)
    common::appendJsonString(out, *error.code);
  else
    out += "null";
  out += "}}";
  return out;
}

void prepareResponse(Exchange& ex, int status) {
  ex.status = status;
  if (ex.ttfb_us < 0) {  // the head goes out right after this: the first byte
    ex.ttfb_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ex.started).count();
  }
  ex.response.setStatusAndReason(status);
  ex.response.set("x-request-id", ex.request_id);
  if (ex.ctx.draining.load() || !ex.request.bodyConsumed()) ex.response.setKeepAlive(false);
}

void sendJson(Exchange& ex, int status, std::string_view body) {
  prepareResponse(ex, status);
  ex.response.setContentType("application/json");
  ex.response.setContentLength64(static_cast<int64_t>(body.size()));
  ex.response.send();
  if (ex.request.getMethod() != "HEAD" && ex.response.write(body)) ex.bytes_out += static_cast<int64_t>(body.size());
}

void sendError(Exchange& ex, const common::ApiError& error) {
  if (error.header) ex.response.set(error.header->first, error.header->second);
  sendJson(ex, error.status, errorJson(error));
}

}  // namespace cosp::worker
