#include "tests/support/fakes/fake_codex_backend.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/net/tls_context.h"
#include "tests/support/fakes/fake_backend_compaction.h"
#include "tests/support/fakes/fake_backend_wire.h"

namespace cosp::test {

namespace {

using Clock = std::chrono::steady_clock;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::optional<long> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  long v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }

std::int64_t monotonicMicros() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Did the client close (FIN/RST) — or, on TLS, send anything (a close_notify)?
// Waits at most `wait`.
bool clientGone(Poco::Net::StreamSocket& socket, bool tls, std::chrono::milliseconds wait) {
  const int fd = static_cast<int>(socket.impl()->sockfd());
  if (fd < 0) return true;
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  const int r = ::poll(&p, 1, static_cast<int>(wait.count()));
  if (r <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) return true;
  if (p.revents & POLLIN) {
    char c;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    if (tls) return true;               // only an alert (close_notify) can arrive mid-response
    std::this_thread::sleep_for(wait);  // pipelined bytes: not a close; don't spin
  }
  return false;
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeCodexBackend* backend) : backend_(backend) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    backend_->handle(request, response);
  }

 private:
  FakeCodexBackend* backend_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeCodexBackend* backend) : backend_(backend) {}
  // POCO 1.11: returns a raw pointer that the server owns.
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(backend_);
  }

 private:
  FakeCodexBackend* backend_;
};

int sniCallback(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  static_cast<FakeCodexBackend*>(arg)->recordSni(name ? name : "");
  return SSL_TLSEXT_ERR_OK;
}

int alpnCallback(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                 void* arg) {
  std::string offered;
  const unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  for (unsigned int i = 0; i < inlen;) {
    const unsigned char len = in[i];
    if (i + 1 + len > inlen) break;
    std::string proto(reinterpret_cast<const char*>(in + i + 1), len);
    if (!offered.empty()) offered += ',';
    offered += proto;
    if (proto == "http/1.1" && !selected) {
      selected = in + i + 1;
      selected_len = len;
    }
    i += 1u + len;
  }
  static_cast<FakeCodexBackend*>(arg)->recordAlpn(offered);
  if (!selected) return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  *outlen = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

void sendJson(Poco::Net::HTTPServerResponse& response, int status, const std::string& json) {
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.setContentLength(static_cast<std::streamsize>(json.size()));
  response.send() << json;
}

// What every answer of the backend carries besides its body: a request id and, like Cloudflare in
// front of the real one, a bot-management cookie (plus a ChatGPT cookie a client must not keep).
struct Decoration {
  std::string request_id;
  std::vector<std::string> cookies;
};

Decoration makeDecoration(bool cookies, const std::string& domain) {
  Decoration d;
  d.request_id = randomUuid();
  if (cookies) {
    const auto now = std::chrono::system_clock::now();
    const auto unix_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    d.cookies.push_back(
        cfBmCookie(randomHex(43) + "-" + std::to_string(unix_s) + "-1.0.1.1-" + randomHex(24), domain, now));
    d.cookies.push_back(puidCookie("user-" + randomHex(24), domain, now));
  }
  return d;
}

void applyDecoration(Poco::Net::HTTPServerResponse& response, const Decoration& d) {
  response.set("x-request-id", d.request_id);
  for (const auto& c : d.cookies) response.add("Set-Cookie", c);
}

// What both recorded routes (model calls, catalog) keep of a request and of the decoration it is
// answered with; the caller adds the rest.
RecordedRequest recordOf(Poco::Net::HTTPServerRequest& request, const Decoration& d) {
  RecordedRequest rec;
  rec.method = request.getMethod();
  rec.uri = request.getURI();
  rec.path = Poco::URI(request.getURI()).getPath();
  for (const auto& [k, v] : request) rec.headers.emplace_back(k, v);
  rec.connection = request.clientAddress().toString();
  rec.response_request_id = d.request_id;
  rec.set_cookies = d.cookies;
  rec.received_at = Clock::now();
  return rec;
}

std::string fakeError(const std::string& message) {
  return "{\"error\":{\"message\":\"" + jsonEscape(message) + "\",\"type\":\"fake_backend_error\"}}";
}

}  // namespace

// ---------------------------------------------------------------------------
// Pure helpers

std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

