#pragma once

#include <Poco/Net/Context.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/net/proxy_rules.h"
#include "common/net/url.h"
#include "common/util/result.h"
#include "worker/upstream/cookie_jar.h"
#include "worker/upstream/http_response_parser.h"
#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

class UpstreamConnection;
namespace detail {
struct PoolCore;
}

// One request/response on one upstream connection, owned by one handler thread.
//
// Contract:
//  - read() appends body bytes (de-chunked) and returns within about `slice`
//    (plus at most ~200 ms when a TLS record is only half-received: the bounded
//    SO_RCVTIMEO of the socket), so the caller can check its client between
//    slices. Data arriving continuously returns at once with Data. With a
//    `hangup_fd` (the client's socket), read() also returns Timeout as soon as
//    that socket reports a hang-up, so the slice can be long.
//  - The idle budget (UpstreamSettings::idle_timeout) counts from the last body
//    byte across slices; when it is spent, read() returns Error with
//    ReadError::Kind::IdleTimeout.
//  - Before blocking, read() drains, in order: this exchange's buffer, TLS
//    plaintext buffered in OpenSSL, then poll(2) on the socket.
//  - The destructor returns the connection to the pool iff the body was read to
//    its end, the server allows keep-alive and nothing failed; otherwise the
//    connection is closed.
//  - abort() closes the connection now (the peer sees FIN immediately). It may be
//    called from another thread while read() runs, but not concurrently with the
//    destructor.
class UpstreamExchange {
 public:
  ~UpstreamExchange();
  UpstreamExchange(const UpstreamExchange&) = delete;
  UpstreamExchange& operator=(const UpstreamExchange&) = delete;

  const UpstreamResponseHead& head() const { return head_; }
  const BodyFraming& framing() const { return decoder_.framing(); }
  // True when this exchange ran on a pooled (kept-alive) connection.
  bool reusedConnection() const { return reused_; }

  ReadStatus read(std::string& out_appended, std::chrono::milliseconds slice, int hangup_fd = -1);

  // Reads the rest of a (small) body: at most `cap` bytes, at most `total` time.
  // A longer body is truncated to `cap` and the connection closed; a timeout or
  // error returns what arrived so far (see error()).
  std::string readAll(std::size_t cap, std::chrono::milliseconds total);

  void abort();
  bool aborted() const { return aborted_.load(); }
  // After a 101 (UpstreamRequestSpec::upgrade): the connection, with any bytes the server sent
  // after the head still buffered, for the new protocol. The exchange is empty afterwards.
  std::unique_ptr<UpstreamConnection> takeConnection();
  bool finished() const { return decoder_.done(); }
  // Why the last read() returned Error.
  const ReadError& error() const { return error_; }

 private:
  friend class UpstreamPool;
  UpstreamExchange(std::shared_ptr<detail::PoolCore> core, std::string key, std::unique_ptr<UpstreamConnection> conn,
                   UpstreamResponseHead head, BodyFraming framing, bool reusable, bool reused,
                   std::chrono::milliseconds idle_timeout);
  ReadStatus fail(ReadError::Kind kind, std::string message);

  std::shared_ptr<detail::PoolCore> core_;
  std::string key_;
  std::unique_ptr<UpstreamConnection> conn_;
  UpstreamResponseHead head_;
  BodyDecoder decoder_;
  bool reusable_;
  bool reused_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_byte_;
  std::atomic<bool> aborted_{false};
  bool failed_ = false;
  ReadError error_;
};

// A per-worker, thread-safe HTTP/1.1 client pool for ONE upstream origin (the
// base URL's scheme/host/port), plain http or https, direct or through the
// HTTPS_PROXY (CONNECT tunnel for https, absolute-form requests for http).
//
//  - Idle keep-alive connections are kept per origin (LIFO, at most
//    max_idle_per_host, at most max_idle_age old). A pooled connection that is
//    readable while idle (EOF/RST) is discarded at checkout.
//  - If a pooled connection turns out dead while sending the request, or closes
//    before sending a single response byte, the request is retried once on a
//    fresh connection (the classic stale keep-alive race: the server closed the
//    idle connection before it read our request). Fresh connections are never
//    retried here; that is RetryPolicy's job, before the first client byte.
//  - The Cloudflare cookies the origin sets (CookieJar) are kept and sent back as one Cookie
//    header on every later request of the pool, i.e. of the worker.
//  - SIGPIPE is ignored process-wide on construction (docs/ARCHITECTURE.md §6.10: OpenSSL
//    writes cannot pass MSG_NOSIGNAL).
class UpstreamPool {
 public:
  // Throws std::invalid_argument for an invalid base_url/https_proxy/no_proxy and
  // Poco::Exception when the TLS context cannot be built (bad CA file). Use
  // create() to get those as a message instead. `tls` overrides settings.tls
  // (share one process-wide context).
  explicit UpstreamPool(UpstreamSettings settings, Poco::Net::Context::Ptr tls = {});
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  static common::Result<std::unique_ptr<UpstreamPool>, std::string> create(UpstreamSettings settings,
                                                                           Poco::Net::Context::Ptr tls = {});

  // Connects (or reuses), writes method/target/headers/body and reads the
  // response head. The head of a non-2xx response is a success here: status
  // mapping is the caller's business.
  common::Result<std::unique_ptr<UpstreamExchange>, UpstreamFailure> send(const UpstreamRequestSpec& spec);

  PoolStats stats() const;
  // Closes all idle connections (drain, tests).
  void closeIdle();

  const UpstreamSettings& settings() const { return settings_; }
  const common::Url& baseUrl() const { return base_; }
  // The proxy this pool uses for its origin, if any.
  const std::optional<common::ProxyEndpoint>& proxy() const { return proxy_; }

 private:
  UpstreamSettings settings_;
  common::Url base_;
  std::optional<common::ProxyEndpoint> proxy_;
  Poco::Net::Context::Ptr tls_;
  std::string key_;
  std::shared_ptr<detail::PoolCore> core_;
  CookieJar cookies_;
};

}  // namespace cosp::worker
