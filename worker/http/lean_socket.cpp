#include "worker/http/lean_socket.h"

#include <poll.h>

#include <cerrno>
#include <chrono>

namespace cosp::worker {

bool LeanStreamSocketImpl::poll(const Poco::Timespan& timeout, int mode) {
  pollfd p{static_cast<int>(sockfd()), 0, 0};
  if (mode & SELECT_READ) p.events |= POLLIN;
  if (mode & SELECT_WRITE) p.events |= POLLOUT;
  // SELECT_ERROR needs no bit: poll(2) always reports POLLERR/POLLHUP.
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::microseconds(timeout.totalMicroseconds());
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    // Round up so a sub-millisecond timeout still waits instead of spinning.
    const int ms = left.count() <= 0 ? 0 : static_cast<int>(left.count()) + 1;
    const int rc = ::poll(&p, 1, ms);
    if (rc >= 0) return rc > 0;
    if (errno != EINTR) error();  // throws the matching Poco::Net exception
  }
}

Poco::Net::SocketAddress LeanStreamSocketImpl::address() {
  if (!local_) local_ = StreamSocketImpl::address();
  return *local_;
}

Poco::Net::SocketAddress LeanStreamSocketImpl::peerAddress() {
  if (!peer_) peer_ = StreamSocketImpl::peerAddress();
  return *peer_;
}

}  // namespace cosp::worker