common::Result<Scenario, std::string> parseScenario(std::string_view spec) {
  Scenario sc;
  std::string_view rest = spec;
  while (!rest.empty()) {
    const auto sep = rest.find_first_of("+,");
    const std::string_view token = trim(rest.substr(0, sep));
    rest = sep == std::string_view::npos ? std::string_view{} : rest.substr(sep + 1);
    if (token.empty()) continue;
    const auto colon = token.find(':');
    const std::string_view key = token.substr(0, colon);
    const std::string_view arg = colon == std::string_view::npos ? std::string_view{} : token.substr(colon + 1);
    if (key == "status") {
      const auto c2 = arg.find(':');
      auto code = parseNumber(arg.substr(0, c2));
      if (!code || *code < 100 || *code > 599) return "scenario: bad status in '" + std::string(token) + "'";
      sc.status = static_cast<int>(*code);
      if (c2 != std::string_view::npos) sc.status_body = std::string(arg.substr(c2 + 1));
    } else if (key == "stall") {
      if (arg.empty()) {
        sc.stall_seconds = 60.0;
      } else {
        try {
          sc.stall_seconds = std::stod(std::string(arg));
        } catch (const std::exception&) {
          return "scenario: bad stall seconds in '" + std::string(token) + "'";
        }
        if (*sc.stall_seconds < 0) return "scenario: bad stall seconds in '" + std::string(token) + "'";
      }
    } else if (key == "abrupt") {
      auto n = arg.empty() ? std::optional<long>(1) : parseNumber(arg);
      if (!n) return "scenario: bad abrupt count in '" + std::string(token) + "'";
      sc.abrupt_after = static_cast<int>(*n);
    } else if (key == "delay" || key == "slow") {
      auto ms = parseNumber(arg);
      if (!ms) return "scenario: bad milliseconds in '" + std::string(token) + "'";
      (key == "delay" ? sc.delay : sc.slow) = std::chrono::milliseconds(*ms);
    } else if (key == "framing") {
      if (arg == "chunked")
        sc.framing = Scenario::Framing::Chunked;
      else if (arg == "length")
        sc.framing = Scenario::Framing::Length;
      else if (arg == "close")
        sc.framing = Scenario::Framing::Close;
      else
        return "scenario: bad framing in '" + std::string(token) + "'";
    } else if (token == "dribble") {
      sc.dribble = true;
    } else if (key == "endless-line") {
      auto n = arg.empty() ? std::optional<long>(1) : parseNumber(arg);
      if (!n || *n < 0) return "scenario: bad event count in '" + std::string(token) + "'";
      sc.endless_line_after = static_cast<int>(*n);
    } else if (key == "huge-event") {
      auto n = parseNumber(arg);
      if (!n || *n <= 0) return "scenario: bad byte count in '" + std::string(token) + "'";
      sc.huge_event_bytes = static_cast<std::size_t>(*n);
    } else if (key == "fail" || key == "error-event" || key == "fail-after-output") {
      const auto c2 = arg.find(':');
      const std::string_view code = arg.substr(0, c2);
      if (code.empty()) return "scenario: missing error code in '" + std::string(token) + "'";
      for (char c : code) {
        if (!isNameChar(c)) return "scenario: bad error code in '" + std::string(token) + "'";
      }
      FailureSpec f;
      f.kind = key == "error-event" ? FailureSpec::Kind::ErrorEvent : FailureSpec::Kind::ResponseFailed;
      f.after_output = key == "fail-after-output";
      f.code = std::string(code);
      if (c2 != std::string_view::npos) {
        auto status = parseNumber(arg.substr(c2 + 1));
        if (!status || *status < 100 || *status > 599) return "scenario: bad status in '" + std::string(token) + "'";
        f.status = static_cast<int>(*status);
      }
      sc.failure = std::move(f);
    } else if (key == "first") {
      auto n = parseNumber(arg);
      if (!n) return "scenario: bad count in '" + std::string(token) + "'";
      sc.first = static_cast<int>(*n);
    } else if (token == "echo") {
      sc.echo = true;
    } else if (token == "conn-close") {
      sc.connection_close = true;
    } else if (colon == std::string_view::npos) {
      for (char c : token) {
        if (!isNameChar(c)) return "scenario: bad transcript name '" + std::string(token) + "'";
      }
      sc.transcript = std::string(token);
    } else {
      return "scenario: unknown token '" + std::string(token) + "'";
    }
  }
  return sc;
}

std::optional<std::string> scenarioFromBody(std::string_view body) {
  static constexpr std::string_view kOpen = "[[scenario:";
  const auto start = body.rfind(kOpen);
  if (start == std::string_view::npos) return std::nullopt;
  const auto from = start + kOpen.size();
  const auto end = body.find("]]", from);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(trim(body.substr(from, end - from)));
}

std::vector<std::string> splitSseEvents(std::string_view transcript) {
  std::vector<std::string> events;
  std::string current;
  std::size_t pos = 0;
  while (pos < transcript.size()) {
    auto nl = transcript.find('\n', pos);
    std::string_view line = transcript.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? transcript.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (!current.empty()) events.push_back(std::move(current));
      current.clear();
      continue;
    }
    if (!current.empty()) current += '\n';
    current += line;
  }
  if (!current.empty()) events.push_back(std::move(current));
  return events;
}

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// FakeCodexBackend

