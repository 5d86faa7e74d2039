#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/keys/keys_message.h"
#include "common/keys/limits_zone.h"
#include "worker/front/router.h"
#include "worker/http/http_request.h"
#include "worker/http/http_response.h"
#include "worker/worker_context.h"

namespace cosp::worker {

struct CallerKeysTable;  // worker/front/caller_keys.h

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

  // The caller's key (worker/front/caller_keys.h): its name for the log line ("env-1", a file
  // key's name, empty without caller auth); for a file key, the table entry it matched (held
  // alive by `key_table`), the in-flight lease (returned when the exchange ends, however it ends)
  // and the backend's token usage once the call finished.
  std::string key_name;
  std::shared_ptr<const CallerKeysTable> key_table;
  const common::keys::ServedKey* file_key = nullptr;  // an entry of key_table
  common::keys::LeaseGuard key_lease;
  std::optional<common::keys::TokenUsage> usage;
  bool hide_quota_headers = false;  // FORWARD_QUOTA_HEADERS=false or the key's forward_quota_headers
};

// The OpenAI error envelope {"error":{"message","type","param","code"}}.
std::string errorJson(const common::ApiError& error);

// Common response headers: x-request-id, and Connection: close while draining or when an unread
// request body would otherwise be parsed as the next request.
void prepareResponse(Exchange& ex, int status);
void sendJson(Exchange& ex, int status, std::string_view body);
void sendError(Exchange& ex, const common::ApiError& error);

}  // namespace cosp::worker
