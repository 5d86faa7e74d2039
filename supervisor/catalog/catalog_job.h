#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/util/result.h"
#include "supervisor/catalog/catalog_fetch.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// The catalog fetch off the supervisor's loop thread, like the token refresh (refresh_job.h):
// the HTTP exchange and the parse run on a background thread, one at a time; its completion makes
// eventFd() readable and take() hands the result over on the loop thread. Every member is called
// on the loop thread. The transport is this job's own: cancel() at shutdown must not cut a token
// refresh short.
class CatalogJob {
 public:
  // Errors: the eventfd cannot be created (a system error, not the operator's).
  static common::Result<std::unique_ptr<CatalogJob>, std::string> create(std::shared_ptr<HttpTransport> transport);

  CatalogJob(const CatalogJob&) = delete;
  CatalogJob& operator=(const CatalogJob&) = delete;
  // Returns within about half a second even while the backend hangs: there is nothing to save,
  // so an in-flight fetch is cancelled at once, and a thread still stuck after a short wait (in
  // connect(), which cancel() cannot interrupt) is detached; it only touches state it co-owns.
  ~CatalogJob();

  int eventFd() const;
  // Starts the fetch; the previous one must have been taken. An error text when no thread could
  // be started (nothing runs then).
  std::optional<std::string> start(CatalogFetchRequest request);
  // After eventFd() turned readable: the finished fetch's result; nullopt on a spurious wake-up.
  std::optional<CatalogFetchResult> take();

 private:
  struct Shared;
  static void run(std::shared_ptr<Shared> shared, std::shared_ptr<HttpTransport> transport,
                  CatalogFetchRequest request);

  CatalogJob(std::shared_ptr<HttpTransport> transport, std::shared_ptr<Shared> shared);

  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<Shared> shared_;  // eventfd + result slot, co-owned by the fetch thread
  std::thread thread_;
};

}  // namespace cosp::supervisor