std::string FakeBackendOptions::defaultCatalogFile() { return COSP_FAKE_DEFAULT_CATALOG; }

FakeCodexBackend::FakeCodexBackend(FakeBackendOptions options)
    : options_(std::move(options)), default_scenario_(options_.default_scenario), rules_(options_.rules) {
  setCatalog(options_.catalog_file.empty() ? std::string() : readFile(options_.catalog_file).value_or(""));
  // Writes to a vanished client must not kill the test process (docs/ARCHITECTURE.md §6.10).
  std::signal(SIGPIPE, SIG_IGN);
  tls_ = !options_.tls_cert_file.empty() && !options_.tls_key_file.empty();
  const Poco::Net::SocketAddress address(options_.host, options_.port);

  Poco::Net::ServerSocket socket;
  if (tls_) {
    common::ensureSslInitialized();
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, options_.tls_key_file, options_.tls_cert_file, "",
                               Poco::Net::Context::VERIFY_NONE, 9, false, "DEFAULT");
    SSL_CTX_set_tlsext_servername_callback(context->sslContext(), &sniCallback);
    SSL_CTX_set_tlsext_servername_arg(context->sslContext(), this);
    SSL_CTX_set_alpn_select_cb(context->sslContext(), &alpnCallback, this);
    socket = Poco::Net::SecureServerSocket(address, 64, context);
  } else {
    socket = Poco::Net::ServerSocket(address, 64);
  }
  port_ = socket.address().port();

  auto params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(options_.max_threads);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(options_.keep_alive_timeout.count() * 1000));
  params->setTimeout(Poco::Timespan(30, 0));
  // docs/ARCHITECTURE.md §6.7: a private pool, never ThreadPool::defaultPool().
  pool_ = std::make_unique<Poco::ThreadPool>(2, options_.max_threads + 2, 5);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), *pool_, socket, params);
  server_->start();
}

FakeCodexBackend::~FakeCodexBackend() { stop(); }

void FakeCodexBackend::stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (server_) server_->stopAll(true);
  if (pool_) pool_->joinAll();
}

std::string FakeCodexBackend::origin() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string FakeCodexBackend::baseUrl() const {
  const auto slash = options_.path.rfind('/');
  return origin() + (slash == std::string::npos ? std::string() : options_.path.substr(0, slash));
}

std::string FakeCodexBackend::responsesUrl() const { return origin() + options_.path; }

void FakeCodexBackend::addTranscript(const std::string& name, std::string sse) {
  std::lock_guard<std::mutex> lock(mu_);
  transcripts_[name] = std::move(sse);
}

void FakeCodexBackend::addBody(const std::string& name, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  bodies_[name] = std::move(body);
}

void FakeCodexBackend::rejectToken(const std::string& access_token) {
  std::lock_guard<std::mutex> lock(mu_);
  rejected_tokens_.insert(access_token);
}

void FakeCodexBackend::setTokenScenario(const std::string& access_token, std::string spec) {
  std::lock_guard<std::mutex> lock(mu_);
  if (spec.empty()) {
    token_scenarios_.erase(access_token);
  } else {
    token_scenarios_[access_token] = std::move(spec);
  }
}

bool FakeCodexBackend::isRejectedBearer(const std::string& authorization) const {
  std::lock_guard<std::mutex> lock(mu_);
  return authorization.rfind("Bearer ", 0) == 0 && rejected_tokens_.count(authorization.substr(7)) > 0;
}

BackendRules FakeCodexBackend::rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_;
}

void FakeCodexBackend::setRules(BackendRules rules) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_ = std::move(rules);
}

void FakeCodexBackend::setCatalog(std::string json) {
  if (json.empty()) json = "{\"models\":[]}";
  auto slugs = catalogSlugs(json);
  auto etag = etagOf(json);
  std::lock_guard<std::mutex> lock(mu_);
  catalog_ = std::move(json);
  catalog_etag_ = std::move(etag);
  catalog_slugs_ = std::move(slugs);
}

std::string FakeCodexBackend::catalog() const {
  std::lock_guard<std::mutex> lock(mu_);
  return catalog_;
}

std::string FakeCodexBackend::catalogEtag() const {
  std::lock_guard<std::mutex> lock(mu_);
  return catalog_etag_;
}

void FakeCodexBackend::failCatalog(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  catalog_fail_status_ = status;
}

std::vector<RecordedRequest> FakeCodexBackend::catalogRequests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return catalog_requests_;
}

std::size_t FakeCodexBackend::catalogRequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return catalog_requests_.size();
}

bool FakeCodexBackend::waitForCatalogRequests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return catalog_requests_.size() >= n; });
}

std::string FakeCodexBackend::catalogPath() const {
  const auto slash = options_.path.rfind('/');
  return (slash == std::string::npos ? std::string() : options_.path.substr(0, slash)) + "/models";
}

