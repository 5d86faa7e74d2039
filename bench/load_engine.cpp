#include "bench/load_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "bench/bench_clock.h"
#include "bench/http_head.h"
#include "bench/session_id.h"

namespace cosp::bench {

namespace {

constexpr std::int64_t kRetryDelay = 10'000'000;  // after a failed request, before reconnecting
constexpr std::size_t kMaxHeadBytes = 64 * 1024;

}  // namespace

// ---------------------------------------------------------------------------------------------
// ResponseReader

void ResponseReader::reset() {
  head_.clear();
  head_done_ = false;
  status_ = 0;
  keep_alive_ = true;
  event_stream_ = false;
  body_ = Body::Length;
  remaining_ = 0;
  chunk_ = Chunk::SizeLine;
  line_.clear();
  error_.clear();
}

ResponseReader::Status ResponseReader::fail(std::string message) {
  error_ = std::move(message);
  return Status::Error;
}

ResponseReader::Status ResponseReader::parseHead() {
  std::string_view head(head_);
  std::size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return fail("bad status line");
  std::from_chars(status_line.data() + 9, status_line.data() + 12, status_);
  keep_alive_ = status_line.substr(0, 8) == "HTTP/1.1";
  bool have_length = false;
  bool chunked = false;
  forEachHeader(head, eol + 2, [&](std::string_view name, std::string_view value) {
    if (asciiIEquals(name, "content-length")) {
      have_length = true;
      std::from_chars(value.data(), value.data() + value.size(), remaining_);
    } else if (asciiIEquals(name, "transfer-encoding")) {
      chunked = asciiIContains(value, "chunked");
    } else if (asciiIEquals(name, "connection")) {
      if (asciiIContains(value, "close"))
        keep_alive_ = false;
      else if (asciiIContains(value, "keep-alive"))
        keep_alive_ = true;
    } else if (asciiIEquals(name, "content-type")) {
      event_stream_ = asciiIContains(value, "text/event-stream");
    }
  });
  if (chunked)
    body_ = Body::Chunked;
  else if (have_length)
    body_ = Body::Length;
  else {
    body_ = Body::UntilClose;
    keep_alive_ = false;
  }
  if (status_ == 204 || status_ == 304) {
    body_ = Body::Length;
    remaining_ = 0;
  }
  head_done_ = true;
  return Status::NeedMore;
}

ResponseReader::Status ResponseReader::feed(const char* data, std::size_t size, std::string& body) {
  std::size_t i = 0;
  if (!head_done_) {
    // The head ends at the first CRLFCRLF; look for it across the boundary with earlier bytes.
    std::size_t old = head_.size();
    head_.append(data, size);
    std::size_t from = old >= 3 ? old - 3 : 0;
    std::size_t end = head_.find("\r\n\r\n", from);
    if (end == std::string::npos) {
      if (head_.size() > kMaxHeadBytes) return fail("response head too large");
      return Status::NeedMore;
    }
    i = end + 4 - old;
    head_.resize(end + 2);
    if (parseHead() == Status::Error) return Status::Error;
  }
  while (true) {
    if (body_ == Body::UntilClose) {
      body.append(data + i, size - i);
      return Status::NeedMore;
    }
    if (body_ == Body::Length) {
      std::size_t take =
          static_cast<std::size_t>(std::min<std::int64_t>(remaining_, static_cast<std::int64_t>(size - i)));
      body.append(data + i, take);
      remaining_ -= static_cast<std::int64_t>(take);
      return remaining_ == 0 ? Status::Done : Status::NeedMore;
    }
    if (i >= size) return Status::NeedMore;
    switch (chunk_) {
      case Chunk::SizeLine:
      case Chunk::Trailer: {
        const char* nl = static_cast<const char*>(std::memchr(data + i, '\n', size - i));
        if (!nl) {
          line_.append(data + i, size - i);
          if (line_.size() > 4096) return fail("chunk line too long");
          return Status::NeedMore;
        }
        line_.append(data + i, static_cast<std::size_t>(nl - (data + i)));
        i = static_cast<std::size_t>(nl - data) + 1;
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (chunk_ == Chunk::Trailer) {
          bool empty = line_.empty();
          line_.clear();
          if (empty) return Status::Done;
          break;
        }
        std::int64_t n = 0;
        auto [p, ec] = std::from_chars(line_.data(), line_.data() + line_.size(), n, 16);
        if (ec != std::errc() || p == line_.data()) return fail("bad chunk size");
        line_.clear();
        if (n == 0) {
          chunk_ = Chunk::Trailer;
        } else {
          remaining_ = n;
          chunk_ = Chunk::Data;
        }
        break;
      }
      case Chunk::Data: {
        std::size_t take =
            static_cast<std::size_t>(std::min<std::int64_t>(remaining_, static_cast<std::int64_t>(size - i)));
        body.append(data + i, take);
        i += take;
        remaining_ -= static_cast<std::int64_t>(take);
        if (remaining_ == 0) chunk_ = Chunk::DataEnd;
        break;
      }
      case Chunk::DataEnd: {
        // CRLF after the chunk data (a bare LF is tolerated).
        if (data[i] == '\r') {
          ++i;
          break;
        }
        if (data[i] != '\n') return fail("missing CRLF after chunk");
        ++i;
        chunk_ = Chunk::SizeLine;
        break;
      }
    }
  }
}

ResponseReader::Status ResponseReader::onEof() {
  if (head_done_ && body_ == Body::UntilClose) return Status::Done;
  return fail(head_done_ ? "connection closed mid-body"
                         : (head_.empty() ? "connection closed before the response" : "connection closed mid-head"));
}

// ---------------------------------------------------------------------------------------------
// Engine

struct Engine::Conn {
  int group = 0;
  int index = 0;
  int fd = -1;
  int tag = 0;
  enum class State { Waiting, Connecting, Sending, Receiving, Retired } state = State::Waiting;
  std::size_t sent = 0;
  std::int64_t requests = 0;  // started on this connection slot
  bool reused = false;        // the current request runs on a kept-alive connection
  bool retried = false;       // the current request was already retried once (stale keep-alive)
  bool counted = false;       // the current request was counted as issued
  bool got_bytes = false;
  bool measured = false;
  std::int64_t req_start = 0;
  std::int64_t first_byte = 0;
  std::int64_t deadline = 0;
  std::uint16_t local_port = 0;
  std::string request;  // this connection's own request (GroupSpec::session_ids), else empty
  ResponseReader reader;
  std::string body;      // decoded body (non-SSE) or undelivered SSE bytes
  std::size_t scan = 0;  // SSE: where to look for the next blank line
  std::int64_t last_event = 0;
  bool first_event = false;
  bool terminal = false;
  bool error_event = false;
  bool stalled = false;
};

struct Engine::Group {
  GroupSpec spec;
  GroupStats stats;
  std::vector<std::unique_ptr<Conn>> conns;
  std::int64_t issued = 0;
  int retired = 0;
  bool stopped = false;
  bool started = false;
  int first_event_or_failed = 0;
  std::function<void()> on_first_events;
};

Engine::Engine() {}

Engine::~Engine() {
  for (auto& g : groups_) {
    for (auto& c : g->conns) closeFd(*c);
  }
}

int Engine::addGroup(GroupSpec spec) {
  const int id = addConnGroup<Conn>(groups_, std::move(spec), loop_, [this](Conn& c) { startConn(c); });
  Group& g = *groups_[static_cast<std::size_t>(id)];
  if (g.spec.session_ids) {
    for (auto& c : g.conns) c->request = withSessionId(g.spec.request, c->index);
  }
  return id;
}

const GroupSpec& Engine::spec(int group) const { return groups_[static_cast<std::size_t>(group)]->spec; }
GroupStats& Engine::stats(int group) { return groups_[static_cast<std::size_t>(group)]->stats; }
void Engine::stopIssuing(int group) { groups_[static_cast<std::size_t>(group)]->stopped = true; }

void Engine::onAllFirstEvents(int group, std::function<void()> fn) {
  groups_[static_cast<std::size_t>(group)]->on_first_events = std::move(fn);
}

void Engine::at(std::int64_t when_ns, std::function<void()> fn) { loop_.at(when_ns, std::move(fn)); }

void Engine::setTag(int group, int connection, int tag) {
  groups_[static_cast<std::size_t>(group)]->conns[static_cast<std::size_t>(connection)]->tag = tag;
}

std::vector<std::pair<int, std::uint16_t>> Engine::localPorts(int group) const {
  std::vector<std::pair<int, std::uint16_t>> out;
  for (const auto& c : groups_[static_cast<std::size_t>(group)]->conns) {
    if (c->fd >= 0 && c->local_port != 0) out.emplace_back(c->index, c->local_port);
  }
  return out;
}

void Engine::countIssued(Conn& c) {
  if (c.retried || c.counted) return;
  c.counted = true;
  ++c.requests;
  ++groups_[static_cast<std::size_t>(c.group)]->issued;
}

bool Engine::mayIssue(const Group& g, const Conn& c, std::int64_t now) const {
  if (g.stopped) return false;
  if (g.spec.stop_issuing_ns != 0 && now >= g.spec.stop_issuing_ns) return false;
  if (g.spec.requests_per_conn != 0 && c.requests >= g.spec.requests_per_conn) return false;
  if (g.spec.max_requests != 0 && g.issued >= g.spec.max_requests) return false;
  return true;
}

void Engine::startConn(Conn& c) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  g.started = true;
  const std::int64_t now = monoNs();
  // A stale keep-alive retry belongs to a request already counted as issued.
  if (!c.retried && !mayIssue(g, c, now)) {
    retire(c);
    return;
  }
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    // EMFILE and friends: a failed request, like any other.
    c.req_start = now;
    c.measured = now >= g.spec.measure_from_ns;
    countIssued(c);
    complete(c, false, std::string("socket: ") + std::strerror(errno));
    return;
  }
  if (static_cast<std::size_t>(c.fd) >= by_fd_.size()) by_fd_.resize(static_cast<std::size_t>(c.fd) + 1024, nullptr);
  by_fd_[static_cast<std::size_t>(c.fd)] = &c;
  c.reused = false;
  c.local_port = 0;
  const bool connecting = loop_.connectLoopback(c.fd, g.spec.port, &c);
  c.req_start = now;
  c.deadline = now + g.spec.request_timeout_ns;
  if (!connecting) {
    c.measured = now >= g.spec.measure_from_ns;
    countIssued(c);
    complete(c, false, std::string("connect: ") + std::strerror(errno));
    return;
  }
  c.state = Conn::State::Connecting;
}

