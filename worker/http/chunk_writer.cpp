#include "worker/http/chunk_writer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdio>

namespace cosp::worker {

bool sendChunk(int fd, std::string_view data) {
  if (data.empty()) return true;
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
    ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;  // EPIPE/ECONNRESET: the client left; EAGAIN: SO_SNDTIMEO ran out
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