void FakeCodexBackend::setDefaultScenario(std::string spec) {
  std::lock_guard<std::mutex> lock(mu_);
  default_scenario_ = std::move(spec);
}

std::vector<RecordedRequest> FakeCodexBackend::sideRequests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return side_requests_;
}

// "/backend-api/codex/responses" -> "/backend-api/wham/usage": where the proxy's default
// CODEX_USAGE_URL points for this fake's CODEX_BASE_URL.
std::string FakeCodexBackend::usagePath() const {
  std::string base = options_.path.substr(0, options_.path.rfind('/'));
  return base.substr(0, base.rfind('/')) + "/wham/usage";
}

std::string FakeCodexBackend::usageBody() {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const std::string primary_reset = std::to_string(now.count() + 9000);
  const std::string secondary_reset = std::to_string(now.count() + 400000);
  return R"({"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,)"
         R"("primary_window":{"used_percent":7,"limit_window_seconds":18000,"reset_after_seconds":9000,"reset_at":)" +
         primary_reset +
         R"(},"secondary_window":{"used_percent":23,"limit_window_seconds":604800,"reset_after_seconds":400000,)"
         R"("reset_at":)" +
         secondary_reset + R"(}},"credits":{"has_credits":false,"unlimited":false,"balance":"0"}})";
}

void FakeCodexBackend::serveSide(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                                 std::string body) {
  RecordedRequest rec;
  rec.method = request.getMethod();
  rec.uri = request.getURI();
  rec.path = Poco::URI(request.getURI()).getPath();
  for (const auto& [k, v] : request) rec.headers.emplace_back(k, v);
  rec.body = body;
  rec.connection = request.clientAddress().toString();
  rec.received_at = Clock::now();
  const std::string authorization = request.get("Authorization", "");
  int status = 200;
  std::string answer;
  if (authorization.rfind("Bearer ", 0) != 0 || authorization.size() <= 7) {
    status = 401;
    answer = fakeError("Missing bearer authentication in header");
  } else if (isRejectedBearer(authorization)) {
    status = 401;
    answer = resolveBody("unauthorized_401.json").value_or(fakeError("token expired"));
  } else if (rec.method == "GET") {
    answer = usageBody();
  } else if (body.find("\"input\"") == std::string::npos) {
    status = 400;
    answer = R"({"error":{"message":"Missing required parameter: 'input'.","type":"invalid_request_error",)"
             R"("param":"input","code":"missing_required_parameter"}})";
  } else {
    answer = R"({"id":"resp_compact_1","object":"response.compaction","output":[{"type":"compaction",)"
             R"("encrypted_content":"gAAAAABfake-compacted-state"}],"usage":{"input_tokens":1200,"output_tokens":80}})";
  }
  rec.scenario = "side:" + std::to_string(status);
  rec.completed = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rec.index = side_requests_.size();
    side_requests_.push_back(rec);
  }
  cv_.notify_all();
  response.set("x-codex-primary-used-percent", "7");
  sendJson(response, status, answer);
}

std::vector<RecordedRequest> FakeCodexBackend::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::optional<RecordedRequest> FakeCodexBackend::request(std::size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= requests_.size()) return std::nullopt;
  return requests_[index];
}

std::size_t FakeCodexBackend::requestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

std::size_t FakeCodexBackend::distinctConnections() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> ids;
  for (const auto& r : requests_) ids.insert(r.connection);
  return ids.size();
}

int FakeCodexBackend::acceptedConnections() const { return server_ ? server_->totalConnections() : 0; }

int FakeCodexBackend::currentConnections() const { return server_ ? server_->currentConnections() : 0; }

int FakeCodexBackend::websocketUpgrades() const {
  std::lock_guard<std::mutex> lock(mu_);
  return websocket_upgrades_;
}

bool FakeCodexBackend::waitForWebSocketUpgrades(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return websocket_upgrades_ >= n; });
}

bool FakeCodexBackend::waitForRequests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

std::optional<Clock::time_point> FakeCodexBackend::waitForClientClose(std::size_t index,
                                                                      std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  const bool ok =
      cv_.wait_for(lock, timeout, [&] { return index < requests_.size() && requests_[index].client_closed; });
  if (!ok) return std::nullopt;
  return requests_[index].client_closed_at;
}

bool FakeCodexBackend::waitForResponseDone(std::size_t index, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return index < requests_.size() && (requests_[index].completed || requests_[index].client_closed);
  });
}

void FakeCodexBackend::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  catalog_requests_.clear();
  side_requests_.clear();
  seen_sessions_.clear();
  spec_uses_.clear();
  websocket_upgrades_ = 0;
  sni_.clear();
  alpn_.clear();
}

std::vector<std::string> FakeCodexBackend::observedSni() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sni_;
}

std::vector<std::string> FakeCodexBackend::observedAlpn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return alpn_;
}

