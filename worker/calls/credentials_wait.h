#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/error/api_error.h"
#include "common/ipc/messages.h"
#include "worker/worker_context.h"

namespace cosp::worker {

struct CallContext;

// A model call that finds no usable access token does not fail at once (README.md, "Credentials
// and login"): a proxy started from an old `.env` holds an expired token until the supervisor's
// first refresh lands, and a token may expire between a refresh failing and the next attempt.
// The call waits up to CREDENTIALS_WAIT for the supervisor's next credentials while its worker
// asks for a refresh; only a wait that ends without a usable token is answered 503
// `credentials_expired`.

// What a call does with the credentials it finds.
enum class CredentialsVerdict {
  Use,     // a token that has not expired
  Wait,    // none usable, but a refresh can bring one: it expired, or none was refreshed yet
  Refuse,  // only the operator can help (needs_login, or nothing configured): answer at once
};
CredentialsVerdict judgeCredentials(const common::WorkerCredentials& credentials, int64_t now_ms);

// How a wait meets the rest of the worker; credentialsForCall() builds them from a call.
struct CredentialsWaitHooks {
  std::function<void(uint64_t generation)> request_refresh;  // called each slice; the callee deduplicates
  std::function<bool()> client_gone;
  std::function<int64_t()> now_ms;  // unix milliseconds, for the expiry
};

// How often a wait looks at the client: a client that hangs up is let go within this.
inline constexpr std::chrono::milliseconds kCredentialsWaitSlice{200};
// How often one worker repeats its refresh request while calls keep waiting on one generation (a
// transient failure leaves the generation as it was). The supervisor's own rule is the same
// second (CredentialSettings::min_demand_interval).
inline constexpr std::chrono::milliseconds kRefreshRequestInterval{1000};

// The credentials in `cache`, at once when they are usable or only a login helps; otherwise once
// the supervisor sends usable ones or a state that only a login can end, or whatever is held
// when `until` passes or the client leaves. The result is not usable when the wait ended
// without a token.
std::shared_ptr<const common::WorkerCredentials> waitForCredentials(
    const CredentialsCache& cache, std::chrono::steady_clock::time_point until, const CredentialsWaitHooks& hooks,
    std::chrono::milliseconds slice = kCredentialsWaitSlice);

// A model call's credentials before its first attempt: as above, for up to CREDENTIALS_WAIT
// capped by the call's deadline, watching the client, with this worker asking the supervisor
// for a refresh (refresh_needed: once per generation, then once a second while calls wait).
// When the result is not usable, call.client.isGone() says whether the client left and
// call.deadline.expired() whether the deadline ran out.
std::shared_ptr<const common::WorkerCredentials> credentialsForCall(CallContext& call);

// The account of the call (SPEC §9): chosen once per call from the supervisor's roster
// (choose_account.h) and kept on the exchange for the log line and the reports.
const std::string& accountForCall(CallContext& call);
// That account's credentials cache in the worker (`default`'s when the account has none yet).
CredentialsCache& credentialsCacheForCall(CallContext& call);
// Tells the supervisor that the token of `generation` of the call's account got a 401.
void reportUnauthorized(CallContext& call, uint64_t generation);

// The 503 for a call that found no usable credentials (no login, needs_login, expired).
common::ApiError credentialsError(const common::WorkerCredentials& credentials);

}  // namespace cosp::worker
