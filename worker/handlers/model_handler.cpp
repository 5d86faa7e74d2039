#include "worker/handlers/model_handler.h"

#include <poll.h>

#include <algorithm>
#include <chrono>

#include "common/log/log.h"
#include "common/util/strings.h"
#include "common/version.h"
#include "worker/handlers/request_body.h"
#include "worker/http/chunk_writer.h"
#include "worker/sse/sse_parser.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/error_json.h"
#include "worker/translate/response_collector.h"
#include "worker/translate/responses_request.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadSlice{200};          // how often a handler waiting for a head checks its client
// A handler waiting for body bytes is woken by its client's hang-up itself (the client socket
// is polled with the upstream), so its slice only bounds the keep-alive timer. Short slices
// cost: 2,000 held streams at 200 ms were 10,000 wake-ups a second.
constexpr milliseconds kBodySlice{5000};
constexpr milliseconds kKeepAliveEvery{15000};   // SSE comment while the upstream is silent
constexpr milliseconds kCredentialWait{15000};   // for a refreshed token after an upstream 401
constexpr size_t kErrorBodyCap = 64 * 1024;

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
int64_t unixMillis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Whether the client of this request has gone away, without reading from its socket: POLLRDHUP
// reports the peer's FIN even while request bytes (a pipelined request) are pending. POCO's
// response stream only notices a vanished client on the second write after it left (§5 #3).
class ClientWatch {
 public:
  // A client that half-closed before its answer began still waits for it: its end of file is
  // no hang-up, so only errors (a reset, both directions shut) count for it.
  explicit ClientWatch(HttpRequest& request)
      : fd_(request.socketFd()), hangup_events_(request.peerHalfClosed() ? 0 : POLLRDHUP) {}
  bool gone() { return goneWithin(milliseconds(0)); }
  // Waits up to `wait` for the client to leave; true when it has (at once if it already had).
  bool goneWithin(milliseconds wait) {
    const auto until = Clock::now() + wait;
    while (!gone_) {
      pollfd pfd{fd_, static_cast<short>(hangup_events_), 0};
      const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
      const int rc = ::poll(&pfd, 1, static_cast<int>(std::max<milliseconds::rep>(left.count(), 0)));
      if (rc > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) gone_ = true;
      if (rc >= 0 || Clock::now() >= until) break;  // answered or timed out; else EINTR: again
    }
    return gone_;
  }
  void markGone() { gone_ = true; }
  bool isGone() const { return gone_; }  // as last seen, without asking the kernel
  int fd() const { return fd_; }
  // The socket an upstream wait may watch for the client's hang-up; -1 when its end of file
  // says nothing (half-closed).
  int hangupFd() const { return hangup_events_ != 0 ? fd_ : -1; }

 private:
  int fd_;
  int hangup_events_;
  bool gone_ = false;
};

// Waits `delay` (a retry's back-off) unless the client leaves first: false when it left.
bool waitUnlessGone(ClientWatch& client, milliseconds delay) { return !client.goneWithin(delay); }

common::ApiError credentialsError(const common::WorkerCredentials& c) {
  std::string code = "no_credentials";
  std::string message =
      "The proxy has no upstream credentials. Run `codex-sub-proxy login` (or set OPENAI_REFRESH_TOKEN) and "
      "restart or reload the proxy.";
  if (c.state == "needs_login") {
    code = "credentials_expired";
    message = "The ChatGPT login of this proxy expired or was revoked. Run `codex-sub-proxy login` on the proxy host.";
  } else if (!c.access_token.empty()) {
    code = "credentials_expired";
    message = "The upstream access token expired and could not be refreshed yet; retry shortly. If this persists, "
              "run `codex-sub-proxy login`.";
  }
  common::ApiError e{503, "server_error", message, std::nullopt, code, std::make_pair(std::string("Retry-After"), std::string("5"))};
  return e;
}

common::ApiError failureError(const UpstreamFailure& f) {
  if (f.isTimeout()) return upstreamTimeoutError();
  return upstreamUnavailableError(toString(f.kind));
}

