#include "bench/event_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "bench/bench_clock.h"

namespace cosp::bench {

namespace {

constexpr std::int64_t kSweepEvery = 50'000'000;  // timeouts and stalls are checked this often

}  // namespace

EventLoop::EventLoop() {
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null = the timer
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, timer_fd_, &ev);
}

EventLoop::~EventLoop() {
  ::close(timer_fd_);
  ::close(ep_);
}

bool EventLoop::run(std::int64_t deadline_ns, const Hooks& hooks) {
  std::vector<epoll_event> events(4096);
  std::int64_t next_sweep = monoNs() + kSweepEvery;
  for (;;) {
    std::int64_t now = monoNs();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      auto fn = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      fn();
      now = monoNs();
    }
    if (now >= next_sweep) {
      hooks.sweep(now);
      next_sweep = now + kSweepEvery;
    }
    if (hooks.done()) return true;
    if (now >= deadline_ns) {
      hooks.expire();
      return false;
    }
    std::int64_t wake = std::min(next_sweep, deadline_ns);
    if (!timers_.empty()) wake = std::min(wake, timers_.begin()->first);
    armTimerFd(timer_fd_, wake, armed_);
    const int timeout_ms = static_cast<int>(std::max<std::int64_t>(0, (wake - now) / 1'000'000 + 1));
    const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        std::uint64_t expirations;
        (void)::read(timer_fd_, &expirations, sizeof expirations);
        armed_ = 0;
        continue;
      }
      hooks.dispatch(events[i].data.ptr, events[i].events);
    }
  }
}

bool EventLoop::connectLoopback(int fd, std::uint16_t port, void* conn) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int connect_errno = errno;
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = conn;
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  errno = connect_errno;
  return rc == 0 || errno == EINPROGRESS;
}

}  // namespace cosp::bench
