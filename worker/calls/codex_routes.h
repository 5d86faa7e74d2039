#pragma once

#include <memory>

#include "common/codex/fingerprint.h"
#include "worker/exchange.h"
#include "worker/routes/codex_catalog.h"
#include "worker/translate/translate_types.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

// The backend calls the Codex CLI makes besides model calls (README.md, HTTP surface), each a
// JSON request with the same credentials, account and header rules as a model call
// (backend_json_call.h), answered with the backend's JSON as it is:
//  - POST /v1/responses/compact -> POST {CODEX_BASE_URL}/responses/compact, the body with the
//    removals only (compact_request.h);
//  - GET /v1/models?client_version=V -> the backend's catalog for V in its own shape
//    (codex_catalog.h), fetched by this worker on demand and cached per version for an hour
//    (docs/ARCHITECTURE.md, Model catalog, says why the worker and not the supervisor);
//  - GET /api/codex/usage, /backend-api/wham/usage -> GET CODEX_USAGE_URL.
class CodexRoutes {
 public:
  // `pool` is the model calls' pool (CODEX_BASE_URL), lent; `usage_pool` is for CODEX_USAGE_URL.
  CodexRoutes(WorkerContext& ctx, UpstreamPool& pool, std::unique_ptr<UpstreamPool> usage_pool,
              TranslateOptions options);
  ~CodexRoutes();

  void handleCompact(Exchange& ex);
  void handleUsage(Exchange& ex);
  void handleCatalog(Exchange& ex, const std::string& client_version);

 private:
  WorkerContext& ctx_;
  UpstreamPool& pool_;
  std::unique_ptr<UpstreamPool> usage_pool_;
  TranslateOptions options_;
  common::CodexFingerprint fingerprint_;
  CodexCatalogCache catalogs_;
};

}  // namespace cosp::worker