common::ApiError readError(const ReadError& e) {
  if (e.kind == ReadError::Kind::IdleTimeout) return upstreamIdleTimeoutError();
  return upstreamTruncatedError();
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// The upstream's x-codex-* headers (rate-limit windows, ...) go back on every response, and
// into the worker's observation for `ctl status`.
void forwardCodexHeaders(Exchange& ex, const UpstreamResponseHead& head) {
  std::map<std::string, std::string> seen;
  for (const auto& [name, value] : head.headers) {
    if (name.size() > 8 && headerNameEquals(name.substr(0, 8), "x-codex-")) {
      ex.response.set(name, value);
      seen[common::toLower(name)] = value;
    }
  }
  ex.ctx.metrics.observeUpstream(head.status, seen);
}

// The type of an SSE event: the event field, else the JSON "type" of its data (cheap scan).
bool isFailureEvent(const SseEvent& e) {
  if (!e.event.empty()) return e.event == "error" || e.event == "response.failed";
  return e.data.find("\"type\":\"error\"") != std::string::npos ||
         e.data.find("\"type\":\"response.failed\"") != std::string::npos;
}
bool isTerminalEvent(const SseEvent& e) {
  const std::string& t = e.event;
  if (!t.empty()) return t == "response.completed" || t == "response.incomplete" || t == "response.failed" || t == "error";
  return e.data.find("\"type\":\"response.completed\"") != std::string::npos ||
         e.data.find("\"type\":\"response.incomplete\"") != std::string::npos || isFailureEvent(e);
}

// Chunked SSE output to the client, one chunk per batch of events, written straight to the
// socket (chunk_writer.h: no copies, and a dead client shows at the write that failed). POCO
// still sends the headers and, when the response object ends, the terminating chunk: its
// chunked stream is created by send() but never written to.
class SseOut {
 public:
  SseOut(Exchange& ex, ClientWatch& client) : ex_(ex), client_(client) {}

  bool started() const { return started_; }
  void start() {
    prepareResponse(ex_, 200);
    ex_.response.setContentType("text/event-stream; charset=utf-8");
    ex_.response.set("Cache-Control", "no-cache");
    ex_.response.set("X-Accel-Buffering", "no");  // tell nginx-style fronts not to buffer
    ex_.response.setChunkedTransferEncoding(true);
    ex_.response.send();  // writes the status line and headers before it returns
    started_ = true;
  }
  // Writes one chunk; false when the client is gone.
  bool write(std::string_view bytes) {
    if (!started_) start();
    if (client_.isGone()) return false;
    if (!sendChunk(client_.fd(), bytes)) {
      client_.markGone();
      return false;
    }
    ex_.bytes_out += static_cast<int64_t>(bytes.size());
    last_write_ = Clock::now();
    return true;
  }
  bool writeChatChunks(std::vector<std::string>& chunks) {
    if (chunks.empty()) return true;
    std::string batch;
    for (const auto& c : chunks) {
      batch += "data: ";
      batch += c;
      batch += "\n\n";
    }
    chunks.clear();
    return write(batch);
  }
  // A comment line during long upstream silences, so a client that left is noticed.
  bool keepAlive() {
    if (!started_ || Clock::now() - last_write_ < kKeepAliveEvery) return true;
    return write(": keep-alive\n\n");
  }
  // How long the next upstream wait may last without delaying a keep-alive comment.
  milliseconds nextWait() const {
    if (!started_) return kBodySlice;
    auto due = std::chrono::duration_cast<milliseconds>(last_write_ + kKeepAliveEvery - Clock::now());
    return std::clamp(due, milliseconds(1), kBodySlice);
  }

 private:
  Exchange& ex_;
  ClientWatch& client_;
  bool started_ = false;
  Clock::time_point last_write_ = Clock::now();
};

// Counts a held stream for heartbeats and /metrics.
struct StreamGauge {
  explicit StreamGauge(WorkerMetrics& m) : metrics(m) { ++metrics.active_streams; }
  ~StreamGauge() { --metrics.active_streams; }
  WorkerMetrics& metrics;
};

}  // namespace

ModelHandler::ModelHandler(WorkerContext& ctx, std::unique_ptr<UpstreamPool> pool)
    : ctx_(ctx), pool_(std::move(pool)) {
  if (!ctx_.config.dropped_params.empty()) options_.dropped_fields = ctx_.config.dropped_params;
  options_.strict = ctx_.config.strict_params;
  options_.reasoning_compat = parseReasoningCompat(ctx_.config.reasoning_compat).value_or(ReasoningCompat::None);
}

ModelHandler::~ModelHandler() = default;

void ModelHandler::chatCompletions(Exchange& ex) { handle(ex, Api::Chat); }
void ModelHandler::responses(Exchange& ex) { handle(ex, Api::Responses); }

