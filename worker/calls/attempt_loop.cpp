#include "worker/calls/attempt_loop.h"

#include <algorithm>
#include <map>

#include "common/ipc/account_messages.h"
#include "common/json/json_parser.h"
#include "common/log/log.h"
#include "common/util/retry_after.h"
#include "common/util/strings.h"
#include "worker/accounts/no_usable_account.h"
#include "worker/calls/choose_account.h"
#include "worker/calls/credentials_wait.h"
#include "worker/calls/hold_back.h"
#include "worker/calls/wall_clock.h"
#include "worker/front/caller_keys.h"
#include "worker/sse/sse_writer.h"
#include "worker/translate/upstream_error.h"
#include "worker/upstream/header_rules.h"
#include "worker/ws/ws_handshake.h"

namespace cosp::worker {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kHeadPollSlice{200};  // how often a wait for the upstream head checks the client
constexpr std::size_t kErrorBodyCap = 64 * 1024;

AttemptResult failed(common::ApiError error) {
  AttemptResult r;
  r.end = AttemptResult::End::Failed;
  r.error = std::move(error);
  return r;
}

AttemptResult clientLeft() {
  AttemptResult r;
  r.end = AttemptResult::End::ClientLeft;
  return r;
}

// The quota windows a response head reports (x-codex-primary-*, x-codex-secondary-*).
accounts::QuotaWindows quotaWindowsOf(const UpstreamResponseHead& head) {
  std::map<std::string, std::string> codex;
  for (const auto& [name, value] : head.headers) {
    if (isCodexHeaderName(name)) codex[common::toLower(name)] = value;
  }
  return accounts::quotaWindowsFromHeaders(codex);
}

// The failure fields of an error body or a failure event (not JSON: only the status).
accounts::FailureFacts failureFacts(std::string_view json, int http_status) {
  if (auto parsed = common::parseJsonObject(json)) return accounts::backendErrorFields(*parsed, http_status);
  accounts::FailureFacts facts;
  facts.status = http_status;
  return facts;
}

// A codex.rate_limits event's windows as the x-codex-* headers a response head would carry.
std::map<std::string, std::string> quotaHeadersOf(const accounts::QuotaWindows& windows) {
  std::map<std::string, std::string> headers;
  const auto add = [&headers](const char* window, const accounts::QuotaWindow& w) {
    const std::string prefix = std::string("x-codex-") + window + "-";
    if (w.used_percent >= 0) headers[prefix + "used-percent"] = std::to_string(static_cast<int>(w.used_percent));
    if (w.window_minutes >= 0) headers[prefix + "window-minutes"] = std::to_string(w.window_minutes);
    if (w.reset_after_seconds >= 0) headers[prefix + "reset-after-seconds"] = std::to_string(w.reset_after_seconds);
    if (w.reset_at >= 0) headers[prefix + "reset-at"] = std::to_string(w.reset_at);
  };
  add("primary", windows.primary);
  add("secondary", windows.secondary);
  return headers;
}

common::AccountFailureKind wireKind(accounts::AccountFailureKind kind) {
  switch (kind) {
    case accounts::AccountFailureKind::UsageNotIncluded:
      return common::AccountFailureKind::UsageNotIncluded;
    case accounts::AccountFailureKind::Unauthorized:
      return common::AccountFailureKind::Unauthorized;
    case accounts::AccountFailureKind::Deactivated:
      return common::AccountFailureKind::Deactivated;
    case accounts::AccountFailureKind::UsageLimit:
    case accounts::AccountFailureKind::None:
      break;
  }
  return common::AccountFailureKind::UsageLimit;
}

}  // namespace

[[gnu::noinline]] common::ApiError failureError(const UpstreamFailure& f) {
  if (f.isTimeout()) return upstreamTimeoutError();
  if (f.kind == UpstreamFailure::Kind::InvalidRequest) {
    // The upstream writer refused a header (checkForwardedHeader stops a client's bad one before):
    // a request that cannot be forwarded, not a backend failure.
    return common::ApiError::invalidRequest(
        "The request could not be forwarded: a header for the Codex backend "
        "contains a character HTTP does not allow.",
        std::nullopt, std::string("invalid_header_value"));
  }
  return upstreamUnavailableError(toString(f.kind));
}

