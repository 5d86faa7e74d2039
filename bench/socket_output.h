#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace cosp::bench {

// Writes out[out_off..] to a non-blocking socket until it is all sent (then `out` is emptied)
// or the socket would block; false on a send error (errno says which).
inline bool sendPending(int fd, std::string& out, std::size_t& out_off) {
  while (out_off < out.size()) {
    const ssize_t n = ::send(fd, out.data() + out_off, out.size() - out_off, MSG_NOSIGNAL);
    if (n > 0) {
      out_off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  out.clear();
  out_off = 0;
  return true;
}

// Watches the socket for writability too while `pending` (bytes wait in its output); `epollout`
// says whether it does now, `data` is what the socket's events carry.
inline void watchWritable(int ep, int fd, epoll_data_t data, bool pending, bool& epollout) {
  if (pending == epollout) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (pending ? EPOLLOUT : 0u);
  ev.data = data;
  ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
  epollout = pending;
}

}  // namespace cosp::bench
