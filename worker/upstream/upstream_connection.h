#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/proxy_rules.h"
#include "common/net/url.h"
#include "common/util/result.h"
#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

// One TCP (optionally TLS, optionally tunnelled through an HTTP proxy) connection
// to an upstream origin, with its own receive buffer. Used by one thread at a
// time (the pool hands it to exactly one exchange); abortNow() is the only member
// that may be called from another thread.
class UpstreamConnection {
 public:
  using Clock = std::chrono::steady_clock;
  enum class IoStatus { Ok, Timeout, Eof, Reset, Error };

  // Connects to `target` (directly or via `proxy`), performs the CONNECT and the
  // TLS handshake when needed. `tls` must be set for https targets. The whole
  // thing is bounded by `connect_timeout` (DNS excepted: getaddrinfo has no
  // timeout).
  static common::Result<std::unique_ptr<UpstreamConnection>, UpstreamFailure> open(
      const common::Url& target, const std::optional<common::ProxyEndpoint>& proxy, const Poco::Net::Context::Ptr& tls,
      std::chrono::milliseconds connect_timeout);

  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Received, not yet consumed bytes.
  std::string_view buffered() const { return std::string_view(buf_).substr(rpos_); }
  void consume(std::size_t n);

  // Waits until `deadline` for new bytes and appends them to the buffer.
  // Ok = at least one byte arrived; Timeout = deadline reached with nothing, or `hangup_fd` (the
  // handler's client socket, if >= 0) reported a hang-up (POLLRDHUP/POLLHUP/POLLERR): a waiting
  // handler then needs no periodic wake-up to notice its client left.
  // Checks, in order: TLS-buffered plaintext (SSL_pending), then poll(2).
  IoStatus fill(Clock::time_point deadline, std::string* error = nullptr, int hangup_fd = -1);

  // Writes all of `data` before `deadline`.
  IoStatus sendAll(std::string_view data, Clock::time_point deadline, std::string* error = nullptr);

  // For a caller that waits on this connection beside other descriptors in one poll(2) (the
  // WebSocket relay, worker/calls/ws_relay.h): the descriptor (-1 once closed), and whether
  // OpenSSL holds decrypted bytes poll(2) cannot see (then fill() returns them at once).
  int pollFd();
  bool hasHiddenPlaintext();

  // For reuse from the pool: true when nothing is pending (no EOF, no RST, no
  // stray bytes, no TLS-buffered data). A closed keep-alive connection shows up
  // here as readable.
  bool idleAndAlive();

  // shutdown(SHUT_RDWR) on the descriptor: the peer sees FIN at once and a read
  // blocked in another thread returns. Safe from any thread while the object lives.
  void abortNow();
  // Closes now (no TLS close_notify round trip that could block).
  void close();

  bool isTls() const { return tls_; }
  bool viaProxy() const { return via_proxy_; }
  std::uint64_t bytesReceived() const { return bytes_received_; }
  std::uint64_t id() const { return id_; }

  Clock::time_point idle_since{};  // set by the pool when parked
  std::uint64_t uses = 0;          // exchanges served

 private:
  UpstreamConnection(Poco::Net::StreamSocket socket, bool tls, bool via_proxy);
  enum class Wait { Readable, Nothing, HungUp, Failed };
  Wait waitReadable(Clock::time_point deadline, int hangup_fd, std::string* error);

  Poco::Net::StreamSocket socket_;
  bool tls_ = false;
  bool via_proxy_ = false;
  std::string buf_;
  std::size_t rpos_ = 0;
  std::uint64_t bytes_received_ = 0;
  std::uint64_t id_ = 0;
  // Guards raw_fd_ so abortNow() from another thread never shuts down a
  // descriptor number that close() already released (and the kernel reused).
  std::mutex fd_mu_;
  int raw_fd_ = -1;
  bool closed_ = false;
};

}  // namespace cosp::worker