// The upstream's x-codex-* headers (rate-limit windows, ...), x-reasoning-included, openai-model,
// x-models-etag (the served catalog's when the backend sent none) and its x-request-id (as x-upstream-request-id) go
// back on every response; the x-codex-* ones also into the worker's observation for `ctl status`. Only well-formed ones
// (a bare CR or a NUL from the backend would otherwise reach the client's response head), and only so many
// (header_rules.h).
[[gnu::noinline]] void forwardResponseHeaders(Exchange& ex, const UpstreamResponseHead& head) {
  ForwardedHeaderSelection selected = selectForwardedHeaders(head.headers);
  addCatalogModelsEtag(selected.headers, ex.ctx.catalog.get()->etag);
  if (selected.dropped > 0) {
    common::logDebug("upstream_headers_dropped")
        .field("request_id", ex.request_id)
        .field("count", static_cast<uint64_t>(selected.dropped));
  }
  std::map<std::string, std::string> codex;
  for (const auto& [name, value] : selected.headers) {
    // FORWARD_QUOTA_HEADERS=false (or the key's forward_quota_headers): the x-codex-* quota windows
    // stay with the proxy; the turn state is routing the client needs, not quota.
    if (!ex.hide_quota_headers || !isCodexHeaderName(name) || headerNameEquals(name, "x-codex-turn-state"))
      ex.response.set(name, value);
    // The turn state is the backend's per-thread routing token, not a quota window for `ctl status`.
    if (isCodexHeaderName(name) && !headerNameEquals(name, "x-codex-turn-state")) codex[common::toLower(name)] = value;
  }
  ex.upstream_request_id = selected.upstream_request_id;
  ex.ctx.metrics.observeUpstream(head.status, std::move(codex), ex.account);
}

// Moves the bytes of `from` to the end of `to`: the buffer itself while `to` is empty (the first
// read of a held stream carries response.created and response.in_progress, tens of KB), a copy
// only behind bytes already held.
void takeBytes(std::string& to, std::string& from) {
  if (to.empty()) {
    to.swap(from);
  } else {
    to += from;
  }
  from.clear();
}

AttemptResult AttemptLoop::run(UpstreamCall& up, UpstreamEvents::Framing framing) {
  if (auto none = startAccounts()) return std::move(*none);
  if (!takeCredentials()) return credentialsRefused();
  for (;;) {
    std::unique_ptr<UpstreamExchange> ok;
    if (Step step = send(up, ok)) return std::move(*step);
    if (!ok) continue;  // retry
    if (Step step = holdBack(std::move(ok), up, framing)) return std::move(*step);
  }
}

bool AttemptLoop::takeCredentials() {
  credentials_ = credentialsForCall(call_);  // waits out a refresh in flight (credentials_wait.h)
  return credentials_->usable(unixMillis());
}

[[gnu::noinline]] AttemptResult AttemptLoop::credentialsRefused() const {
  return call_.client.isGone()
             ? clientLeft()
             : failed(call_.deadline.expired() ? call_.deadlineError() : credentialsError(*credentials_));
}

std::optional<AttemptResult> AttemptLoop::startAccounts() {
  const std::shared_ptr<const common::AccountRoster> roster = call_.worker.roster();
  several_accounts_ = severalAccounts(*roster);
  if (!several_accounts_) return std::nullopt;
  account_order_ = accountOrder(call_.ex.session_id, *roster, unixMillis(), keyAccounts(call_.ex));
  if (account_order_.empty()) return noAccountLeft();
  call_.ex.account = account_order_.front();
  call_.worker.metrics.recordAccountRequest(call_.ex.account);
  return std::nullopt;
}

