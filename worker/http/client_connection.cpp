#include "worker/http/client_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

#include "common/util/strings.h"

namespace cosp::worker {

namespace {

int millisUntil(ClientConnection::Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ClientConnection::Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left + 1, 1 << 30));  // rounded up: never spin on a sub-ms wait
}

}  // namespace

ClientConnection::ClientConnection(int fd, std::string peer_address)
    : opened(Clock::now()), fd_(fd), peer_(std::move(peer_address)) {}

void ClientConnection::consume(std::size_t n) {
  buffer_.erase(0, n);
  scanned = 0;
  if (buffer_.empty()) common::clearAndTrim(buffer_, 4096);  // a large body's capacity goes with it
}

ClientConnection::ReadResult ClientConnection::readOnce(std::size_t max_bytes) {
  // Through a stack buffer: growing buffer_ by max_bytes first would leave that capacity with
  // every connection, thousands of them idle in the accept loop.
  char chunk[16384];
  std::size_t got = 0;
  const ReadResult r = receive(chunk, std::min(max_bytes, sizeof chunk), got);
  buffer_.append(chunk, got);
  return r;
}

ClientConnection::ReadResult ClientConnection::receive(char* dst, std::size_t capacity, std::size_t& got) {
  got = 0;
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), dst, capacity, MSG_DONTWAIT);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      return ReadResult::Data;
    }
    if (n == 0) {
      peer_closed_ = true;
      return ReadResult::Eof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadResult::WouldBlock;
    return ReadResult::Error;
  }
}

ClientConnection::ReadResult ClientConnection::readUntil(Clock::time_point deadline, std::size_t max_bytes) {
  const std::size_t held = buffer_.size();
  buffer_.resize(held + max_bytes);
  std::size_t got = 0;
  const ReadResult r = readUntil(deadline, buffer_.data() + held, max_bytes, got);
  buffer_.resize(held + got);
  return r;
}

ClientConnection::ReadResult ClientConnection::readUntil(Clock::time_point deadline, char* dst, std::size_t capacity,
                                                         std::size_t& got) {
  for (;;) {
    const ReadResult r = receive(dst, capacity, got);
    if (r != ReadResult::WouldBlock) return r;
    pollfd p{fd_.get(), POLLIN, 0};
    const int rc = ::poll(&p, 1, millisUntil(deadline));
    if (rc == 0) return ReadResult::WouldBlock;
    if (rc < 0 && errno != EINTR) return ReadResult::Error;
  }
}

bool ClientConnection::writeAll(std::string_view data, Clock::time_point deadline) {
  return writeAll(data, std::string_view(), deadline);
}

bool ClientConnection::writeAll(std::string_view first, std::string_view second, Clock::time_point deadline) {
  while (!first.empty() || !second.empty()) {
    iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                      {const_cast<char*>(second.data()), second.size()}};
    msghdr message{};
    message.msg_iov = first.empty() ? parts + 1 : parts;
    message.msg_iovlen = first.empty() || second.empty() ? 1 : 2;
    ssize_t n = ::sendmsg(fd_.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      auto sent = static_cast<std::size_t>(n);
      const std::size_t from_first = std::min(sent, first.size());
      first.remove_prefix(from_first);
      second.remove_prefix(sent - from_first);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p{fd_.get(), POLLOUT, 0};
    int wait = millisUntil(deadline);
    if (wait == 0) return false;
    int rc = ::poll(&p, 1, wait);
    if (rc == 0) return false;
    if (rc < 0 && errno != EINTR) return false;
    if (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) && !(p.revents & POLLOUT)) return false;
  }
  return true;
}

void ClientConnection::shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

std::size_t findHeadEnd(std::string_view buffer, std::size_t from) {
  std::size_t start = from > 3 ? from - 3 : 0;
  std::size_t pos = buffer.find("\r\n\r\n", start);
  return pos == std::string_view::npos ? std::string_view::npos : pos + 4;
}

}  // namespace cosp::worker
