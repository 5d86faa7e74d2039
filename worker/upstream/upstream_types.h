#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net/tls_context.h"

namespace cosp::worker {

// Everything the pool needs, from the configuration (README.md, Configuration: CODEX_BASE_URL, UPSTREAM_*_TIMEOUT,
// HTTPS_PROXY, NO_PROXY, --upstream-ca-file).
struct UpstreamSettings {
  std::string base_url;                              // e.g. "https://chatgpt.com/backend-api/codex" (http:// for tests)
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect + proxy CONNECT + TLS handshake
  std::chrono::milliseconds idle_timeout{300000};    // max silence between body bytes (and before the head)
  std::string https_proxy;
  std::string no_proxy;
  common::TlsOptions tls;
  std::size_t max_idle_per_host = 64;
  // A pooled connection idle for longer than this is closed instead of reused
  // (servers and middleboxes drop idle keep-alive connections silently).
  std::chrono::milliseconds max_idle_age{60000};
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive ASCII comparison of header names.
bool headerNameEquals(std::string_view a, std::string_view b);

struct UpstreamRequestSpec {
  std::string method = "POST";
  // Appended to the base URL's path: base "https://h/backend-api/codex" + "/responses".
  std::string path;
  // Caller headers. Host, Content-Length, Transfer-Encoding and Connection are
  // owned by the client and silently dropped here; a name that is not a token or
  // a value with a CR, LF, NUL or other control character fails the send (header
  // injection) with Kind::InvalidRequest.
  HeaderList headers;
  std::string body;  // sent with Content-Length (also "Content-Length: 0" for an empty POST)
  // Max wait for the response head after the request was written. 0 = idle_timeout.
  std::chrono::milliseconds head_timeout{0};
  // Polled every `poll_slice` while waiting for the response head; returning true
  // ends the send with Kind::Cancelled and closes the connection (the client went
  // away). Connecting and writing are not interruptible (bounded by connect_timeout).
  std::function<bool()> cancelled;
  std::chrono::milliseconds poll_slice{200};
  // A WebSocket upgrade (GET with Upgrade: websocket, worker/calls/ws_route.h): a 101 answer is then the
  // head send() returns, and its connection is taken out with UpstreamExchange::takeConnection().
  // Connection: Upgrade is written by the pool (a caller's Connection header is dropped).
  bool upgrade = false;
};

struct UpstreamResponseHead {
  int status = 0;
  std::string reason;
  int http_minor = 1;  // HTTP/1.<minor>
  HeaderList headers;  // in wire order, names as sent

  // First value of a header, case-insensitive name.
  std::optional<std::string> header(std::string_view name) const;
  // All values of a header (e.g. several x-codex-* lines), case-insensitive name.
  std::vector<std::string> headerValues(std::string_view name) const;
};

// Why send() produced no response head.
struct UpstreamFailure {
  enum class Kind {
    InvalidRequest,   // bad spec (header injection, bad path); never retry
    ConnectFailed,    // DNS failure, refused, unreachable, reset during connect
    ConnectTimeout,   // connect_timeout elapsed (TCP, proxy CONNECT or TLS handshake)
    ProxyFailed,      // the proxy refused CONNECT (status in `status`) or spoke garbage
    TlsFailed,        // handshake or certificate verification failed
    SendFailed,       // writing the request failed on a fresh connection
    ResetBeforeHead,  // connection closed/reset after the request, before a full head
    HeadTimeout,      // no complete head within head_timeout
    BadResponse,      // not HTTP/1.x, head too large, invalid framing headers
    Cancelled,        // spec.cancelled() said so
  };
  Kind kind = Kind::ConnectFailed;
  std::string message;        // for logs; never contains request headers or bodies
  int status = 0;             // ProxyFailed: the proxy's status code, if any
  bool request_sent = false;  // some request bytes may have reached the server

  // A connect-class error: the server cannot have processed the request.
  bool isConnectError() const {
    return kind == Kind::ConnectFailed || kind == Kind::ConnectTimeout || kind == Kind::ProxyFailed ||
           kind == Kind::TlsFailed;
  }
  bool isTimeout() const { return kind == Kind::ConnectTimeout || kind == Kind::HeadTimeout; }
};

const char* toString(UpstreamFailure::Kind kind);

enum class ReadStatus {
  Data,     // bytes were appended
  Timeout,  // the slice elapsed with no new body bytes; the idle budget is not yet spent
  End,      // the body is complete (or ended by close for close-delimited bodies)
  Error,    // see UpstreamExchange::error(); the connection is closed
};

struct ReadError {
  enum class Kind {
    None,
    IdleTimeout,    // idle_timeout elapsed without a body byte
    ClosedMidBody,  // EOF/reset before the framing said the body was complete
    Protocol,       // bad chunk encoding
    Io,             // socket or TLS error
    Aborted,        // abort() was called
  };
  Kind kind = Kind::None;
  std::string message;
};

const char* toString(ReadError::Kind kind);

struct PoolStats {
  std::uint64_t connections_opened = 0;  // successful connects (TCP + proxy + TLS)
  std::uint64_t connect_failures = 0;
  std::uint64_t reused = 0;         // exchanges served by a pooled connection
  std::uint64_t stale_retries = 0;  // transparent retries after a dead pooled connection
  std::uint64_t exchanges = 0;      // send() calls that produced a head
  std::uint64_t returned_to_pool = 0;
  std::size_t idle = 0;    // connections in the pool now
  std::size_t active = 0;  // live UpstreamExchange objects now
};

}  // namespace cosp::worker
