#include "worker/calls/codex_routes.h"

#include "common/log/log.h"
#include "worker/calls/backend_json_call.h"
#include "worker/calls/call_context.h"
#include "worker/calls/upstream_call.h"
#include "worker/front/caller_keys.h"
#include "worker/translate/compact_request.h"
#include "worker/translate/dropped_fields_header.h"
#include "worker/translate/upstream_error.h"
#include "worker/upstream/header_rules.h"

namespace cosp::worker {

namespace {

// A compaction answer carries the encrypted state of a whole conversation: megabytes at most.
constexpr std::size_t kMaxCompactAnswerBytes = 32u << 20;
// The real catalog is a few hundred KiB (instruction templates per model); a quota answer is small.
constexpr std::size_t kMaxCatalogAnswerBytes = 8u << 20;
constexpr std::size_t kMaxUsageAnswerBytes = 1u << 20;

// Runs `fn(call)` with a call context for `ex` bounded by REQUEST_TIMEOUT: these answers are one
// JSON object, shown only when complete.
template <typename Fn>
void withCall(Exchange& ex, WorkerContext& ctx, Fn&& fn) {
  ClientWatch client(ex.request, ex.response);
  CallContext call{
      ex, ctx, client, CallDeadline::after(ctx.config.request_timeout), ctx.config.request_timeout, std::nullopt};
  fn(call);
}

void sendCatalog(Exchange& ex, const std::string& body, const std::string& etag) {
  if (!etag.empty()) ex.response.set("ETag", etag);
  sendJson(ex, 200, body);
}

}  // namespace

CodexRoutes::CodexRoutes(WorkerContext& ctx, UpstreamPool& pool, std::unique_ptr<UpstreamPool> usage_pool,
                         TranslateOptions options)
    : ctx_(ctx),
      pool_(pool),
      usage_pool_(std::move(usage_pool)),
      options_(std::move(options)),
      fingerprint_(common::codexFingerprint(ctx.config.originator, ctx.config.codexClientVersion())) {}

CodexRoutes::~CodexRoutes() = default;

void CodexRoutes::handleCompact(Exchange& ex) {
  auto body = ex.request.readBody(ctx_.config.max_body_bytes);
  if (!body) {
    sendError(ex, body.error());
    return;
  }
  auto compact = compactRequestBody(*body, options_);
  if (!compact) {
    sendError(ex, compact.error());
    return;
  }
  ex.model = compact->model;
  if (compact->dropped_total > 0) {
    ex.response.set("x-codex-sub-proxy-dropped", droppedFieldsHeader(compact->dropped, compact->dropped_total));
  }
  auto headers = backendJsonHeaders(ex, fingerprint_, true);
  if (!headers) {
    sendError(ex, headers.error());
    return;
  }
  // A compaction is a model call of the caller key: its limits before the backend, its request
  // and tokens accounted when the exchange ends (front_controller.cpp).
  if (auto refused = admitModelCall(ex)) {
    sendError(ex, *refused);
    return;
  }
  BackendJsonRequest request{"POST", "/responses/compact", std::move(*headers), std::move(compact->body)};
  withCall(ex, ctx_, [&](CallContext& call) {
    auto answer = callBackendJson(call, pool_, request, kMaxCompactAnswerBytes);
    if (answer) {
      if (ex.file_key != nullptr && answer->head.status == 200) ex.usage = usageOfJsonAnswer(answer->body);
      relayBackendJson(ex, *answer);
    } else {
      sendError(ex, answer.error());
    }
  });
}

void CodexRoutes::handleUsage(Exchange& ex) {
  auto headers = backendJsonHeaders(ex, fingerprint_, false);
  if (!headers) {
    sendError(ex, headers.error());
    return;
  }
  BackendJsonRequest request{"GET", "", std::move(*headers), {}};
  withCall(ex, ctx_, [&](CallContext& call) {
    auto answer = callBackendJson(call, *usage_pool_, request, kMaxUsageAnswerBytes);
    if (answer) {
      relayBackendJson(ex, *answer);
    } else {
      sendError(ex, answer.error());
    }
  });
}

void CodexRoutes::handleCatalog(Exchange& ex, const std::string& client_version) {
  const std::string version = client_version.empty() ? ctx_.config.codexClientVersion() : client_version;
  if (!isClientVersion(version)) {
    sendError(ex, common::ApiError::invalidRequest(
                      "client_version must be a version such as 0.169.0 (letters, digits and .-_+, at most 64)",
                      std::string("client_version"), std::string("invalid_client_version")));
    return;
  }
  if (auto cached = catalogs_.fresh(version, CodexCatalogCache::Clock::now())) {
    sendCatalog(ex, cached->body, cached->etag);
    return;
  }
  auto headers = backendJsonHeaders(ex, fingerprint_, false);
  if (!headers) {
    sendError(ex, headers.error());
    return;
  }
  BackendJsonRequest request{"GET", "/models?client_version=" + version, std::move(*headers), {}};
  std::optional<common::ApiError> failure;
  withCall(ex, ctx_, [&](CallContext& call) {
    auto answer = callBackendJson(call, pool_, request, kMaxCatalogAnswerBytes);
    if (!answer) {
      failure = answer.error();
      return;
    }
    std::optional<std::string> body;
    if (answer->head.status == 200) body = codexCatalogJson(answer->body, ctx_.config.models);
    if (!body) {
      failure = common::ApiError{502,
                                 "upstream_error",
                                 "The Codex backend did not answer with its model catalog for client_version " +
                                     version + " (status " + std::to_string(answer->head.status) + ").",
                                 std::nullopt,
                                 "upstream_catalog_unavailable",
                                 {}};
      return;
    }
    CodexCatalogCache::Entry entry{std::move(*body), answer->head.header("ETag").value_or(""),
                                   CodexCatalogCache::Clock::now()};
    if (entry.etag.size() > 256 || !isSafeHeaderValue(entry.etag)) entry.etag.clear();
    catalogs_.put(version, entry);
    sendCatalog(ex, entry.body, entry.etag);
  });
  if (!failure || ex.response.sent()) return;
  // The backend could not say: an older copy for this version, else the catalog this worker holds.
  common::logWarn("codex_catalog_fetch_failed")
      .field("request_id", ex.request_id)
      .field("code", failure->code.value_or(""));
  if (auto stale = catalogs_.any(version)) {
    sendCatalog(ex, stale->body, stale->etag);
    return;
  }
  const auto held = ctx_.catalog.get();
  if (auto body = codexCatalogJson(*held)) {
    sendCatalog(ex, *body, held->etag);
    return;
  }
  sendError(ex, *failure);
}

}  // namespace cosp::worker