void FakeCodexBackend::recordSni(std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  sni_.push_back(std::move(name));
}

void FakeCodexBackend::recordAlpn(std::string offered) {
  std::lock_guard<std::mutex> lock(mu_);
  alpn_.push_back(std::move(offered));
}

namespace {

std::string recordsJson(const std::vector<RecordedRequest>& records) {
  std::string out = "[";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const RecordedRequest& r = records[i];
    if (i) out += ',';
    out += "{\"index\":" + std::to_string(r.index) + ",\"method\":\"" + jsonEscape(r.method) + "\",\"uri\":\"" +
           jsonEscape(r.uri) + "\",\"path\":\"" + jsonEscape(r.path) + "\",\"headers\":{";
    for (std::size_t h = 0; h < r.headers.size(); ++h) {
      std::string name = r.headers[h].first;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (h) out += ',';
      out += "\"" + jsonEscape(name) + "\":\"" + jsonEscape(r.headers[h].second) + "\"";
    }
    out += "},\"body\":\"" + jsonEscape(r.body) + "\",\"connection\":\"" + jsonEscape(r.connection) +
           "\",\"scenario\":\"" + jsonEscape(r.scenario) + "\",\"rejected_by\":\"" + jsonEscape(r.rejected_by) +
           "\",\"response_request_id\":\"" + jsonEscape(r.response_request_id) + "\",\"set_cookies\":[";
    for (std::size_t c = 0; c < r.set_cookies.size(); ++c) {
      if (c) out += ',';
      out += "\"" + jsonEscape(r.set_cookies[c]) + "\"";
    }
    out += "],\"events_sent\":" + std::to_string(r.events_sent) + ",\"websocket\":" + (r.websocket ? "true" : "false") +
           ",\"completed\":" + (r.completed ? "true" : "false") +
           ",\"client_closed\":" + (r.client_closed ? "true" : "false") + ",\"client_closed_after_ms\":";
    if (r.client_closed_at) {
      out += std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(*r.client_closed_at - r.received_at).count());
    } else {
      out += "null";
    }
    out += "}";
  }
  out += "]";
  return out;
}

}  // namespace

std::string FakeCodexBackend::requestsJson() const { return recordsJson(requests()); }

std::string FakeCodexBackend::catalogRequestsJson() const { return recordsJson(catalogRequests()); }

std::string FakeCodexBackend::statsJson() const {
  std::size_t requests = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests = requests_.size();
  }
  return "{\"requests\":" + std::to_string(requests) + ",\"connections\":" + std::to_string(distinctConnections()) +
         ",\"accepted_connections\":" + std::to_string(acceptedConnections()) + "}";
}

std::optional<std::string> FakeCodexBackend::resolveTranscript(const std::string& name) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = transcripts_.find(name); it != transcripts_.end()) return it->second;
  }
  if (options_.fixtures_dir.empty()) return std::nullopt;
  return readFile(options_.fixtures_dir + "/" + name + ".sse");
}

std::optional<std::string> FakeCodexBackend::resolveBody(const std::string& name) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = bodies_.find(name); it != bodies_.end()) return it->second;
  }
  if (options_.fixtures_dir.empty() || name.find('/') != std::string::npos) return std::nullopt;
  return readFile(options_.fixtures_dir + "/" + name);
}

std::size_t FakeCodexBackend::recordCall(RecordedRequest rec) {
  std::size_t index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = requests_.size();
    rec.index = index;
    requests_.push_back(std::move(rec));
  }
  cv_.notify_all();
  return index;
}

void FakeCodexBackend::markClosed(std::size_t index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index < requests_.size() && !requests_[index].client_closed) {
      requests_[index].client_closed = true;
      requests_[index].client_closed_at = Clock::now();
    }
  }
  cv_.notify_all();
}

void FakeCodexBackend::markCompleted(std::size_t index, int events) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index < requests_.size()) {
      requests_[index].completed = true;
      requests_[index].events_sent = events;
    }
  }
  cv_.notify_all();
}

void FakeCodexBackend::setEvents(std::size_t index, int events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index < requests_.size()) requests_[index].events_sent = events;
}

