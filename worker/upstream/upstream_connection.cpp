#include "worker/upstream/upstream_connection.h"

#include <Poco/Exception.h>
#include <Poco/Net/DNS.h>
#include <Poco/Net/HostEntry.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/util/strings.h"
#include "worker/upstream/http_response_parser.h"

namespace cosp::worker {

namespace {

using Clock = UpstreamConnection::Clock;

// Upper bound for one blocking receive after poll() said "readable". A plain
// socket never blocks there; a TLS socket can, when only part of a record has
// arrived (SSL_read waits for the rest). SO_RCVTIMEO turns that wait into a
// Poco::TimeoutException, and OpenSSL keeps the partial record buffered in the
// SSL object (WANT_READ is retryable), so no state is lost — unlike POCO's
// HTTPChunkedStreamBuf, which loses its chunk-header state on a timeout.
constexpr std::chrono::milliseconds kBlockedReadBound{100};
// One read takes at most 8 KiB (4 KiB cost about 10 % more CPU per request: more reads; issue
// 11). It goes straight into buf_, not through a buffer on fill()'s frame: a held stream's thread
// waits inside fill(), so such a buffer was the deepest part of every held stream's stack (8 of
// its 13 KiB, gdb on a worker holding 200 streams), and a thread keeps every stack page it ever
// wrote. buf_'s room goes back to the allocator, shared by all threads, once the read is consumed
// (consume()), so between two events of a held stream neither holds those 8 KiB (issue 17).
constexpr std::size_t kReadChunk = 8 * 1024;

// Keeps `s` at `size` when the scope ends: the room a read was given, less what it filled, also
// when the read throws.
class TruncateOnExit {
 public:
  TruncateOnExit(std::string& s, std::size_t size) : s_(s), size_(size) {}
  ~TruncateOnExit() { s_.resize(size_); }
  TruncateOnExit(const TruncateOnExit&) = delete;
  TruncateOnExit& operator=(const TruncateOnExit&) = delete;
  void keep(std::size_t size) { size_ = size; }