void Engine::sendRequest(Conn& c) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::int64_t now = monoNs();
  countIssued(c);
  c.state = Conn::State::Sending;
  c.sent = 0;
  c.req_start = now;
  c.deadline = now + g.spec.request_timeout_ns;
  c.measured = now >= g.spec.measure_from_ns && c.requests > g.spec.warmup_per_conn;
  c.first_byte = 0;
  c.got_bytes = false;
  c.reader.reset();
  c.body.clear();
  c.scan = 0;
  c.last_event = 0;
  c.first_event = false;
  c.terminal = false;
  c.error_event = false;
  c.stalled = false;
  onWritable(c);
}

void Engine::onWritable(Conn& c) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  if (c.state == Conn::State::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      c.measured = c.req_start >= g.spec.measure_from_ns;
      countIssued(c);
      complete(c, false, std::string("connect: ") + std::strerror(err));
      return;
    }
    sockaddr_in local{};
    socklen_t llen = sizeof local;
    ::getsockname(c.fd, reinterpret_cast<sockaddr*>(&local), &llen);
    c.local_port = ntohs(local.sin_port);
    sendRequest(c);
    return;
  }
  if (c.state != Conn::State::Sending) return;
  const std::string& req = g.spec.session_ids ? c.request : g.spec.request;
  while (c.sent < req.size()) {
    ssize_t n = ::send(c.fd, req.data() + c.sent, req.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT stays armed
    if (c.reused && !c.retried) {
      // The server closed the kept-alive connection before our request reached it.
      ++g.stats.stale_retries;
      closeFd(c);
      c.retried = true;
      startConn(c);
      return;
    }
    complete(c, false, std::string("send: ") + std::strerror(errno));
    return;
  }
  c.state = Conn::State::Receiving;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = &c;
  ::epoll_ctl(loop_.epollFd(), EPOLL_CTL_MOD, c.fd, &ev);
}

