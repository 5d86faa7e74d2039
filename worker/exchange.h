#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "worker/front/router.h"
#include "worker/http/http_request.h"
#include "worker/http/http_response.h"
#include "worker/worker_context.h"

namespace cosp::worker {

// One request/response in flight, with what the access log and the counters need to know.
struct Exchange {
  Exchange(HttpRequest& req, HttpResponse& resp, WorkerContext& context)
      : request(req), response(resp), ctx(context), started(std::chrono::steady_clock::now()) {}

  HttpRequest& request;
  HttpResponse& response;
  WorkerContext& ctx;
  std::chrono::steady_clock::time_point started;

  std::string request_id;
  RouteMatch route;
  int status = 0;
  std::string model;
  // The call's session id (SPEC §4: the client's, else prompt_cache_key, else derived): it picks
  // the account. Empty for routes that have none.
  std::string session_id;
  // The account (SPEC §9) the call uses, by name; empty until chosen (accountForCall).
  std::string account;
  bool stream = false;
  int upstream_status = 0;
  std::string upstream_request_id;  // the backend's x-request-id (header_rules.h), for the log line
  int64_t ttfb_us = -1;
  int64_t bytes_out = 0;
};

// The OpenAI error envelope {"error":{"message","type","param","code"}}.
std::string errorJson(const common::ApiError& error);

// Common response headers: x-request-id, and Connection: close while draining or when an unread
// request body would otherwise be parsed as the next request.
void prepareResponse(Exchange& ex, int status);
void sendJson(Exchange& ex, int status, std::string_view body);
void sendError(Exchange& ex, const common::ApiError& error);

}  // namespace cosp::worker
