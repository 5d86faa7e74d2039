#include "worker/handlers/model_handler.h"

#include <algorithm>
#include <chrono>

#include "common/log/log.h"
#include "common/util/strings.h"
#include "common/version.h"
#include "worker/http/client_watch.h"
#include "worker/sse/sse_parser.h"
#include "worker/sse/sse_relay.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/chat_stream_mapper.h"
#include "worker/translate/dropped_fields_header.h"
#include "worker/translate/error_json.h"
#include "worker/translate/response_collector.h"
#include "worker/translate/responses_request.h"
#include "worker/translate/upstream_error.h"
#include "worker/upstream/call_deadline.h"
#include "worker/upstream/header_rules.h"

namespace cosp::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadSlice{200};  // how often a handler waiting for a head checks its client
// A handler waiting for body bytes is woken by its client's hang-up itself (the client socket
// is polled with the upstream), so its slice only bounds the keep-alive timer. Short slices
// cost: 2,000 held streams at 200 ms were 10,000 wake-ups a second.
constexpr milliseconds kBodySlice{5000};
constexpr milliseconds kKeepAliveEvery{15000};  // SSE comment while the upstream is silent
constexpr milliseconds kCredentialWait{15000};  // for a refreshed token after an upstream 401
constexpr size_t kErrorBodyCap = 64 * 1024;

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
int64_t unixMillis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Waits `delay` (a retry's back-off) unless the client leaves first: false when it left.
bool waitUnlessGone(ClientWatch& client, milliseconds delay) { return !client.goneWithin(delay); }

common::ApiError credentialsError(const common::WorkerCredentials& c) {
  std::string code = "no_credentials";
  std::string message =
      "The proxy has no upstream credentials. Run `codex-sub-proxy login` (or set OPENAI_REFRESH_TOKEN) and "
      "restart or reload the proxy.";
  if (c.state == common::CredentialState::NeedsLogin) {
    code = "credentials_expired";
    message = "The ChatGPT login of this proxy expired or was revoked. Run `codex-sub-proxy login` on the proxy host.";
  } else if (!c.access_token.empty()) {
    code = "credentials_expired";
    message =
        "The upstream access token expired and could not be refreshed yet; retry shortly. If this persists, "
        "run `codex-sub-proxy login`.";
  }
  common::ApiError e{503,          "server_error", message,
                     std::nullopt, code,           std::make_pair(std::string("Retry-After"), std::string("5"))};
  return e;
}

common::ApiError failureError(const UpstreamFailure& f) {
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

common::ApiError readError(const ReadError& e) {
  if (e.kind == ReadError::Kind::IdleTimeout) return upstreamIdleTimeoutError();
  return upstreamTruncatedError();
}

// The upstream's x-codex-* headers (rate-limit windows, ...) go back on every response, and
// into the worker's observation for `ctl status`; only well-formed ones (a bare CR or a NUL from
// the backend would otherwise reach the client's response head), and only so many.
void forwardCodexHeaders(Exchange& ex, const UpstreamResponseHead& head) {
  const CodexHeaderSelection codex = selectCodexHeaders(head.headers);
  if (codex.dropped > 0) {
    common::logDebug("upstream_headers_dropped")
        .field("request_id", ex.request_id)
        .field("count", static_cast<uint64_t>(codex.dropped));
  }
  std::map<std::string, std::string> seen;
  for (const auto& [name, value] : codex.headers) {
    ex.response.set(name, value);
    seen[common::toLower(name)] = value;
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
  if (!t.empty())
    return t == "response.completed" || t == "response.incomplete" || t == "response.failed" || t == "error";
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
  // Writes one chunk within SEND_TIMEOUT; false when the client is gone or stopped reading.
  bool write(std::string_view bytes) {
    if (!started_) start();
    if (client_.isGone()) return false;
    // Through the response, which records a failed write: its last chunk is then not tried
    // (it would wait SEND_TIMEOUT again) and the connection closes.
    if (!ex_.response.write(bytes)) {
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

ModelHandler::ModelHandler(WorkerContext& ctx, std::unique_ptr<UpstreamPool> pool) : ctx_(ctx), pool_(std::move(pool)) {
  if (!ctx_.config.dropped_params.empty()) options_.dropped_fields = ctx_.config.dropped_params;
  options_.strict = ctx_.config.strict_params;
  options_.reasoning_compat = parseReasoningCompat(ctx_.config.reasoning_compat).value_or(ReasoningCompat::None);
}

ModelHandler::~ModelHandler() = default;

void ModelHandler::chatCompletions(Exchange& ex) { handle(ex, Api::Chat); }
void ModelHandler::responses(Exchange& ex) { handle(ex, Api::Responses); }

void ModelHandler::handle(Exchange& ex, Api api) {
  auto body = ex.request.readBody(ctx_.config.max_body_bytes);
  if (!body) {
    sendError(ex, body.error());
    return;
  }
  auto translated =
      api == Api::Chat ? translateChatRequest(*body, options_) : normalizeResponsesRequest(*body, options_);
  if (!translated) {
    sendError(ex, translated.error());
    return;
  }
  body->clear();
  body->shrink_to_fit();
  UpstreamRequest& up = *translated;
  ex.model = up.model;
  ex.stream = up.client_stream;
  // Escaped and capped: the names are the client's JSON keys, any bytes and any number of them.
  if (up.dropped_total > 0) {
    ex.response.set("x-codex-sub-proxy-dropped", droppedFieldsHeader(up.dropped, up.dropped_total));
  }
  // A non-streaming call shows nothing until it ends, so it gets an overall budget; a stream
  // shows progress and is bounded by the upstream idle timeout instead.
  const CallDeadline deadline = up.client_stream ? CallDeadline() : CallDeadline::after(ctx_.config.request_timeout);
  const common::ApiError deadline_error = requestTimeoutError(ctx_.config.request_timeout.count());

  // Request headers that do not change between attempts. The client's own ones are checked
  // here: a value HTTP does not allow is the client's 400, not a write the upstream client
  // refuses (which was a 502).
  HeaderList fixed = {{"Content-Type", "application/json"},
                      {"Accept", "text/event-stream"},
                      {"User-Agent", std::string(kProductName) + "/" + kVersion},
                      {"originator", ctx_.config.originator}};
  std::string session;
  for (const char* name : {"session_id", "session-id", "x-session-id"}) {
    if (!ex.request.has(name)) continue;
    std::string value = ex.request.get(name);
    if (auto bad = checkForwardedHeader(name, value)) {
      sendError(ex, *bad);
      return;
    }
    if (session.empty()) session = std::move(value);
  }
  fixed.emplace_back("session_id", session.empty() ? up.session_id : session);
  for (const auto& [name, value] : ex.request) {
    if (!isCodexHeaderName(name) && !headerNameEquals(name, "x-client-request-id")) continue;
    if (auto bad = checkForwardedHeader(name, value)) {
      sendError(ex, *bad);
      return;
    }
    fixed.emplace_back(name, value);
  }

  ClientWatch client(ex.request, ex.response);
  auto credentials = ctx_.credentials.get();
  if (!credentials->usable(unixMillis())) {
    sendError(ex, credentialsError(*credentials));
    return;
  }

  const bool chat = api == Api::Chat;
  const ChatStreamOptions chat_options{newChatCompletionId(),     unixSeconds(), up.model, up.include_usage,
                                       options_.reasoning_compat, up.json_output};

  bool refreshed = false;
  int retries = 0;
  for (;;) {  // attempts: everything here happens before the first byte reaches the client
    if (deadline.expired()) {
      sendError(ex, deadline_error);
      return;
    }
    UpstreamRequestSpec spec;
    spec.path = ctx_.config.codex_responses_path;
    spec.headers = fixed;
    spec.headers.emplace_back("Authorization", "Bearer " + credentials->access_token);
    std::string account = credentials->account_id.empty() ? ctx_.config.account_id : credentials->account_id;
    if (!account.empty()) spec.headers.emplace_back("ChatGPT-Account-ID", account);
    spec.body = std::move(up.body);  // lent for the send, not copied: it can be large
    spec.cancelled = [&client] { return client.gone(); };
    spec.poll_slice = kReadSlice;
    if (deadline.limited()) {  // at least 1 ms: 0 would mean "the idle timeout"
      spec.head_timeout = std::max(deadline.cap(ctx_.config.upstream_idle_timeout), milliseconds(1));
    }

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
      if (retry_.shouldRetry(outcome, retries) && waitUnlessGone(client, deadline.cap(retry_.delayFor(retries)))) {
        ++retries;
        ctx_.metrics.recordUpstreamRetry();
        continue;
      }
      common::logWarn("upstream_failed").field("request_id", ex.request_id).field("kind", toString(sent.error().kind));
      sendError(ex, deadline.expired() ? deadline_error : failureError(sent.error()));
      return;
    }
    std::unique_ptr<UpstreamExchange> upstream = std::move(sent.value());
    const auto& head = upstream->head();
    ex.upstream_status = head.status;
    ctx_.metrics.recordUpstreamStatus(head.status);
    forwardCodexHeaders(ex, head);

    if (head.status == 401 && !refreshed) {
      // Ask the supervisor for a refresh (single flight there) and retry once with what it sends.
      upstream->readAll(kErrorBodyCap, deadline.cap(milliseconds(2000)));
      ctx_.channel.send(common::encodeUnauthorized(credentials->generation));
      auto newer = ctx_.credentials.waitNewer(credentials->generation, deadline.capPoint(kCredentialWait));
      if (deadline.expired()) {
        sendError(ex, deadline_error);
        return;
      }
      if (!newer || !newer->usable(unixMillis())) {
        sendError(ex, mapUpstreamError(401, "", "", unixSeconds()));
        return;
      }
      credentials = newer;
      refreshed = true;
      continue;
    }
    if (head.status != 200) {
      std::string error_body = upstream->readAll(kErrorBodyCap, deadline.cap(milliseconds(5000)));
      common::ApiError error =
          mapUpstreamError(head.status, head.header("Content-Type").value_or(""), error_body, unixSeconds());
      outcome.status = head.status;
      if (error_body.find("server_is_overloaded") != std::string::npos) outcome.error_code = "server_is_overloaded";
      if (retry_.shouldRetry(outcome, retries) && waitUnlessGone(client, deadline.cap(retry_.delayFor(retries)))) {
        ++retries;
        ctx_.metrics.recordUpstreamRetry();
        continue;
      }
      sendError(ex, error);
      return;
    }

    // 200: consume the SSE stream. Every path holds at most about twice MAX_EVENT_BYTES: the
    // parser's one event, plus the relay's raw bytes or the collector's kept output.
    const std::size_t max_event_bytes = static_cast<std::size_t>(ctx_.config.max_event_bytes);
    SseOut out(ex, client);
    std::optional<StreamGauge> gauge;
    if (up.client_stream) gauge.emplace(ctx_.metrics);
    std::optional<ChatStreamMapper> mapper;
    std::optional<ResponseCollector> collector;
    std::optional<SseRelay> relay;  // Responses stream: the upstream's bytes, relayed unchanged
    if (chat && up.client_stream) mapper.emplace(chat_options);
    if (!up.client_stream) collector.emplace(max_event_bytes);
    if (!chat && up.client_stream) relay.emplace(max_event_bytes);
    SseParser parser(max_event_bytes);  // chat stream and collector (the relay has its own)
    std::vector<std::string> chunks;
    bool relay_done = false;                        // Responses relay: a terminal event was seen
    std::optional<common::ApiError> early_failure;  // an error event before any client byte
    bool first_event_seen = false;

    auto onEvent = [&](SseEvent&& event) {
      if (!first_event_seen) {
        first_event_seen = true;
        if (isFailureEvent(event) && !out.started())
          early_failure = mapStreamFailure(std::string_view(event.data), unixSeconds());
        // Past a first event that is not a failure nothing is retried: the request body (a
        // whole conversation, often hundreds of KB) need not live as long as the stream.
        if (!early_failure) std::string().swap(up.body);
      }
      if (mapper) mapper->onEvent(event, chunks);
      if (collector) collector->onEvent(event);
      if (relay && isTerminalEvent(event)) relay_done = true;
    };

    std::string buf;
    bool client_left = false;
    std::optional<common::ApiError> end_reason;  // why the upstream ended without finishing
    bool upstream_ended = false;
    bool cut = false;  // the proxy stopped reading: an event too large, the collector's cap, the deadline
    while (!upstream_ended) {
      common::clearAndTrim(buf);
      ReadStatus status = upstream->read(buf, deadline.cap(client.slice(out.nextWait())), client.hangupFd());
      if (status == ReadStatus::Data) {
        const bool parsed = relay ? relay->feed(buf, onEvent) : parser.feed(buf, onEvent);
        if (!parsed) {
          common::logWarn("upstream_event_too_large")
              .field("request_id", ex.request_id)
              .field("max_event_bytes", static_cast<uint64_t>(max_event_bytes));
          end_reason = upstreamEventTooLargeError(max_event_bytes);
          cut = true;
        }
      } else if (status == ReadStatus::End || status == ReadStatus::Error) {
        if (relay)
          relay->finish(onEvent);
        else
          parser.finish(onEvent);
        if (status == ReadStatus::Error) end_reason = readError(upstream->error());
        upstream_ended = true;
      }
      if (early_failure) break;

      // Deliver what we have. Headers go out with the first event (deferred until the upstream
      // has shown it will not fail at once, so such failures still get a proper status).
      if (mapper && !chunks.empty()) {
        if (!out.writeChatChunks(chunks)) client_left = true;
      } else if (mapper && first_event_seen && !out.started() && !mapper->finished()) {
        out.start();  // headers now, so a client waiting through long reasoning sees progress
      } else if (relay && first_event_seen && !relay->ready().empty()) {
        if (!out.write(relay->ready())) client_left = true;
        common::clearAndTrim(relay->ready());
      }
      if (status == ReadStatus::Timeout) {
        if (client.gone())
          client_left = true;
        else if (up.client_stream && !out.keepAlive())
          client_left = true;
      }
      if (client_left) break;
      if (collector && collector->overCap()) {
        common::logWarn("upstream_response_too_large").field("request_id", ex.request_id);
        cut = true;
      }
      if (!upstream_ended && !cut && deadline.expired()) {
        common::logWarn("request_timeout").field("request_id", ex.request_id);
        end_reason = deadline_error;
        cut = true;
      }
      if (cut) break;
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
      if (early_failure->code && *early_failure->code == "server_is_overloaded")
        outcome.error_code = "server_is_overloaded";
      if (retry_.shouldRetry(outcome, retries) && waitUnlessGone(client, deadline.cap(retry_.delayFor(retries)))) {
        ++retries;
        ctx_.metrics.recordUpstreamRetry();
        continue;
      }
      sendError(ex, *early_failure);
      return;
    }
    if (cut) upstream->abort();  // stop the upstream now; its connection is not reusable mid-body

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
    // Responses relay: the upstream vanished (or was cut) without a terminal event -> synthesise
    // one. The relay released whole events only, so the client is between events here.
    if (!relay_done) {
      common::ApiError error = end_reason.value_or(upstreamTruncatedError());
      if (!out.started()) {
        sendError(ex, error);  // no event reached the client: a real status
        return;
      }
      if (!relay->ready().empty()) out.write(relay->ready());
      out.write("event: error\ndata: " + responsesErrorEventData(error) + "\n\n");
    } else if (!relay->ready().empty()) {
      out.write(relay->ready());
    }
    return;
  }
}

}  // namespace cosp::worker
