#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/util/result.h"
#include "tests/support/fakes/fake_backend_failures.h"
#include "tests/support/fakes/fake_backend_rules.h"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Net
}  // namespace Poco

namespace cosp::test {

// A stand-in for the ChatGPT Codex Responses backend, on 127.0.0.1, for unit and
// integration tests (in-process through this class, out-of-process through the
// `fake-codex-backend` program). By default it behaves like the real backend as
// ../shared/BACKEND.md describes it (summarised in tests/README.md); every such
// behaviour is a BackendRules switch (fake_backend_rules.h), also settable by the
// program's flags and POST /__fake/options.
//
// POST {path} (the model call), in this order:
//   1. a token given to rejectToken() gets 401 (unauthorized_401.json);
//   2. the rules (fake_backend_rules.h): body checks (`stream` true, `store` false,
//      `instructions` present unless `x-openai-internal-codex-responses-lite: true`,
//      no rejected field, no nested `prompt_cache_breakpoint`), no `role:"system"`
//      item, a model the catalog knows, and the version gate for gated models
//      (`version` header, else a `codex_*/<v>` User-Agent, at least 0.150.0).
//      A refusal is 400 `{"detail":"…"}` and RecordedRequest::rejected_by names it;
//   3. remote compaction v2 (rules.remote_compaction, fake_backend_compaction.h): without an
//      `x-fake-scenario` header, an `input` ending with `{"type":"compaction_trigger"}` is
//      answered with exactly one `compaction` output item (recorded scenario "compaction"),
//      whose encrypted_content carries the body's last `[[scenario:…]]` marker;
//   4. the scenario, chosen per request by
//      a. the request header `x-fake-scenario: <spec>`, else
//      b. the LAST `[[scenario:<spec>]]` marker in the request body (put it in the
//         last user message when headers cannot be set through the proxy), else
//      c. the default scenario (option, `--default-scenario`, POST /__fake/scenario).
// <spec> is a list of tokens joined by '+' or ',':
//   <name>                 transcript: inline (addTranscript) or <fixtures>/<name>.sse
//   fail:<code>[:<status>] a 200 stream: response.created, response.in_progress,
//                          codex.rate_limits, then response.failed with
//                          response.error {code, message, ...} (fake_backend_failures.h
//                          lists the codes with real-looking messages: server_is_overloaded,
//                          context_length_exceeded, usage_limit_reached (with resets_at,
//                          resets_in_seconds), rate_limit_exceeded, insufficient_quota,
//                          usage_not_included, cyber_policy, server_error, at_capacity,
//                          at_capacity_no_code); <status> goes into the event as "status"
//   error-event:<code>[:<status>]  the same, ending with an `error` event
//                          {"type":"error","code","message"[,"status"]}
//   fail-after-output:<code>[:<status>]  the same as fail:, after one output_text delta
//                          (a failure after the first byte)
//   first:<n>              the status/fail tokens apply to the first <n> requests that carry
//                          this exact spec; later ones get the transcript (retry tests)
//   status:<code>[:<body>] reply <code> with the body <body> (inline via addBody,
//                          else the fixture file; .json/.html pick the content type)
//   stall[:<s>]            send the head and the first event, then go silent for
//                          <s> seconds (default 60) or until the client closes;
//                          then continue with the remaining events
//   abrupt[:<n>]           close the socket (FIN, no terminating chunk) after <n>
//                          events (default 1)
//   delay:<ms>             pause between events
//   slow:<ms>              pause before the response head (slow first byte)
//   framing:chunked|length|close   body framing (default chunked)
//   dribble                write every event in 7-byte pieces, flushed 1 ms apart
//   endless-line[:<n>]     after <n> events (default 1), write "data: xxxx..." without ever
//                          ending the line (64 KiB writes, at most 1 GiB) until the client closes
//   huge-event:<bytes>     after the first event, one output_text delta event whose delta
//                          is <bytes> long; then the remaining events
//   conn-close             answer with Connection: close
//   echo                   reply 200 JSON describing the request as received
// Every event is preceded by an SSE comment `: t=<CLOCK_MONOTONIC microseconds>`
// stamped just before it is written (latency benchmarks).
//
// Every answer carries `x-request-id: <uuid>` and (rules.cookies) two Set-Cookie headers,
// `__cf_bm=<random>; path=/; expires=…; domain=.chatgpt.com; HttpOnly; Secure; SameSite=None`
// and a `_puid=…` one that is not on the Cloudflare allow-list; both recorded per request. A 200
// stream also carries `openai-model: <model>`, `x-models-etag: <catalog ETag>`,
// `x-reasoning-included: true` when `include` asks for reasoning.encrypted_content, and the
// quota headers `x-codex-primary-used-percent: 7`, `x-codex-primary-window-minutes: 300`.
// Session cache (rules.session_cache): with a `session-id` header, the first request of that id
// reports `cached_tokens` 0 in `response.completed`, every later one the whole `input_tokens`;
// without the header the transcript's usage is left as written.
//
// GET {path} with `Upgrade: websocket` (Responses over WebSocket, as the Codex CLI uses it): a
// missing or rejected bearer gets 401 before the upgrade; otherwise POCO's server WebSocket
// answers 101 (no extension accepted). Each text message `response.create` / `response.append`
// is recorded as a model call (RecordedRequest::websocket, body = the message, connection = one
// per WebSocket) and answered with its scenario's events, each event's data JSON as one text
// message: the scenario comes from the upgrade's `x-fake-scenario`, else the message's marker,
// else the default; transcripts, fail: / error-event: and delay:<ms> are served, other tokens
// (first:<n>, faults) are not applied yet. A status:<code>[:<body>] scenario from the upgrade's
// header or the default refuses the upgrade with that status and body. A `previous_response_id` that no response
// on this connection had is answered with the error message of websocketErrorEvent
// (fake_backend_websocket.h), code `previous_response_not_found`, as the backend scopes it to
// the connection; so is any other message type (`invalid_message`) but `response.processed`,
// which the CLI sends after a response and which gets no answer. The body rules are not
// applied to WebSocket messages. Ping gets pong, close is echoed, binary closes with 1003.
//
// GET {base}/models[?client_version=V] (base = path without its last segment): the model
// catalog (default tests/fixtures/catalog/models.json) as 200 JSON with an `ETag`; 304 when
// `If-None-Match` equals it; 401 without a Bearer token or with a rejected one; the status set
// by failCatalog() / POST /__fake/catalog-status; 404 when rules.catalog is off. Recorded apart
// from the model calls (catalogRequests()), so requestCount() counts model calls only.
//
// Control endpoints (not recorded): GET /__fake/requests (JSON array),
// GET /__fake/catalog-requests, GET /__fake/stats, POST /__fake/reset,
// POST /__fake/scenario (body = default spec), POST /__fake/options (a JSON object of
// BackendRules fields, see applyRulesJson; {"all":false} turns every rule off),
// POST /__fake/catalog (body = the new catalog), POST /__fake/catalog-status (body = a status
// to fail the catalog with, 0 = serve it).
//
// Every request to {path} is recorded, including whether and when the client
// closed the connection before the response was complete (checked every 10 ms
// while stalled or delayed, and on write failures).
struct FakeBackendOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;    // 0 = ephemeral
  std::string fixtures_dir;  // e.g. <repo>/tests/fixtures/responses; may be empty
  std::string path = "/backend-api/codex/responses";
  std::string default_scenario = "text";
  std::string tls_cert_file;  // both set = HTTPS (PEM files)
  std::string tls_key_file;
  int max_threads = 64;
  std::chrono::milliseconds keep_alive_timeout{10000};
  BackendRules rules;                               // the real backend's behaviour, each on by default
  std::string catalog_file = defaultCatalogFile();  // GET {base}/models; unreadable = an empty catalog
  std::string cookie_domain = ".chatgpt.com";

