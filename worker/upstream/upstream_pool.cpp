#include "worker/upstream/upstream_pool.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "common/net/tls_context.h"
#include "common/util/http_syntax.h"
#include "worker/upstream/header_rules.h"
#include "worker/upstream/upstream_connection.h"

namespace cosp::worker {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Small helpers shared with upstream_types.h

bool headerNameEquals(std::string_view a, std::string_view b) { return common::equalsIgnoreCase(a, b); }

std::optional<std::string> UpstreamResponseHead::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (headerNameEquals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> UpstreamResponseHead::headerValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (headerNameEquals(k, name)) out.push_back(v);
  }
  return out;
}

const char* toString(UpstreamFailure::Kind kind) {
  switch (kind) {
    case UpstreamFailure::Kind::InvalidRequest:
      return "invalid_request";
    case UpstreamFailure::Kind::ConnectFailed:
      return "connect_failed";
    case UpstreamFailure::Kind::ConnectTimeout:
      return "connect_timeout";
    case UpstreamFailure::Kind::ProxyFailed:
      return "proxy_failed";
    case UpstreamFailure::Kind::TlsFailed:
      return "tls_failed";
    case UpstreamFailure::Kind::SendFailed:
      return "send_failed";
    case UpstreamFailure::Kind::ResetBeforeHead:
      return "reset_before_head";
    case UpstreamFailure::Kind::HeadTimeout:
      return "head_timeout";
    case UpstreamFailure::Kind::BadResponse:
      return "bad_response";
    case UpstreamFailure::Kind::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

const char* toString(ReadError::Kind kind) {
  switch (kind) {
    case ReadError::Kind::None:
      return "none";
    case ReadError::Kind::IdleTimeout:
      return "idle_timeout";
    case ReadError::Kind::ClosedMidBody:
      return "closed_mid_body";
    case ReadError::Kind::Protocol:
      return "protocol";
    case ReadError::Kind::Io:
      return "io";
    case ReadError::Kind::Aborted:
      return "aborted";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------
// Pool core: shared by the pool and its live exchanges (an exchange may outlive
// the UpstreamPool object during shutdown; it then just closes its connection).

namespace detail {

struct PoolCore {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle;
  std::size_t max_idle_per_host = 64;
  std::chrono::milliseconds max_idle_age{60000};
  bool closed = false;

  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> reused{0};
  std::atomic<std::uint64_t> stale_retries{0};
  std::atomic<std::uint64_t> exchanges{0};
  std::atomic<std::uint64_t> returned{0};
  std::atomic<std::size_t> active{0};

  // A live pooled connection for `key`, or null. Dead or too-old ones are closed
  // outside the lock (a TLS close may do I/O).
  std::unique_ptr<UpstreamConnection> acquire(const std::string& key) {
    std::vector<std::unique_ptr<UpstreamConnection>> discard;
    std::unique_ptr<UpstreamConnection> found;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = idle.find(key);
      if (it != idle.end()) {
        auto& list = it->second;
        const auto now = Clock::now();
        while (!list.empty()) {
          std::unique_ptr<UpstreamConnection> c = std::move(list.back());
          list.pop_back();
          if (now - c->idle_since > max_idle_age || !c->idleAndAlive()) {
            discard.push_back(std::move(c));
            continue;
          }
          found = std::move(c);
          break;
        }
      }
    }
    discard.clear();
    return found;
  }

  void release(const std::string& key, std::unique_ptr<UpstreamConnection> conn) {
    std::unique_ptr<UpstreamConnection> discard;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& list = idle[key];
      if (closed || list.size() >= max_idle_per_host || !conn->buffered().empty()) {
        discard = std::move(conn);
      } else {
        conn->idle_since = Clock::now();
        list.push_back(std::move(conn));
        returned.fetch_add(1);
      }
    }
  }

  void closeAll(bool permanently) {
    std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> discard;
    {
      std::lock_guard<std::mutex> lock(mu);
      discard.swap(idle);
      if (permanently) closed = true;
    }
  }

  std::size_t idleCount() {
    std::lock_guard<std::mutex> lock(mu);
    std::size_t n = 0;
    for (const auto& [k, v] : idle) n += v.size();
    return n;
  }
};

}  // namespace detail

namespace {

std::once_flag g_sigpipe_once;

void ignoreSigpipe() {
  // POCO trap 10: POCO blocks SIGPIPE only in the threads it creates, and OpenSSL
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

}  // namespace

// ---------------------------------------------------------------------------
// UpstreamExchange

UpstreamExchange::UpstreamExchange(std::shared_ptr<detail::PoolCore> core, std::string key,
                                   std::unique_ptr<UpstreamConnection> conn, UpstreamResponseHead head,
                                   BodyFraming framing, bool reusable, bool reused,
                                   std::chrono::milliseconds idle_timeout)
    : core_(std::move(core)),
      key_(std::move(key)),
      conn_(std::move(conn)),
      head_(std::move(head)),
      decoder_(framing),
      reusable_(reusable),
      reused_(reused),
      idle_timeout_(idle_timeout),
      last_byte_(Clock::now()) {
  core_->active.fetch_add(1);
}

UpstreamExchange::~UpstreamExchange() {
  if (conn_) {
    if (decoder_.done() && reusable_ && !failed_ && !aborted_.load() && conn_->buffered().empty()) {
      conn_->uses += 1;
      core_->release(key_, std::move(conn_));
    } else {
      conn_->close();
      conn_.reset();
    }
  }
  core_->active.fetch_sub(1);
}

ReadStatus UpstreamExchange::fail(ReadError::Kind kind, std::string message) {
  failed_ = true;
  error_.kind = kind;
  error_.message = std::move(message);
  if (conn_) conn_->close();
  return ReadStatus::Error;
}

ReadStatus UpstreamExchange::read(std::string& out, std::chrono::milliseconds slice, int hangup_fd) {
  if (failed_) return ReadStatus::Error;
  if (aborted_.load()) return fail(ReadError::Kind::Aborted, "exchange aborted");
  if (decoder_.done()) return ReadStatus::End;

  const Clock::time_point slice_end = Clock::now() + slice;
  while (true) {
    // 1. Whatever is already buffered.
    std::string_view buffered = conn_->buffered();
    if (!buffered.empty()) {
      std::size_t consumed = 0;
      const std::size_t before = out.size();
      const DecodeStatus st = decoder_.feed(buffered, consumed, out);
      conn_->consume(consumed);
      if (st == DecodeStatus::Error) return fail(ReadError::Kind::Protocol, decoder_.error());
      if (st == DecodeStatus::Done && !conn_->buffered().empty()) {
        // Bytes after the end of the response (we never pipeline): unusable.
        reusable_ = false;
      }
      if (out.size() > before) return ReadStatus::Data;
      if (st == DecodeStatus::Done) return ReadStatus::End;
    } else if (decoder_.done()) {
      return ReadStatus::End;
    }

    // 2. Wait for more, bounded by the slice and by the idle budget.
    const Clock::time_point idle_end = last_byte_ + idle_timeout_;
    const Clock::time_point wait_until = std::min(slice_end, idle_end);
    std::string err;
    const UpstreamConnection::IoStatus io = conn_->fill(wait_until, &err, hangup_fd);
    if (aborted_.load()) return fail(ReadError::Kind::Aborted, "exchange aborted");
    switch (io) {
      case UpstreamConnection::IoStatus::Ok:
        last_byte_ = Clock::now();
        continue;
      case UpstreamConnection::IoStatus::Timeout:
        if (Clock::now() >= idle_end) {
          return fail(ReadError::Kind::IdleTimeout,
                      "no upstream bytes for " + std::to_string(idle_timeout_.count()) + " ms");
        }
        return ReadStatus::Timeout;
      case UpstreamConnection::IoStatus::Eof:
        if (decoder_.onEof() == DecodeStatus::Done) {
          reusable_ = false;  // close-delimited body: the connection is finished
          return ReadStatus::End;
        }
        return fail(ReadError::Kind::ClosedMidBody, "upstream closed the connection mid-body");
      case UpstreamConnection::IoStatus::Reset:
        return fail(ReadError::Kind::ClosedMidBody, "upstream reset the connection mid-body: " + err);
      case UpstreamConnection::IoStatus::Error:
        return fail(ReadError::Kind::Io, "upstream read failed: " + err);
    }
  }
}

std::string UpstreamExchange::readAll(std::size_t cap, std::chrono::milliseconds total) {
  std::string body;
  const Clock::time_point deadline = Clock::now() + total;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      // Unread rest: the connection cannot be reused.
      fail(ReadError::Kind::IdleTimeout, "readAll deadline reached");
      break;
    }
    const ReadStatus st = read(body, std::min(left, std::chrono::milliseconds(200)));
    if (body.size() > cap) {
      body.resize(cap);
      if (!decoder_.done()) fail(ReadError::Kind::Aborted, "body larger than the readAll cap");
      break;
    }
    if (st == ReadStatus::End || st == ReadStatus::Error) break;
  }
  return body;
}

void UpstreamExchange::abort() {
  if (aborted_.exchange(true)) return;
  if (conn_) conn_->abortNow();
}

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
  // --- build the request bytes once
  if (!isHeaderToken(spec.method)) {  // RFC 9110 §9.1: a method is a token too
    return makeFailure(UpstreamFailure::Kind::InvalidRequest, "invalid request method");
  }
  const std::string path = common::joinUrlPath(base_.path, spec.path);
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return makeFailure(UpstreamFailure::Kind::InvalidRequest, "invalid character in request path");
    }
  }
  const bool absolute_form = proxy_.has_value() && !base_.isHttps();
  std::string request;
  request.reserve(512 + (spec.body.size() < 64 * 1024 ? spec.body.size() : 0));
  request += spec.method;
  request += ' ';
  // Plain http through a proxy uses the absolute form (RFC 9112 §3.2.2); through a
  // CONNECT tunnel or directly, the origin form.
  request += absolute_form ? base_.origin() + path : path;
  request += " HTTP/1.1\r\nHost: ";
  request += base_.authority();
  request += "\r\n";
  if (absolute_form && proxy_->hasCredentials()) {
    request += "Proxy-Authorization: " + proxy_->basicAuthorization() + "\r\n";
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
  const bool send_length = !spec.body.empty() || headerNameEquals(spec.method, "POST") ||
                           headerNameEquals(spec.method, "PUT") || headerNameEquals(spec.method, "PATCH");
  if (send_length) request += "Content-Length: " + std::to_string(spec.body.size()) + "\r\n";
  request += "\r\n";
  const bool body_separate = spec.body.size() >= 64 * 1024;
  if (!body_separate) request += spec.body;

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
    std::string err;
    auto io = conn->sendAll(request, send_deadline, &err);
    if (io == UpstreamConnection::IoStatus::Ok && body_separate) io = conn->sendAll(spec.body, send_deadline, &err);
    if (io != UpstreamConnection::IoStatus::Ok) {
      if (staleRetry()) continue;
      conn->close();
      return makeFailure(UpstreamFailure::Kind::SendFailed,
                         io == UpstreamConnection::IoStatus::Timeout
                             ? std::string("writing the request timed out")
                             : "writing the request failed" + (err.empty() ? std::string() : ": " + err),
                         true);
    }

    // --- read the head, in slices so `cancelled` is honoured
    const std::uint64_t received_before = conn->bytesReceived();
    const Clock::time_point head_deadline = Clock::now() + head_timeout;
    std::optional<UpstreamResponseHead> head;
    std::optional<UpstreamFailure> failure;
    bool retry = false;
    while (!head && !failure) {
      if (auto end = findHeadEnd(conn->buffered())) {
        auto parsed = parseResponseHead(conn->buffered().substr(0, *end));
        conn->consume(*end);
        if (!parsed) {
          failure = makeFailure(UpstreamFailure::Kind::BadResponse, "bad response head: " + parsed.error(), true);
          break;
        }
        if (parsed->status == 101) {
          failure = makeFailure(UpstreamFailure::Kind::BadResponse, "unexpected 101 Switching Protocols", true);
          break;
        }
        if (parsed->status < 200) continue;  // 100 Continue / 103 Early Hints: skip
        head = std::move(parsed.value());
        break;
      }
      if (conn->buffered().size() > kMaxResponseHeadBytes) {
        failure = makeFailure(UpstreamFailure::Kind::BadResponse, "response head too large", true);
        break;
      }
      if (spec.cancelled && spec.cancelled()) {
        failure = makeFailure(UpstreamFailure::Kind::Cancelled, "cancelled while waiting for the response head", true);
        break;
      }
      const Clock::time_point now = Clock::now();
      if (now >= head_deadline) {
        failure = makeFailure(UpstreamFailure::Kind::HeadTimeout,
                              "no response head within " + std::to_string(head_timeout.count()) + " ms", true);
        break;
      }
      io = conn->fill(std::min(head_deadline, now + slice), &err);
      if (io == UpstreamConnection::IoStatus::Ok || io == UpstreamConnection::IoStatus::Timeout) continue;
      // EOF / RST / error before a complete head.
      if (conn->bytesReceived() == received_before && staleRetry()) {
        retry = true;
        break;
      }
      failure = makeFailure(UpstreamFailure::Kind::ResetBeforeHead,
                            std::string(io == UpstreamConnection::IoStatus::Eof
                                            ? "upstream closed the connection before the response head"
                                            : "upstream connection failed before the response head") +
                                (err.empty() ? std::string() : ": " + err),
                            true);
    }
    if (retry) continue;
    if (failure) {
      conn->close();
      return *failure;
    }

    auto framing = bodyFramingFor(spec.method, *head);
    if (!framing) {
      conn->close();
      return makeFailure(UpstreamFailure::Kind::BadResponse, "bad response framing: " + framing.error(), true);
    }
    const bool reusable = responseAllowsReuse(*head) && framing->kind != BodyFraming::Kind::UntilClose;
    if (reused) core_->reused.fetch_add(1);
    core_->exchanges.fetch_add(1);
    return std::unique_ptr<UpstreamExchange>(new UpstreamExchange(core_, key_, std::move(conn), std::move(*head),
                                                                  *framing, reusable, reused, settings_.idle_timeout));
  }
}

}  // namespace cosp::worker