void Engine::onEvent(Conn& c, std::uint32_t events) {
  if (c.state == Conn::State::Connecting || c.state == Conn::State::Sending) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) onWritable(c);
    return;
  }
  if (c.state == Conn::State::Receiving) onReadable(c);
}

void Engine::onReadable(Conn& c) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    const std::int64_t now = monoNs();
    if (n > 0) {
      if (!c.got_bytes) {
        c.got_bytes = true;
        c.first_byte = now;
        if (g.spec.first_byte_stall_ns != 0 && now - c.req_start > g.spec.first_byte_stall_ns && !c.stalled) {
          c.stalled = true;
          ++g.stats.stalled_streams;
        }
      }
      const std::size_t before = c.body.size();
      ResponseReader::Status st = c.reader.feed(buf, static_cast<std::size_t>(n), c.body);
      if (c.reader.eventStream() && c.body.size() > before) processSse(c, now);
      if (st == ResponseReader::Status::Error) {
        complete(c, false, "protocol: " + c.reader.error());
        return;
      }
      if (st == ResponseReader::Status::Done) {
        if (c.reader.eventStream()) processSse(c, now);
        bool ok = c.reader.status() == 200 && (!c.reader.eventStream() || (c.terminal && !c.error_event));
        std::string why;
        if (!ok) {
          if (c.reader.status() != 200)
            why = "status " + std::to_string(c.reader.status());
          else if (c.error_event)
            why = "error event";
          else
            why = "stream ended without a terminal event";
        }
        complete(c, ok, why);
        return;
      }
      if (static_cast<std::size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // EOF or an error.
    if (!c.got_bytes && c.reused && !c.retried) {
      ++g.stats.stale_retries;
      closeFd(c);
      c.retried = true;
      startConn(c);
      return;
    }
    if (n == 0) {
      ResponseReader::Status st = c.reader.onEof();
      if (st == ResponseReader::Status::Done) {
        bool ok = c.reader.status() == 200 && (!c.reader.eventStream() || (c.terminal && !c.error_event));
        closeFd(c);  // the connection is finished either way
        complete(c, ok, ok ? "" : "closed");
        return;
      }
      // After response.completed / [DONE] only the chunked terminator was missing: say so, it
      // points at the server closing the connection right after its last write.
      complete(c, false, c.reader.error() + (c.terminal ? " (after the terminal event)" : ""));
      return;
    }
    complete(c, false,
             std::string("recv: ") + std::strerror(errno) + (c.terminal ? " (after the terminal event)" : ""));
    return;
  }
}

