#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "bench/bench_clock.h"

namespace cosp::bench {

// The single-threaded epoll loop the load tool's engines (load_engine.h, ws_engine.h) run on:
// the epoll set their sockets join (epoll_event.data.ptr: the engine's connection, never null),
// timers at absolute CLOCK_MONOTONIC times, and a sweep every 50 ms for timeouts and stalls.
// Wake-ups go through a timerfd: sub-millisecond precision, epoll_wait's own timeout being only
// a fallback.
class EventLoop {
 public:
  // What run() calls back: `sweep(now)` every 50 ms, `done()` (true: every connection finished)
  // once per turn of the loop, `expire()` when the deadline passed first, `dispatch(ptr, events)`
  // for each readiness of a socket.
  struct Hooks {
    std::function<void(std::int64_t)> sweep;
    std::function<bool()> done;
    std::function<void()> expire;
    std::function<void(void*, std::uint32_t)> dispatch;
  };

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  int epollFd() const { return ep_; }
  // fn runs inside the loop at `when_ns` (absolute CLOCK_MONOTONIC).
  void at(std::int64_t when_ns, std::function<void()> fn) { timers_.emplace(when_ns, std::move(fn)); }
  // Runs until hooks.done() (true) or `deadline_ns` passes (hooks.expire(), then false). Due
  // timers run first (connection starts, hooks of the caller).
  bool run(std::int64_t deadline_ns, const Hooks& hooks);
  // Connects the non-blocking socket `fd` to 127.0.0.1:`port` without Nagle (every event is a small
  // write that must leave at once; the fake and the proxy do the same) and adds it to the epoll set
  // for reading and writing, its events carrying `conn`. False when the connect failed at once
  // (errno says why); true when it is connected or in progress.
  bool connectLoopback(int fd, std::uint16_t port, void* conn);

 private:
  int ep_ = -1;
  int timer_fd_ = -1;
  std::int64_t armed_ = 0;
  std::multimap<std::int64_t, std::function<void()>> timers_;
};

// Adds a group of `Conn`s (group, index) with `spec` to `groups` and starts its connections
// (`start_conn`) through `loop`, connection i at start + i * ramp / connections; the group's id.
template <class Conn, class Group, class Spec, class StartConn>
int addConnGroup(std::vector<std::unique_ptr<Group>>& groups, Spec spec, EventLoop& loop, StartConn start_conn) {
  auto g = std::make_unique<Group>();
  g->spec = std::move(spec);
  const int id = static_cast<int>(groups.size());
  const std::int64_t start = g->spec.start_ns != 0 ? g->spec.start_ns : monoNs();
  for (int i = 0; i < g->spec.connections; ++i) {
    auto c = std::make_unique<Conn>();
    c->group = id;
    c->index = i;
    g->conns.push_back(std::move(c));
  }
  Group* gp = g.get();
  groups.push_back(std::move(g));
  for (int i = 0; i < gp->spec.connections; ++i) {
    const std::int64_t when = start + (gp->spec.connections > 1 ? gp->spec.ramp_ns * i / gp->spec.connections : 0);
    Conn* c = gp->conns[static_cast<std::size_t>(i)].get();
    loop.at(when, [start_conn, c] { start_conn(*c); });
  }
  return id;
}

// True when every connection of every group has retired.
template <class Group>
bool allRetired(const std::vector<std::unique_ptr<Group>>& groups) {
  for (const auto& g : groups) {
    if (g->retired < g->spec.connections) return false;
  }
  return true;
}

// Runs `loop` for an engine of `groups` whose sockets' events carry their `Conn*`: `sweep(now)`
// every 50 ms, `expire()` at the deadline, `on_event(conn, events)` for a connection still open;
// true when every connection retired before the deadline.
template <class Conn, class Group, class Sweep, class Expire, class OnEvent>
bool runEngine(EventLoop& loop, std::int64_t deadline_ns, const std::vector<std::unique_ptr<Group>>& groups,
               Sweep sweep, Expire expire, OnEvent on_event) {
  EventLoop::Hooks hooks;
  hooks.sweep = std::move(sweep);
  hooks.done = [&groups] { return allRetired(groups); };
  hooks.expire = std::move(expire);
  hooks.dispatch = [on_event](void* ptr, std::uint32_t events) {
    Conn& c = *static_cast<Conn*>(ptr);
    if (c.fd >= 0) on_event(c, events);
  };
  return loop.run(deadline_ns, hooks);
}

}  // namespace cosp::bench
