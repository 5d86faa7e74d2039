#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/util/result.h"
#include "supervisor/background_job.h"
#include "supervisor/credentials/credential_store.h"
#include "supervisor/credentials/credential_types.h"
#include "supervisor/credentials/http_transport.h"
#include "supervisor/credentials/oauth_client.h"

namespace cosp::supervisor {

// What one refresh needs, copied to its thread.
struct RefreshInput {
  std::string auth_base_url;
  StoredCredentials creds;  // the lineage to refresh (its refresh token is used)
  std::optional<CredentialStore> store;
  std::string account_override;
  int64_t started_ms = 0;  // unix ms when the request went out: expiry is counted from here
};

// How it went.
struct RefreshOutcome {
  bool ok = false;
  StoredCredentials next;  // ok: the new lineage (on disk unless store_error)
  OAuthFailure failure;    // !ok
  bool store_attempted = false;
  std::optional<std::string> store_error;
};

// The token refresh off the supervisor's loop thread (a BackgroundJob, background_job.h): the HTTP
// exchange and the credentials.json write run on a background thread, one at a time, so a token
// endpoint that hangs never blocks the loop. Its completion makes eventFd() readable; take() then
// hands the outcome over on the loop thread. Every member is called on the loop thread.
using RefreshJob = BackgroundJob<RefreshInput, RefreshOutcome>;

// A RefreshJob refreshing over `transport`. Destruction returns within about one second even while
// the token endpoint hangs: it gives an in-flight refresh a short grace to finish (so a rotated
// refresh token still reaches the disk), then aborts the connection and, if the thread is still
// stuck (e.g. in connect), detaches it; the thread only touches state it co-owns. Errors: the
// eventfd cannot be created (a system error, not the operator's).
common::Result<std::unique_ptr<RefreshJob>, std::string> makeRefreshJob(std::shared_ptr<HttpTransport> transport);

}  // namespace cosp::supervisor
