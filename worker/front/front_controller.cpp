#include "worker/front/front_controller.h"

#include "common/log/log.h"
#include "worker/calls/call_handler.h"
#include "worker/calls/codex_routes.h"
#include "worker/exchange.h"
#include "worker/front/caller_keys.h"
#include "worker/front/request_id.h"
#include "worker/routes/health_routes.h"
#include "worker/routes/metrics_route.h"
#include "worker/routes/models_routes.h"
#include "worker/ws/ws_handshake.h"

namespace cosp::worker {

namespace {

std::optional<std::string_view> header(const HttpRequest& request, std::string_view name) {
  return request.header(name);
}

common::ApiError bodyTooLarge(const Exchange& ex) {
  return common::ApiError{413,
                          "invalid_request_error",
                          "Request body of " + std::to_string(ex.request.getContentLength64()) +
                              " bytes exceeds the limit of " + std::to_string(ex.ctx.config.max_body_bytes) +
                              " bytes (MAX_BODY_BYTES)",
                          std::nullopt,
                          "request_too_large",
                          {}};
}

void dispatch(Exchange& ex, const CallerAuth& auth, CallHandler& calls, CodexRoutes& codex) {
  const auto& route = ex.route;
  if (route.requiresAuth()) {
    if (auto refused = authenticateCaller(ex, auth)) {
      sendError(ex, *refused);
      return;
    }
  }
  switch (route.route) {
    case Route::Health:
      handleHealth(ex);
      return;
    case Route::Ready:
      handleReady(ex);
      return;
    case Route::Models:
      // The Codex CLI asks with client_version and reads only the backend's own shape.
      if (auto version = clientVersionParam(ex.request.getURI())) {
        codex.handleCatalog(ex, *version);
      } else {
        handleModels(ex);
      }
      return;
    case Route::Model:
      handleModel(ex);
      return;
    case Route::Metrics:
      handleMetrics(ex);
      return;
    case Route::Files:
      sendError(ex, common::ApiError{501,
                                     "invalid_request_error",
                                     "The Files API is not implemented by this proxy; send files inline as "
                                     "input_file content parts instead.",
                                     std::nullopt,
                                     "not_implemented",
                                     {}});
      return;
    case Route::MethodNotAllowed: {
      common::ApiError error{405,
                             "invalid_request_error",
                             "Method " + ex.request.getMethod() + " is not allowed here; allowed: " + route.allow,
                             std::nullopt,
                             "method_not_allowed",
                             std::make_pair(std::string("Allow"), route.allow)};
      sendError(ex, error);
      return;
    }
    case Route::NotFound:
    case Route::WhamNotFound:
      sendError(ex, common::ApiError::notFound("Unknown route " + ex.request.getMethod() + " " +
                                                   ex.request.getURI().substr(0, ex.request.getURI().find('?')),
                                               "unknown_url"));
      return;
    case Route::ResponsesCompact:
      if (ex.request.hasContentLength() &&
          static_cast<uint64_t>(ex.request.getContentLength64()) > ex.ctx.config.max_body_bytes) {
        sendError(ex, bodyTooLarge(ex));
        return;
      }
      codex.handleCompact(ex);
      return;
    case Route::Usage:
      codex.handleUsage(ex);
      return;
    case Route::ResponsesWebSocket:
      calls.handleWebSocket(ex);
      return;
    case Route::ChatCompletions:
    case Route::Responses: {
      // The body limit is decided from Content-Length before reading a byte.
      if (ex.request.hasContentLength() &&
          static_cast<uint64_t>(ex.request.getContentLength64()) > ex.ctx.config.max_body_bytes) {
        sendError(ex, bodyTooLarge(ex));
        return;
      }
      calls.handle(ex, route.route == Route::ChatCompletions ? CallApi::Chat : CallApi::Responses);
      return;
    }
  }
}

}  // namespace

bool FrontController::answersInline(const RequestHead& head) const {
  if (head.method != "GET" && head.method != "HEAD") return false;
  const std::string_view path = head.path();
  return path == "/healthz" || path == "/readyz";
}

void FrontController::handle(HttpRequest& request, HttpResponse& response) {
  Exchange ex(request, response, ctx_);
  ++ctx_.metrics.active_requests;
  std::string error_kind;
  try {
    ex.request_id = chooseRequestId(header(request, "x-request-id"));
    ex.route = ws::asksForWebSocket(request.head().headers) ? matchWebSocketRoute(request.getMethod(), request.getURI())
                                                            : matchRoute(request.getMethod(), request.getURI());
    dispatch(ex, auth_, calls_, codex_);
  } catch (const std::exception& e) {
    error_kind = "std::exception";
  } catch (...) {
    error_kind = "unknown";
  }
  if (!error_kind.empty()) {
    ++ctx_.metrics.handler_exceptions;
    common::logError("handler_exception").field("request_id", ex.request_id).field("kind", error_kind);
    if (ex.status == 101) {
      // The connection speaks WebSocket now: no HTTP answer can follow; it just closes.
    } else if (!response.sent()) {
      try {
        ex.response.setKeepAlive(false);  // the body may be half read: close the connection afterwards
        sendError(ex, common::ApiError::internal("Internal error while handling the request (request id " +
                                                 ex.request_id + ")"));
      } catch (...) {
        // the client is gone; nothing more to tell it
      }
    } else if (ex.status == 0) {
      ex.status = 500;
    }
  }
  --ctx_.metrics.active_requests;
  ctx_.metrics.bytes_out += ex.bytes_out;
  auto duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ex.started);
  bool model_route = ex.route.route == Route::ChatCompletions || ex.route.route == Route::Responses ||
                     ex.route.route == Route::ResponsesWebSocket;
  ctx_.metrics.recordRequest(routeName(ex.route.route), ex.status, duration.count(), model_route ? ex.ttfb_us : -1);
  // A caller key's model call: one per exchange, but a WebSocket that was upgraded (101) accounted
  // each of its turns as it ended (worker/calls/ws_key_turns.h); a compaction is one model call.
  const bool key_call = (model_route && ex.status != 101) || ex.route.route == Route::ResponsesCompact;
  if (key_call) accountKeyCall(ex);
  auto line = common::logInfo("request");
  line.field("request_id", ex.request_id)
      .field("method", request.getMethod())
      .field("path", request.getURI().substr(0, request.getURI().find('?')))
      .field("route", routeName(ex.route.route))
      .field("status", ex.status);
  if (!ex.key_name.empty()) line.field("key", ex.key_name);
  if (!ex.model.empty()) line.field("model", ex.model);
  if (!ex.account.empty()) line.field("account", ex.account);
  if (model_route) line.field("stream", ex.stream);
  if (ex.upstream_status != 0) line.field("upstream_status", ex.upstream_status);
  if (!ex.upstream_request_id.empty()) line.field("upstream_request_id", ex.upstream_request_id);
  if (model_route && ex.ttfb_us >= 0) line.field("ttfb_ms", static_cast<double>(ex.ttfb_us) / 1000.0);
  line.field("duration_ms", static_cast<double>(duration.count()) / 1000.0).field("bytes", ex.bytes_out);
}

}  // namespace cosp::worker