[[gnu::noinline]] AttemptLoop::Failover AttemptLoop::failOver(const accounts::FailureFacts& facts) {
  if (!several_accounts_) return Failover::NotAccountLevel;
  const int64_t now = unixMillis();
  const accounts::AccountFailure failure = accounts::classifyAccountFailure(facts, now);
  if (failure.kind == accounts::AccountFailureKind::None) return Failover::NotAccountLevel;
  WorkerContext& worker = call_.worker;
  const std::string left = call_.ex.account;
  common::AccountFailure report;
  report.account = left;
  report.kind = wireKind(failure.kind);
  report.cooling_until_ms = failure.cooling_until_ms;
  worker.channel.send(common::encodeAccountFailed(report));
  worker.markAccountUnusable(left, failure.cooling_until_ms);
  worker.metrics.recordAccountFailover(left);
  common::logInfo("account_failover")
      .field("request_id", call_.ex.request_id)
      .field("account", left)
      .field("reason", common::accountFailureKindName(report.kind))
      .field("status", facts.status);
  const std::shared_ptr<const common::AccountRoster> roster = worker.roster();
  while (++account_position_ < account_order_.size()) {
    const std::string& next = account_order_[account_position_];
    const auto entry = std::find_if(roster->accounts.begin(), roster->accounts.end(),
                                    [&next](const common::AccountRosterEntry& e) { return e.name == next; });
    if (entry == roster->accounts.end() || !accountUsable(*entry, now)) continue;
    call_.ex.account = next;
    worker.metrics.recordAccountRequest(next);
    refreshed_ = false;
    if (takeCredentials()) return Failover::Moved;
    if (call_.client.isGone() || call_.deadline.expired()) return Failover::NoneLeft;
  }
  return Failover::NoneLeft;
}

// Every account of the call's order has failed or cannot be used: 429 usage_limit_reached with the
// earliest reset, or the 503 of no login (SPEC §9).
[[gnu::noinline]] AttemptResult AttemptLoop::noAccountLeft() const {
  if (call_.client.isGone()) return clientLeft();
  if (call_.deadline.expired()) return failed(call_.deadlineError());
  const std::shared_ptr<const common::AccountRoster> roster = call_.worker.roster();
  return failed(accounts::noUsableAccountError(accountViews(*roster), unixMillis(), keyAccounts(call_.ex)));
}

// The quota the backend reports inside the stream (right after response.created) is the call's
// account's, like the head's x-codex-* headers; the supervisor weighs accounts with it (SPEC §9).
[[gnu::noinline]] void AttemptLoop::observeQuotaEvent(const SseEvent& event) {
  const auto parsed = common::parseJsonObject(event.data);
  if (!parsed) return;
  std::map<std::string, std::string> headers = quotaHeadersOf(accounts::quotaWindowsFromEvent(*parsed));
  if (!headers.empty()) call_.worker.metrics.observeAccountRateLimits(call_.ex.account, headers);
}

AttemptLoop::Step AttemptLoop::afterFailover(Failover failover) {
  if (failover == Failover::Moved) return std::nullopt;  // the next attempt goes to the next account
  return noAccountLeft();
}

// Sends one attempt. A 200 is left in `ok`; anything else is answered here (a final Step, or empty
// for a retry).
AttemptLoop::Step AttemptLoop::send(UpstreamCall& up, std::unique_ptr<UpstreamExchange>& ok) {
  if (call_.deadline.expired()) return failed(call_.deadlineError());
  UpstreamRequestSpec spec = requestSpec(up.fixed_headers);
  spec.body = std::move(up.request.body);  // lent for the send, not copied: it can be large
  auto sent = pool_.send(spec);
  up.request.body = std::move(spec.body);  // kept for a retry
  if (!sent) return sendFailed(sent.error());
  std::unique_ptr<UpstreamExchange> upstream = std::move(sent.value());
  const UpstreamResponseHead& head = upstream->head();
  call_.ex.upstream_status = head.status;
  call_.worker.metrics.recordUpstreamStatus(head.status);
  forwardResponseHeaders(call_.ex, head);
  if (head.status != 200) return refused(*upstream);
  ok = std::move(upstream);
  return std::nullopt;
}

