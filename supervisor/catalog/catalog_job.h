#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/util/result.h"
#include "supervisor/background_job.h"
#include "supervisor/catalog/catalog_fetch.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// The catalog fetch off the supervisor's loop thread (a BackgroundJob, background_job.h, like the
// token refresh): the HTTP exchange and the parse run on a background thread, one at a time; its
// completion makes eventFd() readable and take() hands the result over on the loop thread. Every
// member is called on the loop thread. The transport is this job's own: cancel() at shutdown must
// not cut a token refresh short.
//
// Destruction returns within about half a second even while the backend hangs: there is nothing
// to save, so an in-flight fetch is cancelled at once, and a thread still stuck after a short wait
// (in connect(), which cancel() cannot interrupt) is detached; it only touches state it co-owns.
class CatalogJob {
 public:
  // Errors: the eventfd cannot be created (a system error, not the operator's).
  static common::Result<std::unique_ptr<CatalogJob>, std::string> create(std::shared_ptr<HttpTransport> transport);

  int eventFd() const { return job_->eventFd(); }
  // Starts the fetch; the previous one must have been taken. An error text when no thread could
  // be started (nothing runs then).
  std::optional<std::string> start(CatalogFetchRequest request);
  // After eventFd() turned readable: the finished fetch's result; nullopt on a spurious wake-up.
  std::optional<CatalogFetchResult> take() { return job_->take(); }

 private:
  CatalogJob(std::shared_ptr<HttpTransport> transport, std::unique_ptr<BackgroundJob<CatalogFetchResult>> job)
      : transport_(std::move(transport)), job_(std::move(job)) {}

  std::shared_ptr<HttpTransport> transport_;
  std::unique_ptr<BackgroundJob<CatalogFetchResult>> job_;
};

}  // namespace cosp::supervisor