void FakeCodexBackend::handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  // docs/ARCHITECTURE.md §6.5: nothing may escape a handler.
  try {
    const std::string path = Poco::URI(request.getURI()).getPath();
    if (path == options_.path && request.getMethod() == "GET" &&
        iequals(trim(request.get("Upgrade", "")), "websocket")) {
      serveWebSocket(request, response);
      return;
    }
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    if (path.rfind("/__fake/", 0) == 0) {
      serveControl(request.getMethod(), path, body, response);
    } else if (path == options_.path && request.getMethod() == "POST") {
      serveScenario(request, response, std::move(body));
    } else if ((path == options_.path + "/compact" && request.getMethod() == "POST") ||
               (path == usagePath() && request.getMethod() == "GET")) {
      serveSide(request, response, std::move(body));
    } else if (path == catalogPath() && request.getMethod() == "GET" && rules().catalog) {
      serveCatalog(request, response);
    } else {
      sendJson(response, 404, fakeError("no route for " + request.getMethod() + " " + path));
    }
  } catch (const Poco::Exception& e) {
    if (!response.sent()) sendJson(response, 500, fakeError(e.displayText()));
  } catch (const std::exception& e) {
    if (!response.sent()) sendJson(response, 500, fakeError(e.what()));
  } catch (...) {
    if (!response.sent()) sendJson(response, 500, fakeError("unknown exception"));
  }
}

void FakeCodexBackend::serveControl(const std::string& method, const std::string& path, const std::string& body,
                                    Poco::Net::HTTPServerResponse& response) {
  if (path == "/__fake/requests" && method == "GET") {
    sendJson(response, 200, requestsJson());
  } else if (path == "/__fake/stats" && method == "GET") {
    sendJson(response, 200, statsJson());
  } else if (path == "/__fake/reset" && method == "POST") {
    reset();
    sendJson(response, 200, "{\"ok\":true}");
  } else if (path == "/__fake/scenario" && method == "POST") {
    const std::string spec(trim(body));
    if (auto parsed = parseScenario(spec); !parsed) {
      sendJson(response, 400, fakeError(parsed.error()));
      return;
    }
    setDefaultScenario(spec);
    sendJson(response, 200, "{\"ok\":true}");
  } else if (path == "/__fake/catalog-requests" && method == "GET") {
    sendJson(response, 200, catalogRequestsJson());
  } else if (path == "/__fake/options" && method == "POST") {
    std::string error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      error = applyRulesJson(rules_, body);
    }
    sendJson(response, error.empty() ? 200 : 400, error.empty() ? "{\"ok\":true}" : fakeError(error));
  } else if (path == "/__fake/catalog" && method == "POST") {
    if (catalogSlugs(body).empty()) {
      sendJson(response, 400, fakeError("the catalog must be {\"models\":[{\"slug\":...},...]}"));
      return;
    }
    setCatalog(body);
    sendJson(response, 200, "{\"ok\":true,\"etag\":\"" + jsonEscape(catalogEtag()) + "\"}");
  } else if (path == "/__fake/catalog-status" && method == "POST") {
    auto status = parseNumber(trim(body));
    if (!status || (*status != 0 && (*status < 100 || *status > 599))) {
      sendJson(response, 400, fakeError("the body must be a status (100-599) or 0"));
      return;
    }
    failCatalog(static_cast<int>(*status));
    sendJson(response, 200, "{\"ok\":true}");
  } else {
    sendJson(response, 404, fakeError("unknown control endpoint"));
  }
}

void FakeCodexBackend::serveCatalog(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  const Decoration deco = makeDecoration(rules().cookies, options_.cookie_domain);
  RecordedRequest rec = recordOf(request, deco);

  const std::string authorization = request.get("Authorization", "");
  std::string catalog, etag;
  int fail_status = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    catalog = catalog_;
    etag = catalog_etag_;
    fail_status = catalog_fail_status_;
  }
  int status = 200;
  std::string body = catalog;
  if (authorization.rfind("Bearer ", 0) != 0 || authorization.size() <= 7) {
    status = 401;
    body = fakeError("Missing bearer authentication in header");
  } else if (isRejectedBearer(authorization)) {
    status = 401;
    body = resolveBody("unauthorized_401.json").value_or(fakeError("token expired"));
  } else if (fail_status != 0) {
    status = fail_status;
    body = fakeError("fake catalog failure " + std::to_string(fail_status));
  } else if (request.get("If-None-Match", "") == etag) {
    status = 304;
  }
  rec.scenario = "catalog:" + std::to_string(status);
  rec.completed = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rec.index = catalog_requests_.size();
    catalog_requests_.push_back(rec);
  }
  cv_.notify_all();

  applyDecoration(response, deco);
  if (status == 200 || status == 304) response.set("ETag", etag);
  if (status == 304) {
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
    response.setContentLength(0);
    response.send();
    return;
  }
  sendJson(response, status, body);
}