// Sends attempts of the upgrade until the backend switches protocols, or answers what the model
// calls answer for the same failures.
AttemptResult AttemptLoop::upgrade(const HeaderList& fixed_headers) {
  if (auto none = startAccounts()) return std::move(*none);
  if (!takeCredentials()) return credentialsRefused();
  for (;;) {
    if (call_.deadline.expired()) return failed(call_.deadlineError());
    const std::string key = ws::makeClientKey();
    auto sent = pool_.send(upgradeSpec(fixed_headers, key));
    if (!sent) {
      if (Step step = sendFailed(sent.error())) return std::move(*step);
      continue;
    }
    const UpstreamResponseHead& head = sent.value()->head();
    call_.ex.upstream_status = head.status;
    call_.worker.metrics.recordUpstreamStatus(head.status);
    // The 101's headers go out on the route's own 101 (ws_route.cpp), not on ex.response.
    if (head.status == 101) return switched(std::move(sent.value()), key);
    forwardResponseHeaders(call_.ex, head);
    if (Step step = refused(*sent.value())) return std::move(*step);
  }
}

AttemptResult AttemptLoop::switched(std::unique_ptr<UpstreamExchange> upstream, const std::string& key) {
  const UpstreamResponseHead& head = upstream->head();
  // Nothing offered, so nothing may be accepted: permessage-deflate stays off (docs/ARCHITECTURE.md §7).
  const std::string wrong = ws::checkServerHandshake(head.status, head.headers, key, false);
  if (!wrong.empty()) {
    common::logWarn("websocket_backend_handshake").field("request_id", call_.ex.request_id).field("error", wrong);
    return failed(upstreamUnavailableError("the backend's WebSocket handshake was invalid (" + wrong + ")"));
  }
  AttemptResult r;
  r.end = AttemptResult::End::Started;
  r.switched = std::move(upstream);
  return r;
}

[[gnu::noinline]] AttemptLoop::Step AttemptLoop::refused(UpstreamExchange& upstream) {
  if (upstream.head().status == 401 && !refreshed_) return refreshAfterUnauthorized(upstream);
  return failedStatus(upstream);
}

[[gnu::noinline]] AttemptLoop::Step AttemptLoop::sendFailed(const UpstreamFailure& failure) {
  WorkerMetrics& metrics = call_.worker.metrics;
  if (failure.kind == UpstreamFailure::Kind::Cancelled) {
    metrics.recordClientDisconnect();
    return clientLeft();  // nobody to answer
  }
  metrics.recordUpstreamFailure(toString(failure.kind));
  AttemptOutcome outcome;
  outcome.failure = failure.kind;
  if (retryAfter(outcome)) return std::nullopt;
  common::logWarn("upstream_failed").field("request_id", call_.ex.request_id).field("kind", toString(failure.kind));
  return failed(call_.deadline.expired() ? call_.deadlineError() : failureError(failure));
}

UpstreamRequestSpec AttemptLoop::requestSpec(HeaderList headers) {
  const common::Config& config = call_.worker.config;
  UpstreamRequestSpec spec;
  spec.path = config.codex_responses_path;
  spec.headers = std::move(headers);
  spec.headers.emplace_back("Authorization", "Bearer " + credentials_->access_token);
  const std::string& account = credentials_->account_id.empty() ? config.account_id : credentials_->account_id;
  if (!account.empty()) spec.headers.emplace_back("ChatGPT-Account-ID", account);
  spec.cancelled = [&client = call_.client] { return client.gone(); };
  spec.poll_slice = kHeadPollSlice;
  if (call_.deadline.limited()) {  // at least 1 ms: 0 would mean "the idle timeout"
    spec.head_timeout = std::max(call_.deadline.cap(config.upstream_idle_timeout), milliseconds(1));
  }
  return spec;
}

UpstreamRequestSpec AttemptLoop::upgradeSpec(const HeaderList& fixed_headers, const std::string& key) {
  HeaderList headers = fixed_headers;
  headers.emplace_back("Upgrade", "websocket");
  headers.emplace_back("Sec-WebSocket-Version", "13");
  headers.emplace_back("Sec-WebSocket-Key", key);
  UpstreamRequestSpec spec = requestSpec(std::move(headers));
  spec.method = "GET";
  spec.upgrade = true;
  return spec;
}