 private:
  std::string& s_;
  std::size_t size_;
};

std::atomic<std::uint64_t> g_next_id{1};

Poco::Timespan toTimespan(std::chrono::microseconds d) { return Poco::Timespan(std::max<std::int64_t>(d.count(), 0)); }

std::chrono::microseconds remaining(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
}

UpstreamFailure failure(UpstreamFailure::Kind kind, std::string message, int status = 0) {
  UpstreamFailure f;
  f.kind = kind;
  f.message = std::move(message);
  f.status = status;
  return f;
}

void setCloexec(int fd) {
  // docs/ARCHITECTURE.md §6.12: POCO creates sockets without SOCK_CLOEXEC. Mark it right after
  // creation so an exec'd child never inherits upstream connections.
  if (fd >= 0) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

// Resolves and connects, trying every address until one answers or the deadline.
common::Result<Poco::Net::StreamSocket, UpstreamFailure> connectTcp(const std::string& host, std::uint16_t port,
                                                                    Clock::time_point deadline,
                                                                    const std::string& what) {
  std::vector<Poco::Net::IPAddress> addresses;
  Poco::Net::IPAddress literal;
  if (Poco::Net::IPAddress::tryParse(host, literal)) {
    addresses.push_back(literal);
  } else {
    try {
      // No AI_ADDRCONFIG (POCO's default hint): on hosts with only loopback
      // configured it makes "localhost" unresolvable. Unusable address families
      // simply fail fast below and the next address is tried.
      const Poco::Net::HostEntry entry = Poco::Net::DNS::hostByName(host, 0);
      addresses = entry.addresses();
    } catch (const Poco::Exception& e) {
      return failure(UpstreamFailure::Kind::ConnectFailed, "cannot resolve " + what + " host: " + e.displayText());
    }
  }
  if (addresses.empty()) {
    return failure(UpstreamFailure::Kind::ConnectFailed, "no address for " + what + " host");
  }

  std::string last_error = "no address tried";
  for (const auto& address : addresses) {
    const auto left = remaining(deadline);
    if (left.count() <= 0) {
      return failure(UpstreamFailure::Kind::ConnectTimeout, "connect to " + what + " timed out");
    }
    try {
      Poco::Net::StreamSocket socket;
      socket.connect(Poco::Net::SocketAddress(address, port), toTimespan(left));
      setCloexec(static_cast<int>(socket.impl()->sockfd()));
      return socket;
    } catch (const Poco::TimeoutException&) {
      return failure(UpstreamFailure::Kind::ConnectTimeout, "connect to " + what + " timed out");
    } catch (const Poco::Exception& e) {
      last_error = e.displayText();
    }
  }
  return failure(UpstreamFailure::Kind::ConnectFailed, "cannot connect to " + what + ": " + last_error);
}

// Bounded blocking I/O everywhere; the real waits are poll()s with deadlines.
std::optional<UpstreamFailure> boundBlockingIo(Poco::Net::StreamSocket& socket) {
  try {
    socket.setNoDelay(true);
    socket.setSendTimeout(toTimespan(std::chrono::duration_cast<std::chrono::microseconds>(kBlockedReadBound)));
    socket.setReceiveTimeout(toTimespan(std::chrono::duration_cast<std::chrono::microseconds>(kBlockedReadBound)));
  } catch (const Poco::Exception& e) {
    return failure(UpstreamFailure::Kind::ConnectFailed, "socket setup failed: " + e.displayText());
  }
  return std::nullopt;
}

// HTTPS through an HTTP proxy: open a tunnel with CONNECT on `conn` (connected to the proxy); TLS
// then runs over it with the ORIGIN's host name (SNI and certificate check), not the proxy's.
std::optional<UpstreamFailure> openTunnel(UpstreamConnection& conn, const common::Url& target,
                                          const common::ProxyEndpoint& proxy, Clock::time_point deadline) {
  using IoStatus = UpstreamConnection::IoStatus;
  std::string request = "CONNECT " + target.hostPort() + " HTTP/1.1\r\nHost: " + target.hostPort() + "\r\n";
  if (proxy.hasCredentials()) request += "Proxy-Authorization: " + proxy.basicAuthorization() + "\r\n";
  request += "\r\n";
  std::string err;
  const IoStatus sent = conn.sendAll(request, deadline, &err);
  if (sent == IoStatus::Timeout) return failure(UpstreamFailure::Kind::ConnectTimeout, "proxy CONNECT timed out");
  if (sent != IoStatus::Ok) return failure(UpstreamFailure::Kind::ProxyFailed, "proxy CONNECT write failed: " + err);
  std::optional<std::size_t> head_end;
  while (!(head_end = findHeadEnd(conn.buffered()))) {
    if (conn.buffered().size() > kMaxResponseHeadBytes) {
      return failure(UpstreamFailure::Kind::ProxyFailed, "proxy CONNECT response head too large");
    }
    const IoStatus st = conn.fill(deadline, &err);
    if (st == IoStatus::Timeout) return failure(UpstreamFailure::Kind::ConnectTimeout, "proxy CONNECT timed out");
    if (st != IoStatus::Ok) {
      return failure(UpstreamFailure::Kind::ProxyFailed,
                     "proxy closed the connection during CONNECT" + (err.empty() ? std::string() : ": " + err));
    }
  }
  auto head = parseResponseHead(conn.buffered().substr(0, *head_end));
  if (!head) return failure(UpstreamFailure::Kind::ProxyFailed, "bad proxy CONNECT response: " + head.error());
  if (head->status < 200 || head->status > 299) {
    return failure(UpstreamFailure::Kind::ProxyFailed,
                   "proxy refused CONNECT with status " + std::to_string(head->status), head->status);
  }
  conn.consume(*head_end);
  if (!conn.buffered().empty()) {
    // The origin speaks only after our ClientHello; bytes here mean a confused proxy.
    return failure(UpstreamFailure::Kind::ProxyFailed, "unexpected bytes after the proxy CONNECT response");
  }
  return std::nullopt;
}

// The TLS client handshake on `socket` (to the origin, or a tunnel through the proxy).
common::Result<Poco::Net::SecureStreamSocket, UpstreamFailure> handshakeTls(Poco::Net::StreamSocket& socket,
                                                                            const common::Url& target, bool via_proxy,
                                                                            const Poco::Net::Context::Ptr& tls,
                                                                            Clock::time_point deadline) {
  try {
    // The handshake in attach() is a blocking SSL_connect governed by the
    // socket timeouts: give it what is left of the connect budget.
    const auto left = remaining(deadline);
    if (left.count() <= 0) return failure(UpstreamFailure::Kind::ConnectTimeout, "TLS handshake timed out");
    socket.setReceiveTimeout(toTimespan(left));
    socket.setSendTimeout(toTimespan(left));
    // attach(sock, peerHostName, ctx): POCO 1.11 sets the peer host name before
    // connectSSL(), which sends it as SNI (SSL_set_tlsext_host_name) and then
    // verifies the certificate against it. RFC 6066 forbids an IP literal in
    // SNI, and POCO offers no way to verify one name while sending none, so a
    // DIRECT connection to an IP literal attaches without a name: POCO then
    // verifies against the peer address, which is that same IP. Through a
    // tunnel the peer is the proxy, so the name must be given explicitly.
    Poco::Net::IPAddress ip;
    const bool ip_literal = Poco::Net::IPAddress::tryParse(target.host, ip);
    Poco::Net::SecureStreamSocket secure = (ip_literal && !via_proxy)
                                               ? Poco::Net::SecureStreamSocket::attach(socket, tls)
                                               : Poco::Net::SecureStreamSocket::attach(socket, target.host, tls);
    secure.setReceiveTimeout(toTimespan(std::chrono::duration_cast<std::chrono::microseconds>(kBlockedReadBound)));
    secure.setSendTimeout(toTimespan(std::chrono::duration_cast<std::chrono::microseconds>(kBlockedReadBound)));
    return secure;
  } catch (const Poco::TimeoutException&) {
    return failure(UpstreamFailure::Kind::ConnectTimeout, "TLS handshake timed out");
  } catch (const Poco::Net::SSLException& e) {
    return failure(UpstreamFailure::Kind::TlsFailed, "TLS handshake failed: " + e.displayText());
  } catch (const Poco::Exception& e) {
    return failure(UpstreamFailure::Kind::TlsFailed, "TLS handshake failed: " + e.displayText());
  }
}

}  // namespace

UpstreamConnection::UpstreamConnection(Poco::Net::StreamSocket socket, bool tls, bool via_proxy)
    : socket_(std::move(socket)), tls_(tls), via_proxy_(via_proxy), id_(g_next_id.fetch_add(1)) {
  raw_fd_ = static_cast<int>(socket_.impl()->sockfd());
}

UpstreamConnection::~UpstreamConnection() { close(); }

common::Result<std::unique_ptr<UpstreamConnection>, UpstreamFailure> UpstreamConnection::open(
    const common::Url& target, const std::optional<common::ProxyEndpoint>& proxy, const Poco::Net::Context::Ptr& tls,
    std::chrono::milliseconds connect_timeout) {
  const Clock::time_point deadline = Clock::now() + connect_timeout;
  const bool https = target.isHttps();
  if (https && tls.isNull()) {
    return failure(UpstreamFailure::Kind::TlsFailed, "no TLS context for an https target");
  }

  auto tcp = proxy ? connectTcp(proxy->host, proxy->port, deadline, "proxy")
                   : connectTcp(target.host, target.port, deadline, "upstream");
  if (!tcp) return tcp.error();
  Poco::Net::StreamSocket socket = std::move(tcp.value());

  std::unique_ptr<UpstreamConnection> conn(new UpstreamConnection(socket, false, proxy.has_value()));
  if (auto e = boundBlockingIo(socket)) return *e;
  if (proxy && https) {
    if (auto e = openTunnel(*conn, target, *proxy, deadline)) return *e;
  }
  if (https) {
    auto secure = handshakeTls(socket, target, proxy.has_value(), tls, deadline);
    if (!secure) return secure.error();
    conn->socket_ = secure.value();
    conn->tls_ = true;
  }
  return conn;
}

void UpstreamConnection::consume(std::size_t n) {
  rpos_ += std::min(n, buf_.size() - rpos_);
  if (rpos_ == buf_.size()) {
    common::clearAndTrim(buf_);  // a held stream's connection keeps no burst-sized buffer
    rpos_ = 0;
  } else if (rpos_ > 64 * 1024 && rpos_ * 2 > buf_.size()) {
    buf_.erase(0, rpos_);
    rpos_ = 0;
  }
}

UpstreamConnection::Wait UpstreamConnection::waitReadable(Clock::time_point deadline, int hangup_fd,
                                                          std::string* error) {
  // poll(2) on the descriptor, not Socket::poll(): POCO 1.11 builds a fresh epoll instance for
  // every call (epoll_create + epoll_ctl + epoll_wait + close), and a stream waits here per event.
  pollfd fds[2] = {{raw_fd_, POLLIN, 0}, {hangup_fd, POLLRDHUP, 0}};
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(remaining(deadline));
  const int ms = static_cast<int>(left.count()) + 1;  // rounded up: never spin on the last sub-ms
  const int rc = ::poll(fds, hangup_fd >= 0 ? 2 : 1, ms);
  if (rc < 0) {
    if (errno == EINTR) return Wait::Nothing;
    if (error) *error = std::string("poll: ") + std::strerror(errno);
    return Wait::Failed;
  }
  if (rc == 0) return Wait::Nothing;
  if (fds[0].revents != 0) return Wait::Readable;  // data, EOF or an error: recv() tells which
  return Wait::HungUp;
}

UpstreamConnection::IoStatus UpstreamConnection::fill(Clock::time_point deadline, std::string* error, int hangup_fd) {
  if (closed_) {
    if (error) *error = "connection closed";
    return IoStatus::Error;
  }
  while (true) {
    try {
      // TLS first: plaintext already decrypted inside the SSL object is invisible
      // to poll(2) (SecureStreamSocketImpl::available() is SSL_pending()). A plain
      // socket has no such hidden buffer, so poll(2) alone is exact there.
      if (!tls_ || socket_.available() <= 0) {
        const auto left = remaining(deadline);
        if (left.count() <= 0) return IoStatus::Timeout;
        const Wait wait = waitReadable(deadline, hangup_fd, error);
        if (wait == Wait::Failed) return IoStatus::Error;
        if (wait == Wait::HungUp) return IoStatus::Timeout;  // the watched client left: the caller looks
        if (wait == Wait::Nothing) continue;                 // deadline (checked above) or EINTR
      }
      const std::size_t held = buf_.size();
      TruncateOnExit truncate(buf_, held);
      buf_.resize(held + kReadChunk);
      const int n = socket_.receiveBytes(buf_.data() + held, static_cast<int>(kReadChunk));
      if (n > 0) {
        truncate.keep(held + static_cast<std::size_t>(n));
        bytes_received_ += static_cast<std::uint64_t>(n);
        return IoStatus::Ok;
      }
      if (n == 0) return IoStatus::Eof;
      // Negative = SSL WANT_READ/WANT_WRITE (a non-application record was
      // processed); go round again until the deadline.
      if (remaining(deadline).count() <= 0) return IoStatus::Timeout;
    } catch (const Poco::TimeoutException&) {
      // Partial TLS record (see kBlockedReadBound); keep waiting until the deadline.
      if (remaining(deadline).count() <= 0) return IoStatus::Timeout;
    } catch (const Poco::Net::ConnectionResetException& e) {
      if (error) *error = e.displayText();
      return IoStatus::Reset;
    } catch (const Poco::Net::SSLConnectionUnexpectedlyClosedException& e) {
      // A TLS peer that closes without close_notify: the same as EOF for us.
      if (error) *error = e.displayText();
      return IoStatus::Eof;
    } catch (const Poco::Exception& e) {
      if (error) *error = e.displayText();
      return IoStatus::Error;
    }
  }
}

UpstreamConnection::IoStatus UpstreamConnection::sendAll(std::string_view data, Clock::time_point deadline,
                                                         std::string* error) {
  if (closed_) {
    if (error) *error = "connection closed";
    return IoStatus::Error;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    const int len = static_cast<int>(std::min<std::size_t>(data.size() - off, 1 << 20));
    try {
      // docs/ARCHITECTURE.md §6.10: MSG_NOSIGNAL for plain sockets; OpenSSL's writes cannot take
      // flags, which is why the pool also ignores SIGPIPE process-wide.
      const int n = socket_.sendBytes(data.data() + off, len, tls_ ? 0 : MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) {
        if (error) *error = "connection closed while writing";
        return IoStatus::Error;
      }
      // SSL WANT_WRITE: wait for room, then retry with the SAME buffer and length
      // (OpenSSL requires identical arguments for a retried SSL_write).
      const auto left = remaining(deadline);
      if (left.count() <= 0) return IoStatus::Timeout;
      socket_.poll(toTimespan(left), Poco::Net::Socket::SELECT_WRITE | Poco::Net::Socket::SELECT_ERROR);
    } catch (const Poco::TimeoutException&) {
      if (remaining(deadline).count() <= 0) return IoStatus::Timeout;
    } catch (const Poco::Net::ConnectionResetException& e) {
      if (error) *error = e.displayText();
      return IoStatus::Reset;
    } catch (const Poco::Exception& e) {
      if (error) *error = e.displayText();
      return IoStatus::Error;
    }
  }
  return IoStatus::Ok;
}

bool UpstreamConnection::idleAndAlive() {
  if (closed_ || rpos_ != buf_.size()) return false;
  try {
    // TLS plaintext buffered in OpenSSL is invisible to poll(2); a plain socket has no such
    // buffer, so it needs no FIONREAD (one syscall per checkout saved).
    if (tls_ && socket_.available() > 0) return false;
    // Readable while idle = EOF (server closed the keep-alive connection), RST,
    // a TLS alert, or stray bytes: none of them is reusable. poll(2): see waitReadable().
    pollfd idle{raw_fd_, POLLIN, 0};
    return ::poll(&idle, 1, 0) == 0;
  } catch (const Poco::Exception&) {
    return false;
  }
}

int UpstreamConnection::pollFd() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  return raw_fd_;
}

bool UpstreamConnection::hasHiddenPlaintext() {
  if (!tls_ || closed_) return false;
  try {
    return socket_.available() > 0;  // SSL_pending() for a SecureStreamSocket (see fill())
  } catch (const Poco::Exception&) {
    return false;
  }
}

void UpstreamConnection::abortNow() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (raw_fd_ >= 0) ::shutdown(raw_fd_, SHUT_RDWR);
}

void UpstreamConnection::close() {
  if (closed_) return;
  closed_ = true;
  // shutdown(2) first: the peer sees FIN now, and the TLS close below cannot block
  // on a full send buffer (its close_notify write just fails).
  {
    std::lock_guard<std::mutex> lock(fd_mu_);
    if (raw_fd_ >= 0) ::shutdown(raw_fd_, SHUT_RDWR);
    raw_fd_ = -1;
  }
  try {
    socket_.close();
  } catch (const Poco::Exception&) {
    // Nothing useful to do: the descriptor is released either way.
  }
}

}  // namespace cosp::worker
