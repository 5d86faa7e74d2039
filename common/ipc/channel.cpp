#include "common/ipc/channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace cosp::common {

std::pair<UniqueFd, UniqueFd> Channel::makePair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::runtime_error("socketpair(SOCK_SEQPACKET) failed");
  }
  // Room for a burst of messages (config + credentials at spawn time) without blocking.
  int size = static_cast<int>(kMaxMessageBytes * 2);
  for (int fd : sv) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

Channel::Channel(UniqueFd fd) : fd_(std::move(fd)) {}

bool Channel::send(std::string_view message) const {
  if (!fd_ || message.size() > kMaxMessageBytes) return false;
  for (;;) {
    ssize_t n = ::send(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(message.size())) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

Channel::Status Channel::receive(std::string& out) const {
  if (!fd_) return Status::Closed;
  out.resize(kMaxMessageBytes);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), out.data(), out.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n > 0) {
      if (static_cast<size_t>(n) > kMaxMessageBytes) {  // truncated: a protocol violation
        out.clear();
        return Status::Error;
      }
      out.resize(static_cast<size_t>(n));
      return Status::Message;
    }
    if (n == 0) {  // SEQPACKET: zero means the peer closed (we never send empty messages)
      out.clear();
      return Status::Closed;
    }
    if (errno == EINTR) continue;
    out.clear();
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::WouldBlock;
    if (errno == ECONNRESET) return Status::Closed;
    return Status::Error;
  }
}

Channel::Status Channel::receive(std::string& out, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Status status = receive(out);
    if (status != Status::WouldBlock) return status;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::WouldBlock;
    pollfd pfd{fd_.get(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(left.count()));
  }
}

}  // namespace cosp::common
