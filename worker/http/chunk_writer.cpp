#include "worker/http/chunk_writer.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace cosp::worker {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` can take more bytes or `deadline` passes; false on timeout. A peer that is
// gone wakes the poll too (POLLERR/POLLHUP): the next send reports it.
bool waitWritable(int fd, Clock::time_point deadline) {
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    // Rounded up, so a wait never ends a little early and spins.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd pfd{fd, POLLOUT, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 60 * 60 * 1000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let the send report the error
  }
}

}  // namespace

bool sendChunk(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  if (data.empty()) return true;
  const Clock::time_point deadline = Clock::now() + timeout;
  char head[24];
  const int head_len = std::snprintf(head, sizeof head, "%zx\r\n", data.size());
  static const char kTail[] = "\r\n";
  iovec parts[3] = {{head, static_cast<size_t>(head_len)},
                    {const_cast<char*>(data.data()), data.size()},
                    {const_cast<char*>(kTail), 2}};
  iovec* next = parts;
  int left = 3;
  while (left > 0) {
    msghdr message{};
    message.msg_iov = next;
    message.msg_iovlen = static_cast<size_t>(left);
    ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!waitWritable(fd, deadline)) return false;  // the client stopped reading
        continue;
      }
      return false;  // EPIPE/ECONNRESET: the client left
    }
    if (sent == 0) return false;  // not for a stream socket with data to send; never spin
    // Skip what went out; a part sent halfway continues where it stopped.
    auto done = static_cast<size_t>(sent);
    while (left > 0 && done >= next->iov_len) {
      done -= next->iov_len;
      ++next;
      --left;
    }
    if (left > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + done;
      next->iov_len -= done;
    }
  }
  return true;
}

}  // namespace cosp::worker