void FakeCodexBackend::serveScenario(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                                     std::string body) {
  const BackendRules rules = this->rules();
  std::string spec;
  const bool token_rejected = isRejectedBearer(request.get("Authorization", ""));
  // Remote compaction v2: the backend answers the trigger itself, whatever the conversation's
  // marker names (the marker is carried into the compaction item instead).
  const bool compaction =
      !token_rejected && !request.has("x-fake-scenario") && rules.remote_compaction && endsWithCompactionTrigger(body);
  std::optional<std::string> token_spec;
  if (const std::string authorization = request.get("Authorization", ""); authorization.rfind("Bearer ", 0) == 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = token_scenarios_.find(authorization.substr(7));
    if (it != token_scenarios_.end()) token_spec = it->second;
  }
  if (token_rejected) {
    spec = "status:401:unauthorized_401.json";  // like the real backend with an expired token
  } else if (token_spec) {
    spec = *token_spec;
  } else if (compaction) {
    spec = kCompactionScenario;
  } else if (request.has("x-fake-scenario")) {
    spec = std::string(trim(request.get("x-fake-scenario")));
  } else if (auto marked = scenarioFromBody(body)) {
    spec = *marked;
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    spec = default_scenario_;
  }

  auto optionalHeader = [&](const std::string& name) {
    return request.has(name) ? std::optional<std::string>(request.get(name)) : std::nullopt;
  };
  std::optional<Rejection> refusal;
  if (!token_rejected) {
    std::set<std::string> slugs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      slugs = catalog_slugs_;
    }
    RuleInput in;
    in.body = body;
    in.version_header = optionalHeader("version");
    in.user_agent = optionalHeader("User-Agent");
    in.responses_lite = iequals(trim(request.get("x-openai-internal-codex-responses-lite", "")), "true");
    in.catalog_slugs = &slugs;
    refusal = checkRequest(rules, in);
  }

  const Decoration deco = makeDecoration(rules.cookies, options_.cookie_domain);
  RecordedRequest rec = recordOf(request, deco);
  rec.body = body;
  rec.scenario = spec;
  rec.rejected_by = refusal ? refusal->rule : std::string();
  const std::size_t index = recordCall(std::move(rec));
  applyDecoration(response, deco);

  if (refusal) {
    sendJson(response, refusal->status, refusal->body);
    markCompleted(index, 0);
    return;
  }

  std::optional<std::string> made_transcript;  // the compaction, made for this request
  if (compaction) {
    const std::string content = compactionContent(index, scenarioFromBody(body));
    made_transcript = compactionTranscript(modelOf(body).value_or("gpt-5.5"), index, content);
  }

  auto parsed = parseScenario(spec);
  if (!parsed) {
    sendJson(response, 400, fakeError(parsed.error()));
    markCompleted(index, 0);
    return;
  }
  Scenario sc = std::move(parsed.value());
  if (sc.first) {
    int uses = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      uses = ++spec_uses_[spec];
    }
    if (uses > *sc.first) {  // the failure is over: serve the transcript
      sc.status.reset();
      sc.failure.reset();
    }
  }
  auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket();

  // Waits up to `d` while watching the client; true = the client went away.
  auto watch = [&](std::chrono::milliseconds d) {
    const auto end = Clock::now() + d;
    while (!stopping_.load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0) return false;
      if (clientGone(socket, tls_, std::min(left, std::chrono::milliseconds(10)))) return true;
    }
    return true;
  };

  if (sc.slow.count() > 0 && watch(sc.slow)) {
    markClosed(index);
    return;
  }
  if (sc.connection_close) response.setKeepAlive(false);

  if (sc.echo) {
    std::string json =
        "{\"method\":\"" + jsonEscape(rec.method) + "\",\"uri\":\"" + jsonEscape(rec.uri) + "\",\"headers\":[";
    for (std::size_t i = 0; i < rec.headers.size(); ++i) {
      if (i) json += ',';
      json += "[\"" + jsonEscape(rec.headers[i].first) + "\",\"" + jsonEscape(rec.headers[i].second) + "\"]";
    }
    json += "],\"body\":\"" + jsonEscape(body) + "\"}";
    sendJson(response, 200, json);
    markCompleted(index, 0);
    return;
  }

  if (sc.status) {
    std::string content;
    std::string type = "application/json";
    if (!sc.status_body.empty()) {
      auto resolved = resolveBody(sc.status_body);
      if (!resolved) {
        sendJson(response, 500, fakeError("unknown body '" + sc.status_body + "'"));
        markCompleted(index, 0);
        return;
      }
      content = std::move(*resolved);
      const auto& n = sc.status_body;
      if (n.size() >= 5 && n.compare(n.size() - 5, 5, ".html") == 0)
        type = "text/html; charset=UTF-8";
      else if (n.size() >= 4 && n.compare(n.size() - 4, 4, ".txt") == 0)
        type = "text/plain";
    } else {
      content = fakeError("fake status " + std::to_string(*sc.status));
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(*sc.status));
    response.setContentType(type);
    response.setContentLength(static_cast<std::streamsize>(content.size()));
    response.send() << content;
    markCompleted(index, 0);
    return;
  }

  const std::string model = modelOf(body).value_or("gpt-5.5");
  std::optional<std::string> transcript = std::move(made_transcript);
  std::string name = sc.transcript;
  if (transcript) {
    // made above
  } else if (sc.failure) {
    const auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    transcript = failureTranscript(*sc.failure, model, now_s);
  } else if (name.empty()) {
    std::string fallback;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fallback = default_scenario_;
    }
    auto def = parseScenario(fallback);
    name = def && !def->transcript.empty() ? def->transcript : "text";
  }
  if (!transcript) transcript = resolveTranscript(name);
  if (!transcript) {
    sendJson(response, 500, fakeError("unknown transcript '" + name + "'"));
    markCompleted(index, 0);
    return;
  }
  std::vector<std::string> events = splitSseEvents(*transcript);

  // The backend derives prompt-cache affinity from `session-id`: a session's first request
  // caches nothing, its later ones find the prompt cached.
  const auto session = optionalHeader("session-id");
  if (rules.session_cache && session) {
    bool repeat = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      repeat = !seen_sessions_.insert(*session).second;
    }
    for (auto& ev : events) {
      if (ev.find("\"type\":\"response.completed\"") == std::string::npos) continue;
      ev = withCachedTokens(ev, repeat ? inputTokensOf(ev).value_or(0) : 0);
    }
  }

  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/event-stream");
  response.set("Cache-Control", "no-cache");
  response.set("x-codex-primary-used-percent", "7");
  response.set("x-codex-primary-window-minutes", "300");
  response.set("openai-model", model);
  if (includesEncryptedReasoning(body)) response.set("x-reasoning-included", "true");
  if (rules.catalog && rules.models_etag_header) response.set("x-models-etag", catalogEtag());
  // The backend's sticky-routing token: the Codex CLI echoes it on the next turn of the thread.
  response.set("x-codex-turn-state", request.get("x-codex-turn-state", "turn-state-" + std::to_string(index)));
  response.set("x-fake-request-index", std::to_string(index));

  auto render = [](const std::string& ev) { return ": t=" + std::to_string(monotonicMicros()) + "\n" + ev + "\n\n"; };
  std::vector<std::string> prerendered;
  switch (sc.framing) {
    case Scenario::Framing::Chunked:
      response.setChunkedTransferEncoding(true);
      break;
    case Scenario::Framing::Length: {
      // The length must be known up front, so the stamps are taken now.
      std::size_t total = 0;
      for (const auto& ev : events) {
        prerendered.push_back(render(ev));
        total += prerendered.back().size();
      }
      response.setContentLength(static_cast<std::streamsize>(total));
      break;
    }
    case Scenario::Framing::Close:
      // Neither chunked nor a length: POCO writes a raw body and closes after it.
      response.setKeepAlive(false);
      break;
  }

  std::ostream& out = response.send();
  out.flush();
  int sent = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (sc.endless_line_after && sent == *sc.endless_line_after) {
      // A line that never ends: the client has to give up (or run out of memory).
      const std::string piece(64 * 1024, 'x');
      out << "data: ";
      for (std::size_t written = 0; written < (std::size_t{1} << 30) && out && !stopping_.load();
           written += piece.size()) {
        out << piece;
        out.flush();
      }
      if (!out) markClosed(index);  // the client gave up, as it should
      return;
    }
    if (i > 0 && sc.delay.count() > 0 && watch(sc.delay)) {
      markClosed(index);
      return;
    }
    const std::string payload = prerendered.empty() ? render(events[i]) : prerendered[i];
    if (sc.dribble) {
      for (std::size_t off = 0; off < payload.size() && out; off += 7) {
        out.write(payload.data() + off, static_cast<std::streamsize>(std::min<std::size_t>(7, payload.size() - off)));
        out.flush();
        // A short pause so the pieces reach the client as separate reads.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } else {
      out << payload;
      out.flush();
    }
    if (!out) {
      markClosed(index);
      return;
    }
    ++sent;
    setEvents(index, sent);
    if (sc.abrupt_after && sent >= *sc.abrupt_after) {
      // FIN mid-body: no terminating chunk, no full length.
      try {
        socket.shutdown();
      } catch (const Poco::Exception&) {
      }
      return;
    }
    if (sc.huge_event_bytes && sent == 1) {
      out << "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"";
      const std::string piece(64 * 1024, 'x');
      for (std::size_t left = *sc.huge_event_bytes; left > 0 && out;) {
        const std::size_t n = std::min(left, piece.size());
        out.write(piece.data(), static_cast<std::streamsize>(n));
        left -= n;
      }
      out << "\"}\n\n";
      out.flush();
      if (!out) {
        markClosed(index);
        return;
      }
    }
    if (sc.stall_seconds && sent == 1) {
      const auto stall = std::chrono::milliseconds(static_cast<long long>(*sc.stall_seconds * 1000.0));
      if (watch(stall)) {
        markClosed(index);
        return;
      }
    }
  }
  markCompleted(index, sent);
}

}  // namespace cosp::test
