#include "worker/calls/upstream_call.h"

#include "worker/http/body_decoding.h"
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
  for (const char* name : {"session-id", "session_id", "x-session-id"}) {
    const std::optional<std::string_view> value = request.header(name);
    if (!value) continue;
    if (auto bad = checkForwardedHeader(name, *value)) return *bad;
    if (session.empty()) session = *value;
  }
  return session;
}

bool isResponsesLite(const HttpRequest& request) {
  const std::optional<std::string_view> lite = request.header("x-openai-internal-codex-responses-lite");
  return lite && headerNameEquals(*lite, "true");
}

// The client fingerprint (README.md, The client fingerprint): the proxy's, unless the caller is a
// Codex client itself, whose body shape belongs to its own version.
common::Result<bool> addFingerprint(HeaderList& fixed, const HttpRequest& request,
                                    const common::CodexFingerprint& ours) {
  const std::string_view user_agent = request.header("User-Agent").value_or("");
  if (!common::isCodexClientUserAgent(user_agent)) {
    fixed.emplace_back("User-Agent", ours.user_agent);
    fixed.emplace_back("originator", ours.originator);
    fixed.emplace_back("version", ours.version);
    return true;
  }
  if (auto bad = checkForwardedHeader("User-Agent", user_agent)) return *bad;
  fixed.emplace_back("User-Agent", user_agent);
  for (const auto& [name, fallback] :
       {std::pair{"originator", &ours.originator}, std::pair{"version", &ours.version}}) {
    const std::optional<std::string_view> value = request.header(name);
    if (!value) {
      fixed.emplace_back(name, *fallback);
      continue;
    }
    if (auto bad = checkForwardedHeader(name, *value)) return *bad;
    fixed.emplace_back(name, *value);
  }
  return true;
}

common::Result<HeaderList> headersFor(const Exchange& ex, HeaderList fixed, const std::string& session_id,
                                      const common::CodexFingerprint& fingerprint) {
  if (auto added = addFingerprint(fixed, ex.request, fingerprint); !added) return added.error();
  // The backend derives prompt-cache affinity from `session-id` (the current CLI's name); older
  // deployments read `session_id`, so both carry the one id.
  if (!session_id.empty()) {
    fixed.emplace_back("session-id", session_id);
    fixed.emplace_back("session_id", session_id);
  }
  for (const auto& [name, value] : ex.request) {
    if (!isForwardedRequestHeader(name)) continue;
    if (auto bad = checkForwardedHeader(name, value)) return *bad;
    fixed.emplace_back(name, value);
  }
  return fixed;
}

common::Result<HeaderList> fixedHeaders(const Exchange& ex, const UpstreamRequest& up,
                                        const common::CodexFingerprint& fingerprint) {
  return headersFor(ex, {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}}, up.session_id,
                    fingerprint);
}

}  // namespace

common::Result<HeaderList> backendJsonHeaders(const Exchange& ex, const common::CodexFingerprint& fingerprint,
                                              bool with_body) {
  auto session = clientSessionId(ex.request);
  if (!session) return session.error();
  HeaderList fixed = {{"Accept", "application/json"}};
  if (with_body) fixed.emplace_back("Content-Type", "application/json");
  return headersFor(ex, std::move(fixed), *session, fingerprint);
}

common::Result<WebSocketUpgradeHeaders> webSocketUpgradeHeaders(const Exchange& ex,
                                                                const common::CodexFingerprint& fingerprint) {
  auto session = clientSessionId(ex.request);
  if (!session) return session.error();
  HeaderList fixed;
  for (const auto& [name, value] : ex.request) {
    if (!headerNameEquals(name, "OpenAI-Beta")) continue;
    if (auto bad = checkForwardedHeader(name, value)) return *bad;
    fixed.emplace_back(name, value);
  }
  auto headers = headersFor(ex, std::move(fixed), *session, fingerprint);
  if (!headers) return headers.error();
  return WebSocketUpgradeHeaders{std::move(*headers), std::move(*session)};
}

namespace {

// What buildUpstreamCall reads of the client's request before translating it.
struct ClientBody {
  std::string session_id;
  std::string body;  // decoded
};

// The steps before and after the translation are out of line, each in a frame of its own that
// is gone while the translation runs: the translation's parse is the deepest point a connection
// thread's stack reaches, and the thread keeps every page it touched for as long as it then holds
// a stream (their Result<> locals, ~1.7 KB in one frame, made that 4 pages instead of 3; perf
// page-faults on a worker, issue 17).
[[gnu::noinline]] common::Result<ClientBody> readClientBody(Exchange& ex) {
  auto session = clientSessionId(ex.request);
  if (!session) return session.error();
  // The coding is known before a byte of the body is read: an unknown one is refused unread.
  auto coding = parseContentEncoding(ex.request.header("content-encoding").value_or(""));
  if (!coding) return coding.error();
  auto body = ex.request.readBody(ex.ctx.config.max_body_bytes);
  if (!body) return body.error();
  if (*coding != BodyCoding::Identity) {
    // MAX_BODY_BYTES bounds the bytes on the wire (above) and the decoded bytes (here, as they are
    // produced): a small compressed body never becomes a large one in memory.
    auto decoded = decodeBody(*coding, *body, ex.ctx.config.max_body_bytes);
    if (!decoded) return decoded.error();
    body = std::move(*decoded);
  }
  return ClientBody{std::move(*session), std::move(*body)};
}

[[gnu::noinline]] common::Result<UpstreamCall> finishCall(Exchange& ex, UpstreamRequest& up, const CallExtras& extras) {
  ex.model = up.model;
  ex.stream = up.client_stream;
  ex.session_id = up.session_id;
  // Escaped and capped: the names are the client's JSON keys, any bytes and any number of them.
  if (up.dropped_total > 0) {
    ex.response.set("x-codex-sub-proxy-dropped", droppedFieldsHeader(up.dropped, up.dropped_total));
  }
  auto headers = fixedHeaders(ex, up, *extras.fingerprint);
  if (!headers) return headers.error();
  return UpstreamCall{std::move(up), std::move(*headers)};
}

}  // namespace

common::Result<UpstreamCall> buildUpstreamCall(Exchange& ex, CallApi api, const TranslateOptions& options,
                                               const CallExtras& extras) {
  auto client = readClientBody(ex);
  if (!client) return client.error();
  CallHints hints;
  hints.client_session_id = client->session_id;
  hints.responses_lite = isResponsesLite(ex.request);
  hints.catalog = extras.catalog;
  auto translated = api == CallApi::Chat ? translateChatRequest(client->body, options, hints)
                                         : normalizeResponsesRequest(client->body, options, hints);
  if (!translated) return translated.error();
  // A conversation can be megabytes; only the translated copy lives on.
  std::string().swap(client->body);
  return finishCall(ex, *translated, extras);
}

}  // namespace cosp::worker
