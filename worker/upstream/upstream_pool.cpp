#include "worker/upstream/upstream_pool.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <mutex>
#include <stdexcept>

#include "common/net/tls_context.h"
#include "common/util/http_syntax.h"
#include "worker/upstream/header_rules.h"
#include "worker/upstream/pool_core.h"
#include "worker/upstream/upstream_connection.h"

namespace cosp::worker {

using Clock = std::chrono::steady_clock;

namespace {

std::once_flag g_sigpipe_once;

void ignoreSigpipe() {
  // docs/ARCHITECTURE.md §6.10: POCO blocks SIGPIPE only in the threads it creates, and OpenSSL
  // writes to a dead peer cannot use MSG_NOSIGNAL. Ignoring it process-wide is the
  // only reliable remedy (both mains do it too; SIG_IGN survives exec).
  std::call_once(g_sigpipe_once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

bool isClientOwnedHeader(std::string_view name) {
  return headerNameEquals(name, "Host") || headerNameEquals(name, "Content-Length") ||
         headerNameEquals(name, "Transfer-Encoding") || headerNameEquals(name, "Connection") ||
         headerNameEquals(name, "Proxy-Authorization") || headerNameEquals(name, "Proxy-Connection");
}

UpstreamFailure makeFailure(UpstreamFailure::Kind kind, std::string message, bool request_sent = false) {
  UpstreamFailure f;
  f.kind = kind;
  f.message = std::move(message);
  f.request_sent = request_sent;
  return f;
}

// A body this large is written by a second send straight from the spec instead of being copied
// behind the request head.
constexpr std::size_t kSeparateBodyBytes = 64 * 1024;

// The request line, headers and (when smaller than kSeparateBodyBytes) body of `spec`, checked
// for injection. Built once: a stale-connection retry sends the same bytes again.
// `cookie`: the jar's Cookie header value ("" for none).
common::Result<std::string, UpstreamFailure> requestBytes(const common::Url& base,
                                                          const std::optional<common::ProxyEndpoint>& proxy,
                                                          const UpstreamRequestSpec& spec, std::string_view cookie) {
  if (!isHeaderToken(spec.method)) {  // RFC 9110 §9.1: a method is a token too
    return makeFailure(UpstreamFailure::Kind::InvalidRequest, "invalid request method");
  }
  const std::string path = common::joinUrlPath(base.path, spec.path);
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return makeFailure(UpstreamFailure::Kind::InvalidRequest, "invalid character in request path");
    }
  }
  const bool absolute_form = proxy.has_value() && !base.isHttps();
  std::string request;
  request.reserve(512 + (spec.body.size() < kSeparateBodyBytes ? spec.body.size() : 0));
  request += spec.method;
  request += ' ';
  // Plain http through a proxy uses the absolute form (RFC 9112 §3.2.2); through a
  // CONNECT tunnel or directly, the origin form.
  request += absolute_form ? base.origin() + path : path;
  request += " HTTP/1.1\r\nHost: ";
  request += base.authority();
  request += "\r\n";
  if (absolute_form && proxy->hasCredentials()) {
    request += "Proxy-Authorization: " + proxy->basicAuthorization() + "\r\n";
  }
  for (const auto& [name, value] : spec.headers) {
    // The last line of defence against header injection: callers check client headers first
    // (checkForwardedHeader), so a refusal here is an error value, never bytes on the wire.
    if (!isHeaderToken(name) || !isSafeHeaderValue(value)) {
      return makeFailure(UpstreamFailure::Kind::InvalidRequest, "invalid character in a request header");
    }
    if (isClientOwnedHeader(name)) continue;
    request += name;
    request += ": ";
    request += value;
    request += "\r\n";
  }
  if (!cookie.empty()) {  // checked when stored (cookie_jar.cpp): cookie-octets only
    request += "Cookie: ";
    request += cookie;
    request += "\r\n";
  }
  const bool send_length = !spec.body.empty() || headerNameEquals(spec.method, "POST") ||
                           headerNameEquals(spec.method, "PUT") || headerNameEquals(spec.method, "PATCH");
  if (send_length) request += "Content-Length: " + std::to_string(spec.body.size()) + "\r\n";
  // Connection is the client's to write (isClientOwnedHeader): an upgrade names it here.
  if (spec.upgrade) request += "Connection: Upgrade\r\n";
  request += "\r\n";
  if (spec.body.size() < kSeparateBodyBytes) request += spec.body;
  return request;
}

// Writes `request`, then `separate_body` (empty when the body is inside `request`).
std::optional<UpstreamFailure> writeRequest(UpstreamConnection& conn, const std::string& request,
                                            std::string_view separate_body, Clock::time_point deadline) {
  std::string err;
  auto io = conn.sendAll(request, deadline, &err);
  if (io == UpstreamConnection::IoStatus::Ok && !separate_body.empty())
    io = conn.sendAll(separate_body, deadline, &err);
  if (io == UpstreamConnection::IoStatus::Ok) return std::nullopt;
  return makeFailure(UpstreamFailure::Kind::SendFailed,
                     io == UpstreamConnection::IoStatus::Timeout
                         ? std::string("writing the request timed out")
                         : "writing the request failed" + (err.empty() ? std::string() : ": " + err),
                     true);
}

// The final response head (1xx interim heads are skipped), read in slices of `slice` so
// spec.cancelled is honoured while the upstream thinks.
common::Result<UpstreamResponseHead, UpstreamFailure> awaitHead(UpstreamConnection& conn,
                                                                const UpstreamRequestSpec& spec,
                                                                std::chrono::milliseconds head_timeout,
                                                                std::chrono::milliseconds slice) {
  const Clock::time_point head_deadline = Clock::now() + head_timeout;
  std::string err;
  while (true) {
    if (auto end = findHeadEnd(conn.buffered())) {
      auto parsed = parseResponseHead(conn.buffered().substr(0, *end));
      conn.consume(*end);
      if (!parsed) return makeFailure(UpstreamFailure::Kind::BadResponse, "bad response head: " + parsed.error(), true);
      if (parsed->status == 101 && spec.upgrade) return std::move(parsed.value());
      if (parsed->status == 101) {
        return makeFailure(UpstreamFailure::Kind::BadResponse, "unexpected 101 Switching Protocols", true);
      }
      if (parsed->status < 200) continue;  // 100 Continue / 103 Early Hints: skip
      return std::move(parsed.value());
    }
    if (conn.buffered().size() > kMaxResponseHeadBytes) {
      return makeFailure(UpstreamFailure::Kind::BadResponse, "response head too large", true);
    }
    if (spec.cancelled && spec.cancelled()) {
      return makeFailure(UpstreamFailure::Kind::Cancelled, "cancelled while waiting for the response head", true);
    }
    const Clock::time_point now = Clock::now();
    if (now >= head_deadline) {
      return makeFailure(UpstreamFailure::Kind::HeadTimeout,
                         "no response head within " + std::to_string(head_timeout.count()) + " ms", true);
    }
    const auto io = conn.fill(std::min(head_deadline, now + slice), &err);
    if (io == UpstreamConnection::IoStatus::Ok || io == UpstreamConnection::IoStatus::Timeout) continue;
    // EOF / RST / error before a complete head.
    return makeFailure(
        UpstreamFailure::Kind::ResetBeforeHead,
        std::string(io == UpstreamConnection::IoStatus::Eof ? "upstream closed the connection before the response head"
                                                            : "upstream connection failed before the response head") +
            (err.empty() ? std::string() : ": " + err),
        true);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// UpstreamPool

UpstreamPool::UpstreamPool(UpstreamSettings settings, Poco::Net::Context::Ptr tls)
    : settings_(std::move(settings)), tls_(std::move(tls)), core_(std::make_shared<detail::PoolCore>()) {
  ignoreSigpipe();
  auto url = common::parseUrl(settings_.base_url);
  if (!url) throw std::invalid_argument("CODEX_BASE_URL: " + url.error());
  base_ = std::move(url.value());
  auto rules = common::ProxyRules::parse(settings_.https_proxy, settings_.no_proxy);
  if (!rules) throw std::invalid_argument(rules.error());
  proxy_ = rules->proxyFor(base_);
  if (base_.isHttps() && tls_.isNull()) tls_ = common::makeClientTlsContext(settings_.tls);
  key_ = base_.scheme + "://" + base_.hostPort();
  core_->max_idle_per_host = settings_.max_idle_per_host;
  core_->max_idle_age = settings_.max_idle_age;
}

UpstreamPool::~UpstreamPool() { core_->closeAll(true); }

common::Result<std::unique_ptr<UpstreamPool>, std::string> UpstreamPool::create(UpstreamSettings settings,
                                                                                Poco::Net::Context::Ptr tls) {
  try {
    return std::make_unique<UpstreamPool>(std::move(settings), std::move(tls));
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  } catch (const Poco::Exception& e) {
    return "cannot build the upstream TLS context: " + e.displayText();
  }
}

PoolStats UpstreamPool::stats() const {
  PoolStats s;
  s.connections_opened = core_->connections_opened.load();
  s.connect_failures = core_->connect_failures.load();
  s.reused = core_->reused.load();
  s.stale_retries = core_->stale_retries.load();
  s.exchanges = core_->exchanges.load();
  s.returned_to_pool = core_->returned.load();
  s.idle = core_->idleCount();
  s.active = core_->active.load();
  return s;
}

void UpstreamPool::closeIdle() { core_->closeAll(false); }

common::Result<std::unique_ptr<UpstreamExchange>, UpstreamFailure> UpstreamPool::send(const UpstreamRequestSpec& spec) {
  // The caller never sets a Cookie (a client's is not forwarded); the jar's are this worker's.
  const auto cookie = cookies_.cookieHeader(std::chrono::system_clock::now());
  const auto request = requestBytes(base_, proxy_, spec, *cookie);
  if (!request) return request.error();
  const std::string_view separate_body =
      spec.body.size() >= kSeparateBodyBytes ? std::string_view(spec.body) : std::string_view();
  const auto head_timeout = spec.head_timeout.count() > 0 ? spec.head_timeout : settings_.idle_timeout;
  const auto slice = spec.poll_slice.count() > 0 ? spec.poll_slice : std::chrono::milliseconds(200);

  bool force_fresh = false;
  while (true) {
    // --- get a connection
    std::unique_ptr<UpstreamConnection> conn;
    bool reused = false;
    if (!force_fresh) {
      conn = core_->acquire(key_);
      reused = conn != nullptr;
    }
    if (!conn) {
      auto opened = UpstreamConnection::open(base_, proxy_, tls_, settings_.connect_timeout);
      if (!opened) {
        core_->connect_failures.fetch_add(1);
        return opened.error();
      }
      conn = std::move(opened.value());
      core_->connections_opened.fetch_add(1);
    }
    // A stale pooled connection is retried on a fresh one, once; nothing else is.
    auto staleRetry = [&]() {
      if (!reused) return false;
      conn->close();
      core_->stale_retries.fetch_add(1);
      force_fresh = true;
      return true;
    };

    // --- write the request
    const Clock::time_point send_deadline = Clock::now() + std::max(settings_.idle_timeout, settings_.connect_timeout);
    if (auto failure = writeRequest(*conn, *request, separate_body, send_deadline)) {
      if (staleRetry()) continue;
      conn->close();
      return *failure;
    }

    // --- read the head
    const std::uint64_t received_before = conn->bytesReceived();
    auto head = awaitHead(*conn, spec, head_timeout, slice);
    if (!head) {
      // Closed or reset before a single response byte: what a pooled connection looks like
      // when the server had dropped it while idle.
      if (head.error().kind == UpstreamFailure::Kind::ResetBeforeHead && conn->bytesReceived() == received_before &&
          staleRetry()) {
        continue;
      }
      conn->close();
      return head.error();
    }

    cookies_.storeFrom(head->headers, std::chrono::system_clock::now());
    auto framing = bodyFramingFor(spec.method, *head);
    if (!framing) {
      conn->close();
      return makeFailure(UpstreamFailure::Kind::BadResponse, "bad response framing: " + framing.error(), true);
    }
    // A 101 hands the connection to another protocol: never back to the pool.
    const bool reusable =
        head->status != 101 && responseAllowsReuse(*head) && framing->kind != BodyFraming::Kind::UntilClose;
    if (reused) core_->reused.fetch_add(1);
    core_->exchanges.fetch_add(1);
    return std::unique_ptr<UpstreamExchange>(new UpstreamExchange(core_, key_, std::move(conn), std::move(*head),
                                                                  *framing, reusable, reused, settings_.idle_timeout));
  }
}

}  // namespace cosp::worker
