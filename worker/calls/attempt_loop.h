#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "common/ipc/messages.h"
#include "worker/accounts/account_failure.h"
#include "worker/calls/call_context.h"
#include "worker/calls/upstream_call.h"
#include "worker/calls/upstream_events.h"
#include "worker/upstream/retry_policy.h"
#include "worker/upstream/upstream_pool.h"

namespace cosp::worker {

// How the attempts of one call ended.
struct AttemptResult {
  enum class End { Started, Failed, ClientLeft };
  End end = End::Failed;
  // Started: the upstream's 200 stream, read up to (and including) the read that made the hold
  // back commit (hold_back.h). With Framing::KeepBytes its bytes() hold every byte read so far.
  std::unique_ptr<UpstreamEvents> events;
  // Started: the events of those reads (the held ones first), not yet delivered to anyone.
  std::vector<SseEvent> first_events;
  // Started by upgrade(): the backend's 101 answer, its connection not yet taken (takeConnection()).
  std::unique_ptr<UpstreamExchange> switched;
  // Failed: the answer for the client; nothing has been written to it yet.
  std::optional<common::ApiError> error;
};

// Stage 2 of a model call: everything that happens before the first byte reaches the client, so
// every failure here can still become a real HTTP status or a retry. Each attempt sends the
// request with the current credentials, asks the supervisor for a refresh on a 401 (once per
// call), maps a non-200 status to an OpenAI error, and on a 200 holds the stream back
// (hold_back.h): response.created, response.in_progress and the other lifecycle events are read
// and kept, nothing is written, until the first output event or kHoldBackWindow. A failure event
// before that (`server_is_overloaded`, `context_length_exceeded`, ... after response.created) is
// a failed attempt, retried like a status or answered with the status it maps to; a stream that
// ends before output is one too. Retries follow RetryPolicy's back-off, within the call's deadline
// and only while the client waits.
//
// This is the place for what decides before the first byte, failing over to another account too.
class AttemptLoop {
 public:
  AttemptLoop(CallContext& call, UpstreamPool& pool, const RetryPolicy& retry)
      : call_(call), pool_(pool), retry_(retry) {}

  AttemptResult run(UpstreamCall& up, UpstreamEvents::Framing framing);
  // The same attempts for the WebSocket upgrade of GET /v1/responses (ws_route.h): `GET
  // {codex_responses_path}` with a fresh key, whose success is a 101 with a valid handshake
  // instead of a 200 stream. Every other answer follows the rules of run().
  AttemptResult upgrade(const HeaderList& fixed_headers);

 private:
  // What one step of an attempt decided; empty: go on (try again, or read the 200 it got).
  using Step = std::optional<AttemptResult>;
  // The steps are called one after another from run(), never nested, and what only failures need
  // is kept out of line: a held stream's thread keeps every stack page the deepest call touched,
  // so each KiB of frame on this path costs a KiB per held stream (bench/README.md).
  // Takes the call's credentials (credentialsForCall); false when they cannot be used, for
  // credentialsRefused() to answer.
  bool takeCredentials();
  // Several accounts (SPEC §9): the accounts this call may try, in its session's order (each
  // once), and the first of them; an answer when none is usable. Nothing happens with one account.
  std::optional<AttemptResult> startAccounts();
  enum class Failover { NotAccountLevel, Moved, NoneLeft };
  // After a failed attempt: an account-level failure (usage limit, usage not included, 401 after
  // the refresh, deactivated) is reported to the supervisor, and the call moves to the next
  // usable account of its order with fresh credentials, without a back-off or a retry counted.
  Failover failOver(const accounts::FailureFacts& facts);
  AttemptResult noAccountLeft() const;
  Step afterFailover(Failover failover);
  void observeQuotaEvent(const SseEvent& event);
  AttemptResult credentialsRefused() const;
  Step send(UpstreamCall& up, std::unique_ptr<UpstreamExchange>& ok);
  Step sendFailed(const UpstreamFailure& failure);
  // A response head other than the success the call waits for: a 401 refreshes once, any other
  // status is mapped and maybe retried.
  Step refused(UpstreamExchange& upstream);
  Step refreshAfterUnauthorized(UpstreamExchange& upstream);
  Step failedStatus(UpstreamExchange& upstream);
  Step holdBack(std::unique_ptr<UpstreamExchange> upstream, UpstreamCall& up, UpstreamEvents::Framing framing);
  Step failureEvent(const SseEvent& event, const UpstreamResponseHead& head);
  Step endedBeforeOutput(const UpstreamEvents& events);
  // After a retryable outcome: waits the back-off unless the client leaves or the retry budget is
  // spent; true when the call should try again.
  bool retryAfter(AttemptOutcome outcome);
  // A POST to {codex_responses_path} with `headers` and the call's credentials, its body still empty.
  UpstreamRequestSpec requestSpec(HeaderList headers);
  UpstreamRequestSpec upgradeSpec(const HeaderList& fixed_headers, const std::string& key);
  AttemptResult switched(std::unique_ptr<UpstreamExchange> upstream, const std::string& key);

  CallContext& call_;
  UpstreamPool& pool_;
  const RetryPolicy& retry_;
  std::shared_ptr<const common::WorkerCredentials> credentials_;
  bool refreshed_ = false;
  bool several_accounts_ = false;
  std::vector<std::string> account_order_;
  std::size_t account_position_ = 0;
  int retries_ = 0;
};

// The answer to a send that produced no response head (a timeout: 504; a header the writer
// refused: 400; else 502).
common::ApiError failureError(const UpstreamFailure& failure);
// Copies the backend's response headers that reach clients (selectForwardedHeaders, plus the
// served catalog's x-models-etag when the backend sent none) onto the client's response, and
// notes the rate-limit headers for `ctl status`.
void forwardResponseHeaders(Exchange& ex, const UpstreamResponseHead& head);

}  // namespace cosp::worker