void Engine::processSse(Conn& c, std::int64_t now) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  std::string_view body(c.body);
  std::size_t start = 0;
  for (;;) {
    std::size_t end = body.find("\n\n", c.scan > start ? c.scan : start);
    if (end == std::string_view::npos) break;
    std::string_view block = body.substr(start, end - start);
    start = end + 2;
    c.scan = start;
    // A block of comment lines only (": keep-alive") is not an event.
    bool has_data = block.find("data:") != std::string_view::npos;
    if (!has_data) continue;
    ++g.stats.events_received;
    if (c.measured && g.spec.record_events) {
      std::int64_t stamp = findStamp(block);
      if (stamp > 0) g.stats.event_ns.push_back(now - stamp);
    }
    if (c.last_event != 0) {
      std::int64_t gap = now - c.last_event;
      if (gap > g.stats.max_gap_ns) g.stats.max_gap_ns = gap;
      if (g.spec.stall_ns != 0 && gap > g.spec.stall_ns && !c.stalled) {
        c.stalled = true;
        ++g.stats.stalled_streams;
      }
    }
    c.last_event = now;
    if (!c.first_event) {
      c.first_event = true;
      ++g.stats.first_events;
      ++g.first_event_or_failed;
      checkFirstEvents(g);
    }
    if (block.find("response.completed") != std::string_view::npos ||
        block.find("data: [DONE]") != std::string_view::npos) {
      c.terminal = true;
    }
    if (block.find("event: error") != std::string_view::npos ||
        block.find("response.failed") != std::string_view::npos ||
        block.find("data: {\"error\"") != std::string_view::npos) {
      c.error_event = true;
    }
  }
  if (start > 0) {
    c.body.erase(0, start);
    c.scan -= start;
  }
  // What is left is an incomplete event: the next scan starts where this one stopped.
  if (c.body.size() > 1) c.scan = std::max(c.scan, c.body.size() - 1);
}