  // <source>/tests/fixtures/catalog/models.json of this build.
  static std::string defaultCatalogFile();
};

// A minimal body the real backend accepts (gpt-5.4 is not version-gated), for tests of the
// transport that do not care about the body.
inline constexpr const char* kAcceptedCodexBody =
    R"({"model":"gpt-5.4","instructions":"","input":[],"store":false,"stream":true})";

struct RecordedRequest {
  std::size_t index = 0;
  std::string method;
  std::string uri;   // as received (absolute-form when it came through a proxy)
  std::string path;  // path only
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string connection;                // client ip:port: one value per TCP connection
  std::string scenario;                  // the spec that was applied
  std::string rejected_by;               // the BackendRules rule that refused it ("" = none)
  std::string response_request_id;       // the x-request-id the fake answered with
  std::vector<std::string> set_cookies;  // the Set-Cookie values it answered with
  std::chrono::steady_clock::time_point received_at{};
  int events_sent = 0;
  bool websocket = false;      // a message on a WebSocket (method GET, body = the message)
  bool completed = false;      // the whole response was written
  bool client_closed = false;  // the client went away before completion
  std::optional<std::chrono::steady_clock::time_point> client_closed_at;

  std::optional<std::string> header(std::string_view name) const;
};

struct Scenario {
  enum class Framing { Chunked, Length, Close };
  std::string transcript;  // empty = none named
  std::optional<int> status;
  std::string status_body;
  std::optional<double> stall_seconds;
  std::optional<int> abrupt_after;
  std::chrono::milliseconds delay{0};
  std::chrono::milliseconds slow{0};
  Framing framing = Framing::Chunked;
  bool dribble = false;
  std::optional<int> endless_line_after;
  std::optional<std::size_t> huge_event_bytes;
  bool echo = false;
  bool connection_close = false;
  std::optional<FailureSpec> failure;  // fail: / error-event: / fail-after-output:
  std::optional<int> first;            // first:<n>
};

// Pure helpers, exposed for tests.
common::Result<Scenario, std::string> parseScenario(std::string_view spec);
std::optional<std::string> scenarioFromBody(std::string_view body);
// Splits an SSE transcript into events at blank lines (LF or CRLF); each event
// keeps its lines without the terminating blank line.
std::vector<std::string> splitSseEvents(std::string_view transcript);
std::string jsonEscape(std::string_view s);

