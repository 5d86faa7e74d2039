#include "worker/calls/call_handler.h"

#include "worker/calls/attempt_loop.h"
#include "worker/calls/chat_stream_sink.h"
#include "worker/calls/collect_sink.h"
#include "worker/calls/event_pump.h"
#include "worker/calls/relay_sink.h"
#include "worker/calls/upstream_call.h"
#include "worker/calls/wall_clock.h"
#include "worker/calls/ws_route.h"
#include "worker/front/caller_keys.h"
#include "worker/translate/upstream_error.h"

namespace cosp::worker {

namespace {

std::unique_ptr<OutputSink> makeSink(CallContext& call, CallApi api, bool stream, ChatStreamOptions chat,
                                     UpstreamEvents& events) {
  if (!stream) {
    return std::make_unique<CollectSink>(call.ex, api, std::move(chat),
                                         static_cast<std::size_t>(call.worker.config.max_event_bytes));
  }
  if (events.keepsBytes()) return std::make_unique<RelaySink>(call.ex, call.client, events.bytes());
  return std::make_unique<ChatStreamSink>(call.ex, call.client, std::move(chat));
}

}  // namespace

common::ApiError CallContext::deadlineError() const { return requestTimeoutError(request_timeout.count()); }

CallHandler::CallHandler(WorkerContext& ctx, std::unique_ptr<UpstreamPool> pool)
    : ctx_(ctx),
      pool_(std::move(pool)),
      fingerprint_(common::codexFingerprint(ctx.config.originator, ctx.config.codexClientVersion())) {
  if (!ctx_.config.dropped_params.empty()) options_.dropped_fields = ctx_.config.dropped_params;
  options_.strict = ctx_.config.strict_params;
  options_.reasoning_compat = parseReasoningCompat(ctx_.config.reasoning_compat).value_or(ReasoningCompat::None);
}

CallHandler::~CallHandler() = default;

void CallHandler::handleWebSocket(Exchange& ex) {
  serveResponsesWebSocket(ex, WsRouteDeps{*pool_, options_, fingerprint_, retry_});
}

namespace {

// The call built from the request and admitted by the caller key's limits (now that the model
// is known and before any backend call), or null once the client has its error.
[[gnu::noinline]] std::unique_ptr<UpstreamCall> prepareCall(Exchange& ex, CallApi api, const TranslateOptions& options,
                                                            const CallExtras& extras) {
  auto up = buildUpstreamCall(ex, api, options, extras);
  if (!up) {
    sendError(ex, up.error());
    return nullptr;
  }
  if (auto refused = admitModelCall(ex)) {
    sendError(ex, *refused);
    return nullptr;
  }
  return std::make_unique<UpstreamCall>(std::move(*up));
}

}  // namespace

// Two steps in frames of their own under a small one: building the call (its translation is the
// deepest point a connection thread's stack reaches) and serving it (a held stream waits there).
// A thread keeps every stack page it ever touched for as long as it lives, so what one step keeps
// in its frame must not sit above the other: with both in one frame, every held stream's thread
// kept a fourth page (issue 17; perf page-faults on a worker).
void CallHandler::handle(Exchange& ex, CallApi api) {
  // Held for the whole call: a catalog pushed meanwhile must not free the one this call checked against.
  const std::shared_ptr<const common::ModelCatalog> catalog = ctx_.catalog.get();
  const std::unique_ptr<UpstreamCall> up = prepareCall(ex, api, options_, CallExtras{&fingerprint_, catalog.get()});
  if (up) serve(ex, api, *up);
}

[[gnu::noinline]] void CallHandler::serve(Exchange& ex, CallApi api, UpstreamCall& up) {
  const UpstreamRequest& request = up.request;
  ClientWatch client(ex.request, ex.response);
  CallContext call{ex,
                   ctx_,
                   client,
                   request.client_stream ? CallDeadline() : CallDeadline::after(ctx_.config.request_timeout),
                   ctx_.config.request_timeout,
                   std::nullopt};
  ChatStreamOptions chat{newChatCompletionId(),     unixSeconds(),      request.model, request.include_usage,
                         options_.reasoning_compat, request.json_output};
  // A Responses stream is relayed byte for byte, so its framing keeps the bytes (RelaySink).
  const bool relay = api == CallApi::Responses && request.client_stream;
  const auto framing = relay ? UpstreamEvents::Framing::KeepBytes : UpstreamEvents::Framing::EventsOnly;

  AttemptResult started = AttemptLoop(call, *pool_, retry_).run(up, framing);
  if (started.end == AttemptResult::End::ClientLeft) return;
  if (started.end == AttemptResult::End::Failed) {
    sendError(ex, *started.error);
    return;
  }
  // Sinks on the heap and the pump called from here, not from a helper: this frame stays small, and
  // a held stream's thread keeps every stack page it once wrote (kReadChunk in upstream_connection.cpp).
  auto sink = makeSink(call, api, request.client_stream, std::move(chat), *started.events);
  pumpEvents(call, *started.events, started.first_events, *sink);
}

}  // namespace cosp::worker