// Asks the supervisor for a refresh (single flight there) and tries again with what it sends.
[[gnu::noinline]] AttemptLoop::Step AttemptLoop::refreshAfterUnauthorized(UpstreamExchange& upstream) {
  const CallDeadline& deadline = call_.deadline;
  upstream.readAll(kErrorBodyCap, deadline.cap(milliseconds(2000)));
  reportUnauthorized(call_, credentials_->generation);
  auto newer = credentialsCacheForCall(call_).waitNewer(credentials_->generation,
                                                        deadline.capPoint(call_.worker.config.credentials_wait));
  if (deadline.expired()) return failed(call_.deadlineError());
  if (!newer || !newer->usable(unixMillis())) {
    accounts::FailureFacts facts;
    facts.status = 401;
    facts.after_refresh = true;  // the refresh did not give a usable token: the login is gone
    if (const Failover f = failOver(facts); f != Failover::NotAccountLevel) return afterFailover(f);
    return failed(mapUpstreamError(401, "", "", unixSeconds()));
  }
  credentials_ = std::move(newer);
  refreshed_ = true;
  return std::nullopt;
}

[[gnu::noinline]] AttemptLoop::Step AttemptLoop::failedStatus(UpstreamExchange& upstream) {
  const UpstreamResponseHead& head = upstream.head();
  const std::string body = upstream.readAll(kErrorBodyCap, call_.deadline.cap(milliseconds(5000)));
  const std::optional<std::int64_t> retry_after =
      common::parseRetryAfterSeconds(head.header("Retry-After").value_or(""));
  if (several_accounts_) {
    accounts::FailureFacts facts = failureFacts(body, head.status);
    facts.retry_after_s = retry_after;
    facts.windows = quotaWindowsOf(head);
    facts.after_refresh = head.status == 401 && refreshed_;
    if (const Failover f = failOver(facts); f != Failover::NotAccountLevel) return afterFailover(f);
  }
  common::ApiError error =
      mapUpstreamError(head.status, head.header("Content-Type").value_or(""), body, unixSeconds(), retry_after);
  AttemptOutcome outcome;
  outcome.status = head.status;
  if (error.code) outcome.error_code = *error.code;  // server_is_overloaded, model_at_capacity: retried
  if (retry_after) outcome.retry_after = std::chrono::seconds(*retry_after);
  if (retryAfter(outcome)) return std::nullopt;
  return failed(std::move(error));
}