class FakeCodexBackend {
 public:
  using Clock = std::chrono::steady_clock;

  // Binds and starts serving; throws Poco::Exception when it cannot.
  explicit FakeCodexBackend(FakeBackendOptions options = {});
  ~FakeCodexBackend();
  FakeCodexBackend(const FakeCodexBackend&) = delete;
  FakeCodexBackend& operator=(const FakeCodexBackend&) = delete;

  void stop();

  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  std::string origin() const;        // http(s)://127.0.0.1:<port>
  std::string baseUrl() const;       // origin + path without its last segment (CODEX_BASE_URL)
  std::string responsesUrl() const;  // origin + path
  const FakeBackendOptions& options() const { return options_; }

  void addTranscript(const std::string& name, std::string sse);
  void addBody(const std::string& name, std::string body);
  void setDefaultScenario(std::string spec);
  // Requests bearing this access token get 401 (an expired or revoked token), whatever the scenario.
  void rejectToken(const std::string& access_token);
  // Model calls bearing this access token get `spec` as their scenario, before any header or marker
  // (one account of several at its usage limit); an empty spec removes the override.
  void setTokenScenario(const std::string& access_token, std::string spec);
  BackendRules rules() const;
  void setRules(BackendRules rules);

  // The model catalog served at GET {base}/models.
  void setCatalog(std::string json);
  std::string catalog() const;
  std::string catalogEtag() const;
  // Answer catalog requests with this status (a JSON error body); 0 = serve the catalog.
  void failCatalog(int status);
  std::vector<RecordedRequest> catalogRequests() const;
  std::size_t catalogRequestCount() const;
  bool waitForCatalogRequests(std::size_t n, std::chrono::milliseconds timeout) const;
  std::string catalogRequestsJson() const;

  // POST {path}/compact (a canned compaction, or the backend's 400 without `input`) and
  // GET /backend-api/wham/usage (the quota of the account; BACKEND.md, Catalog and quota endpoints
  // in the project's notes), recorded apart from the model requests.
  std::vector<RecordedRequest> sideRequests() const;
  static std::string usageBody();

  std::vector<RecordedRequest> requests() const;
  std::optional<RecordedRequest> request(std::size_t index) const;
  std::size_t requestCount() const;
  std::size_t distinctConnections() const;  // among recorded requests
  int acceptedConnections() const;          // every TCP connection, control ones included
  int currentConnections() const;
  // WebSocket upgrades accepted on {path} (each one connection; its messages are requests()).
  int websocketUpgrades() const;
  bool waitForWebSocketUpgrades(int n, std::chrono::milliseconds timeout) const;
  bool waitForRequests(std::size_t n, std::chrono::milliseconds timeout) const;
  // When request `index` saw its client close (before completion), or nullopt on timeout.
  std::optional<Clock::time_point> waitForClientClose(std::size_t index, std::chrono::milliseconds timeout) const;
  // Until request `index` is completed or its client closed; false on timeout.
  bool waitForResponseDone(std::size_t index, std::chrono::milliseconds timeout) const;
  void reset();
  std::string requestsJson() const;
  std::string statsJson() const;

  // TLS mode: what the clients offered (server name indication, ALPN lists).
  std::vector<std::string> observedSni() const;
  std::vector<std::string> observedAlpn() const;

  // Implementation hooks for the request handler (public for the handler class only).
  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  void recordSni(std::string name);
  void recordAlpn(std::string offered);

 private:
  void serveScenario(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::string body);
  void serveControl(const std::string& method, const std::string& path, const std::string& body,
                    Poco::Net::HTTPServerResponse& response);
  void serveCatalog(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  void serveSide(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::string body);
  std::string usagePath() const;
  void serveWebSocket(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  bool isRejectedBearer(const std::string& authorization) const;
  std::string catalogPath() const;
  std::optional<std::string> resolveTranscript(const std::string& name) const;
  std::optional<std::string> resolveBody(const std::string& name) const;
  // Adds a model call to requests() and wakes its waiters; its index there.
  std::size_t recordCall(RecordedRequest rec);
  void markClosed(std::size_t index);
  void markCompleted(std::size_t index, int events);
  void setEvents(std::size_t index, int events);

  FakeBackendOptions options_;
  bool tls_ = false;
  std::uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, std::string> transcripts_;
  std::map<std::string, std::string> bodies_;
  std::string default_scenario_;
  std::map<std::string, std::string> token_scenarios_;  // access token -> scenario spec
  std::set<std::string> rejected_tokens_;
  BackendRules rules_;
  std::string catalog_;
  std::string catalog_etag_;
  std::set<std::string> catalog_slugs_;
  int catalog_fail_status_ = 0;
  std::vector<RecordedRequest> catalog_requests_;
  std::vector<RecordedRequest> side_requests_;
  std::set<std::string> seen_sessions_;
  std::map<std::string, int> spec_uses_;  // for first:<n>
  int websocket_upgrades_ = 0;
  std::vector<std::string> sni_;
  std::vector<std::string> alpn_;
};

}  // namespace cosp::test
