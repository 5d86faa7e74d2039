#include "worker/calls/upstream_call.h"

#include "common/version.h"
#include "worker/translate/chat_request.h"
#include "worker/translate/dropped_fields_header.h"
#include "worker/translate/responses_request.h"
#include "worker/upstream/header_rules.h"

namespace cosp::worker {

namespace {

// The client's session id, if it sent one under any of the names clients use. A value HTTP does
// not allow is the client's 400 here, not a write the upstream client refuses later (a 502).
common::Result<std::string> clientSessionId(const HttpRequest& request) {
  std::string session;
  for (const char* name : {"session_id", "session-id", "x-session-id"}) {
    if (!request.has(name)) continue;
    std::string value = request.get(name);
    if (auto bad = checkForwardedHeader(name, value)) return *bad;
    if (session.empty()) session = std::move(value);
  }
  return session;
}

common::Result<HeaderList> fixedHeaders(const Exchange& ex, const UpstreamRequest& up) {
  HeaderList fixed = {{"Content-Type", "application/json"},
                      {"Accept", "text/event-stream"},
                      {"User-Agent", std::string(kProductName) + "/" + kVersion},
                      {"originator", ex.ctx.config.originator}};
  auto session = clientSessionId(ex.request);
  if (!session) return session.error();
  fixed.emplace_back("session_id", session->empty() ? up.session_id : *session);
  for (const auto& [name, value] : ex.request) {
    if (!isCodexHeaderName(name) && !headerNameEquals(name, "x-client-request-id")) continue;
    if (auto bad = checkForwardedHeader(name, value)) return *bad;
    fixed.emplace_back(name, value);
  }
  return fixed;
}

}  // namespace

common::Result<UpstreamCall> buildUpstreamCall(Exchange& ex, CallApi api, const TranslateOptions& options) {
  auto body = ex.request.readBody(ex.ctx.config.max_body_bytes);
  if (!body) return body.error();
  auto translated =
      api == CallApi::Chat ? translateChatRequest(*body, options) : normalizeResponsesRequest(*body, options);
  if (!translated) return translated.error();
  body->clear();
  body->shrink_to_fit();  // a conversation can be megabytes; only the translated copy lives on
  UpstreamRequest& up = *translated;
  ex.model = up.model;
  ex.stream = up.client_stream;
  // Escaped and capped: the names are the client's JSON keys, any bytes and any number of them.
  if (up.dropped_total > 0) {
    ex.response.set("x-codex-sub-proxy-dropped", droppedFieldsHeader(up.dropped, up.dropped_total));
  }
  auto headers = fixedHeaders(ex, up);
  if (!headers) return headers.error();
  return UpstreamCall{std::move(up), std::move(*headers)};
}

}  // namespace cosp::worker