void ModelHandler::handle(Exchange& ex, Api api) {
  auto body = readRequestBody(ex.request, ctx_.config.max_body_bytes);
  if (!body) {
    sendError(ex, body.error());
    return;
  }
  ex.body_read = true;
  auto translated = api == Api::Chat ? translateChatRequest(*body, options_) : normalizeResponsesRequest(*body, options_);
  if (!translated) {
    sendError(ex, translated.error());
    return;
  }
  body->clear();
  body->shrink_to_fit();
  UpstreamRequest& up = *translated;
  ex.model = up.model;
  ex.stream = up.client_stream;
  if (!up.dropped.empty()) ex.response.set("x-codex-sub-proxy-dropped", joinNames(up.dropped));

  ClientWatch client(ex.request);
  auto credentials = ctx_.credentials.get();
  if (!credentials->usable(unixMillis())) {
    sendError(ex, credentialsError(*credentials));
    return;
  }

  // Request headers that do not change between attempts.
  HeaderList fixed = {{"Content-Type", "application/json"},
                      {"Accept", "text/event-stream"},
                      {"User-Agent", std::string(kProductName) + "/" + kVersion},
                      {"originator", ctx_.config.originator}};
  std::string session;
  for (const char* name : {"session_id", "session-id", "x-session-id"}) {
    if (ex.request.has(name) && !ex.request.get(name).empty()) {
      session = ex.request.get(name);
      break;
    }
  }
  fixed.emplace_back("session_id", session.empty() ? up.session_id : session);
  for (const auto& [name, value] : ex.request) {
    bool codex = name.size() > 8 && headerNameEquals(name.substr(0, 8), "x-codex-");
    if (codex || headerNameEquals(name, "x-client-request-id")) fixed.emplace_back(name, value);
  }

  const bool chat = api == Api::Chat;
  const ChatStreamOptions chat_options{newChatCompletionId(), unixSeconds(), up.model, up.include_usage,
                                       options_.reasoning_compat, up.json_output};

  bool refreshed = false;
  int retries = 0;
  for (;;) {  // attempts: everything here happens before the first byte reaches the client
    UpstreamRequestSpec spec;
    spec.path = ctx_.config.codex_responses_path;
    spec.headers = fixed;
    spec.headers.emplace_back("Authorization", "Bearer " + credentials->access_token);
    std::string account = credentials->account_id.empty() ? ctx_.config.account_id : credentials->account_id;
    if (!account.empty()) spec.headers.emplace_back("ChatGPT-Account-ID", account);
    spec.body = std::move(up.body);  // lent for the send, not copied: it can be large
    spec.cancelled = [&client] { return client.gone(); };
    spec.poll_slice = kReadSlice;

    AttemptOutcome outcome;
    auto sent = pool_->send(spec);
    up.body = std::move(spec.body);  // kept for a retry
    if (!sent) {
      if (sent.error().kind == UpstreamFailure::Kind::Cancelled) {
        ctx_.metrics.recordClientDisconnect();
        return;  // the client left; nobody to answer
      }
      outcome.failure = sent.error().kind;
      ctx_.metrics.recordUpstreamFailure(toString(sent.error().kind));
      if (retry_.shouldRetry(outcome, retries) && waitUnlessGone(client, retry_.delayFor(retries))) {
        ++retries;
        ctx_.metrics.recordUpstreamRetry();
        continue;
      }
      common::logWarn("upstream_failed").field("request_id", ex.request_id).field("kind", toString(sent.error().kind));
      sendError(ex, failureError(sent.error()));
      return;
    }
    std::unique_ptr<UpstreamExchange> upstream = std::move(sent.value());
    const auto& head = upstream->head();
    ex.upstream_status = head.status;
    ctx_.metrics.recordUpstreamStatus(head.status);
    forwardCodexHeaders(ex, head);

    if (head.status == 401 && !refreshed) {
      // Ask the supervisor for a refresh (single flight there) and retry once with what it sends.
      upstream->readAll(kErrorBodyCap, milliseconds(2000));
      ctx_.channel.send(common::encodeUnauthorized(credentials->generation));
      auto newer = ctx_.credentials.waitNewer(credentials->generation, Clock::now() + kCredentialWait);
      if (!newer || !newer->usable(unixMillis())) {
        sendError(ex, mapUpstreamError(401, "", "", unixSeconds()));
        return;
      }
      credentials = newer;
      refreshed = true;
      continue;
    }
    if (head.status != 200) {
      std::string error_body = upstream->readAll(kErrorBodyCap, milliseconds(5000));
      common::ApiError error = mapUpstreamError(head.status, head.header("Content-Type").value_or(""), error_body, unixSeconds());
      outcome.status = head.status;
      if (error_body.find("server_is_overloaded") != std::string::npos) outcome.error_code = "server_is_overloaded";
      if (retry_.shouldRetry(outcome, retries) && waitUnlessGone(client, retry_.delayFor(retries))) {
        ++retries;
        ctx_.metrics.recordUpstreamRetry();
        continue;
      }
      sendError(ex, error);
      return;
    }

    // 200: consume the SSE stream.
    SseParser parser;
    SseOut out(ex, client);
    std::optional<StreamGauge> gauge;
    if (up.client_stream) gauge.emplace(ctx_.metrics);
    std::optional<ChatStreamMapper> mapper;
    std::optional<ResponseCollector> collector;
    if (chat && up.client_stream) mapper.emplace(chat_options);
    if (!up.client_stream) collector.emplace();
    std::vector<std::string> chunks;
    std::string pending_raw;  // Responses relay: raw bytes not yet written (held until the first event)
    bool relay_done = false;  // Responses relay: a terminal event was seen
    std::optional<common::ApiError> early_failure;  // an error event before any client byte
    bool first_event_seen = false;

    auto onEvent = [&](SseEvent&& event) {
      if (!first_event_seen) {
        first_event_seen = true;
        if (isFailureEvent(event) && !out.started()) early_failure = mapStreamFailure(std::string_view(event.data), unixSeconds());
        // Past a first event that is not a failure nothing is retried: the request body (a
        // whole conversation, often hundreds of KB) need not live as long as the stream.
        if (!early_failure) std::string().swap(up.body);
      }
      if (mapper) mapper->onEvent(event, chunks);
      if (collector) collector->onEvent(event);
      if (!mapper && !collector && isTerminalEvent(event)) relay_done = true;
    };

    std::string buf;
    bool client_left = false;
    std::optional<common::ApiError> end_reason;  // why the upstream ended without finishing
    bool upstream_ended = false;
    while (!upstream_ended) {
      common::clearAndTrim(buf);
      ReadStatus status = upstream->read(buf, out.nextWait(), client.hangupFd());
      if (status == ReadStatus::Data) {
        if (!mapper && !collector) pending_raw += buf;
        parser.feed(buf, onEvent);
      } else if (status == ReadStatus::End) {
        parser.finish(onEvent);
        upstream_ended = true;
      } else if (status == ReadStatus::Error) {
        parser.finish(onEvent);
        end_reason = readError(upstream->error());
        upstream_ended = true;
      }
      if (early_failure) break;

      // Deliver what we have. Headers go out with the first event (deferred until the upstream
      // has shown it will not fail at once, so such failures still get a proper status).
      if (mapper && !chunks.empty()) {
        if (!out.writeChatChunks(chunks)) client_left = true;
      } else if (mapper && first_event_seen && !out.started() && !mapper->finished()) {
        out.start();  // headers now, so a client waiting through long reasoning sees progress
      } else if (!mapper && !collector && first_event_seen && !pending_raw.empty()) {
        if (!out.write(pending_raw)) client_left = true;
        common::clearAndTrim(pending_raw);
      }
      if (status == ReadStatus::Timeout) {
        if (client.gone()) client_left = true;
        else if (up.client_stream && !out.keepAlive()) client_left = true;
      }
      if (client_left) break;
    }

    if (client_left) {
      upstream->abort();  // the upstream sees FIN now, not when it next writes
      ctx_.metrics.recordClientDisconnect();
      common::logInfo("client_disconnected").field("request_id", ex.request_id);
      return;
    }
    if (early_failure) {
      upstream->abort();
      outcome.status = 200;
      if (early_failure->code && *early_failure->code == "server_is_overloaded") outcome.error_code = "server_is_overloaded";
      if (retry_.shouldRetry(outcome, retries) && waitUnlessGone(client, retry_.delayFor(retries))) {
        ++retries;
        ctx_.metrics.recordUpstreamRetry();
        continue;
      }
      sendError(ex, *early_failure);
      return;
    }

    if (mapper) {
      mapper->onUpstreamEnd(chunks, end_reason);
      if (!out.started() && mapper->failure()) {
        sendError(ex, *mapper->failure());  // failed before anything was sent: a real status
        return;
      }
      out.writeChatChunks(chunks);
      return;
    }
    if (collector) {
      collector->onUpstreamEnd(end_reason);
      if (!collector->completed()) {
        common::ApiError error = collector->failure().value_or(upstreamTruncatedError());
        sendError(ex, error);
        return;
      }
      std::string json = chat ? collector->chatCompletionJson(chat_options.id, chat_options.created, up.model,
                                                              options_.reasoning_compat, up.json_output)
                              : collector->responsesObjectJson();
      sendJson(ex, 200, json);
      return;
    }
    // Responses relay: the upstream vanished without a terminal event -> synthesise one.
    if (!relay_done) {
      common::ApiError error = end_reason.value_or(upstreamTruncatedError());
      if (!out.started() && pending_raw.empty()) {
        sendError(ex, error);
        return;
      }
      if (!pending_raw.empty()) out.write(pending_raw);
      out.write("event: error\ndata: " + responsesErrorEventData(error) + "\n\n");
    } else if (!pending_raw.empty()) {
      out.write(pending_raw);
    }
    return;
  }
}

}  // namespace cosp::worker
