#pragma once

#include <memory>
#include <string>

#include "common/util/result.h"
#include "supervisor/background_job.h"
#include "supervisor/catalog/catalog_fetch.h"
#include "supervisor/credentials/http_transport.h"

namespace cosp::supervisor {

// The catalog fetch off the supervisor's loop thread (a BackgroundJob, background_job.h, like the
// token refresh): the HTTP exchange and the parse run on a background thread, one at a time; its
// completion makes eventFd() readable and take() hands the result over on the loop thread. Every
// member is called on the loop thread.
using CatalogJob = BackgroundJob<CatalogFetchRequest, CatalogFetchResult>;

// A CatalogJob fetching over `transport`, which must be the job's own: cancel() at shutdown must
// not cut a token refresh short. Destruction returns within about half a second even while the
// backend hangs: there is nothing to save, so an in-flight fetch is cancelled at once, and a
// thread still stuck after a short wait (in connect(), which cancel() cannot interrupt) is
// detached; it only touches state it co-owns. Errors: the eventfd cannot be created (a system
// error, not the operator's).
common::Result<std::unique_ptr<CatalogJob>, std::string> makeCatalogJob(std::shared_ptr<HttpTransport> transport);

}  // namespace cosp::supervisor