void Engine::checkFirstEvents(Group& g) {
  if (g.on_first_events && g.first_event_or_failed >= g.spec.connections) {
    auto fn = std::move(g.on_first_events);
    g.on_first_events = nullptr;
    fn();
  }
}

void Engine::complete(Conn& c, bool ok, const std::string& error) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::int64_t now = monoNs();
  c.retried = false;
  c.counted = false;
  if (!c.first_event && !ok) {
    // Failed before its first event: counted once so onAllFirstEvents still fires.
    ++g.first_event_or_failed;
    c.first_event = true;
    checkFirstEvents(g);
  }
  if (ok) {
    if (c.measured) {
      ++g.stats.ok;
      g.stats.latency_ns.push_back(now - c.req_start);
      g.stats.ttfb_ns.push_back(c.first_byte - c.req_start);
      if (g.stats.window_begin_ns == 0 || c.req_start < g.stats.window_begin_ns) g.stats.window_begin_ns = c.req_start;
      g.stats.window_end_ns = std::max(g.stats.window_end_ns, now);
    } else {
      ++g.stats.warmup;
    }
    if (c.tag != 0) ++g.stats.by_tag[c.tag].ok;
  } else {
    ++g.stats.failed;
    ++g.stats.errors[error.empty() ? "unknown" : error];
    if (c.tag != 0) ++g.stats.by_tag[c.tag].failed;
  }
  const bool reuse = ok && c.fd >= 0 && c.reader.keepAlive();
  if (!reuse) closeFd(c);
  if (!ok) {
    // Reconnect after a short pause, so a dead server is not hammered in a tight loop.
    if (mayIssue(g, c, now)) {
      ++g.stats.reconnects;
      c.state = Conn::State::Waiting;
      Conn* cp = &c;
      at(now + kRetryDelay, [this, cp] { startConn(*cp); });
    } else {
      retire(c);
    }
    return;
  }
  next(c, reuse);
}

void Engine::next(Conn& c, bool reuse) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  if (!mayIssue(g, c, monoNs())) {
    retire(c);
    return;
  }
  if (reuse) {
    c.reused = true;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = &c;
    ::epoll_ctl(loop_.epollFd(), EPOLL_CTL_MOD, c.fd, &ev);
    sendRequest(c);
  } else {
    ++g.stats.reconnects;
    startConn(c);
  }
}

void Engine::retire(Conn& c) {
  if (c.state == Conn::State::Retired) return;
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  closeFd(c);
  c.state = Conn::State::Retired;
  ++g.retired;
}

void Engine::closeFd(Conn& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(loop_.epollFd(), EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  by_fd_[static_cast<std::size_t>(c.fd)] = nullptr;
  c.fd = -1;
  if (c.state != Conn::State::Retired) c.state = Conn::State::Waiting;
}

void Engine::sweep(std::int64_t now) {
  for (auto& gp : groups_) {
    Group& g = *gp;
    for (auto& cp : g.conns) {
      Conn& c = *cp;
      if (c.state == Conn::State::Connecting || c.state == Conn::State::Sending || c.state == Conn::State::Receiving) {
        if (now >= c.deadline) {
          complete(c, false, "timeout");
          continue;
        }
        if (c.state == Conn::State::Receiving && g.spec.stall_ns != 0 && c.last_event != 0 && !c.stalled &&
            now - c.last_event > g.spec.stall_ns) {
          c.stalled = true;
          ++g.stats.stalled_streams;
        }
        if (c.state == Conn::State::Receiving && g.spec.first_byte_stall_ns != 0 && !c.got_bytes && !c.stalled &&
            now - c.req_start > g.spec.first_byte_stall_ns) {
          c.stalled = true;
          ++g.stats.stalled_streams;
        }
      }
    }
  }
}

bool Engine::run(std::int64_t deadline_ns) {
  return runEngine<Conn>(
      loop_, deadline_ns, groups_, [this](std::int64_t now) { sweep(now); },
      [this] {
        for (auto& g : groups_) {
          g->stopped = true;
          for (auto& c : g->conns) {
            if (c->state != Conn::State::Retired && c->state != Conn::State::Waiting) complete(*c, false, "deadline");
            retire(*c);
          }
        }
      },
      [this](Conn& c, std::uint32_t events) { onEvent(c, events); });
}

}  // namespace cosp::bench