// Reads the 200 stream while HoldBack says hold: a failure event before the first output is a
// failed attempt (retried like a status), and so is a stream that ends or is cut before it; the
// first output, a full hold or the end of the window starts the answer with what was held.
AttemptLoop::Step AttemptLoop::holdBack(std::unique_ptr<UpstreamExchange> upstream, UpstreamCall& up,
                                        UpstreamEvents::Framing framing) {
  if (up.request.client_stream) call_.stream_gauge.emplace(call_.worker.metrics);
  HoldBack hold(HoldBack::Clock::now());
  auto events = std::make_unique<UpstreamEvents>(
      std::move(upstream), framing, static_cast<std::size_t>(call_.worker.config.max_event_bytes), call_.ex.request_id);
  std::vector<SseEvent> held;
  // Framing::KeepBytes: the relay's bytes of the held events, unchanged and in order. Moved out of
  // the relay after every read, so holding does not count against its MAX_EVENT_BYTES cap.
  std::string held_bytes;
  const SseParser::Callback keep = [this, &hold, &held](SseEvent&& e) {
    if (hold.verdict() == HoldVerdict::Fail) return;  // past the failure: dropped with the attempt
    if (several_accounts_ && e.event == "codex.rate_limits") observeQuotaEvent(e);
    hold.onEvent(e);
    held.push_back(std::move(e));
  };
  while (hold.verdict() == HoldVerdict::Hold && !events->ended() && !events->stopped()) {
    const auto wait = std::min(call_.deadline.cap(call_.client.slice(SseWriter::kLongestWait)),
                               std::max(hold.timeLeft(HoldBack::Clock::now()), milliseconds(1)));
    const ReadStatus status = events->read(wait, call_.client.hangupFd(), keep);
    if (events->keepsBytes()) takeBytes(held_bytes, events->bytes());
    if (status == ReadStatus::Timeout && call_.client.gone()) {
      events->abort();  // the upstream sees FIN now, not when it next writes
      call_.worker.metrics.recordClientDisconnect();
      common::logInfo("client_disconnected").field("request_id", call_.ex.request_id);
      return clientLeft();
    }
    hold.onTime(HoldBack::Clock::now());
    // Once committed, the deadline is checked by the pump (event_pump.cpp).
    if (hold.verdict() == HoldVerdict::Hold && !events->ended() && !events->stopped() && call_.deadline.expired()) {
      common::logWarn("request_timeout").field("request_id", call_.ex.request_id);
      events->stop(call_.deadlineError());
    }
  }
  if (hold.verdict() == HoldVerdict::Fail) {
    events->abort();
    return failureEvent(held.back(), events->head());
  }
  if (hold.verdict() == HoldVerdict::Hold) {
    events->abort();
    return endedBeforeOutput(*events);
  }
  if (hold.commitReason() != HoldBack::CommitReason::Output) {
    common::logDebug("hold_back_committed")
        .field("request_id", call_.ex.request_id)
        .field("reason", toString(hold.commitReason()))
        .field("events", static_cast<uint64_t>(hold.heldEvents()));
  }
  // Past the commit nothing is retried: the request body (a whole conversation, often hundreds
  // of KB) need not live as long as the stream.
  std::string().swap(up.request.body);
  if (events->keepsBytes()) {
    takeBytes(held_bytes, events->bytes());
    events->bytes().swap(held_bytes);
  }
  AttemptResult r;
  r.end = AttemptResult::End::Started;
  r.events = std::move(events);
  r.first_events = std::move(held);
  return r;
}

// A failure reported before the first output: retried when it says so (an overload, the model
// at capacity, a 5xx-class failure), else the client gets the status it maps to.
[[gnu::noinline]] AttemptLoop::Step AttemptLoop::failureEvent(const SseEvent& event, const UpstreamResponseHead& head) {
  call_.stream_gauge.reset();
  if (several_accounts_) {
    accounts::FailureFacts facts = failureFacts(event.data, 0);
    facts.windows = quotaWindowsOf(head);
    if (const Failover f = failOver(facts); f != Failover::NotAccountLevel) return afterFailover(f);
  }
  common::ApiError error = mapStreamFailure(std::string_view(event.data), unixSeconds());
  common::logInfo("upstream_failed_before_output")
      .field("request_id", call_.ex.request_id)
      .field("status", error.status)
      .field("code", error.code.value_or(""));
  AttemptOutcome outcome;
  outcome.status = error.status;
  if (error.code) outcome.error_code = *error.code;
  if (retryAfter(outcome)) return std::nullopt;
  return failed(std::move(error));
}

// The stream ended, or was cut (an event too large, the deadline), with nothing to show: an error
// before the first byte. A silence as long as the idle timeout is a timeout (504) here.
[[gnu::noinline]] AttemptLoop::Step AttemptLoop::endedBeforeOutput(const UpstreamEvents& events) {
  call_.stream_gauge.reset();
  common::ApiError error = events.endReason().value_or(upstreamTruncatedError());
  if (error.code && *error.code == "upstream_idle_timeout") error = upstreamTimeoutError();
  common::logWarn("upstream_ended_before_output")
      .field("request_id", call_.ex.request_id)
      .field("code", error.code.value_or(""));
  return failed(std::move(error));
}

bool AttemptLoop::retryAfter(AttemptOutcome outcome) {
  if (!retry_.shouldRetry(outcome, retries_)) return false;
  if (call_.client.goneWithin(call_.deadline.cap(retry_.delayFor(outcome, retries_)))) return false;
  ++retries_;
  call_.worker.metrics.recordUpstreamRetry();
  return true;
}

}  // namespace cosp::worker
