#include "bench/ws_engine.h"

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
#include "bench/socket_output.h"
#include "worker/ws/ws_frame.h"
#include "worker/ws/ws_handshake.h"
#include "worker/ws/ws_message.h"

namespace cosp::bench {

namespace {

namespace ws = cosp::worker::ws;

constexpr std::int64_t kRetryDelay = 10'000'000;    // after a lost connection, before reconnecting
constexpr std::int64_t kCloseWait = 2'000'000'000;  // for the server's close frame
constexpr std::size_t kMaxHeadBytes = 64 * 1024;
constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;

// The event's "type" value, from the start of the JSON object (every event of the backend puts
// it first; a search keeps this free of a JSON parser, which would cost more than the relay).
std::string_view eventType(std::string_view payload) {
  const std::size_t at = payload.find("\"type\":\"");
  if (at == std::string_view::npos) return {};
  const std::size_t from = at + 8;
  const std::size_t end = payload.find('"', from);
  return end == std::string_view::npos ? std::string_view() : payload.substr(from, end - from);
}

}  // namespace

struct WsEngine::Conn {
  int group = 0;
  int index = 0;
  int fd = -1;
  enum class State { Waiting, Connecting, Upgrading, Turn, Closing, Retired } state = State::Waiting;
  std::string out;
  std::size_t out_off = 0;
  bool epollout = false;
  std::string head;  // the upgrade answer until its blank line
  std::string key;   // Sec-WebSocket-Key sent
  std::unique_ptr<ws::MessageReader> reader;
  std::int64_t turns = 0;  // started on this connection slot
  bool measured = false;
  bool first_event_counted = false;  // for onAllFirstEvents: once per connection slot
  bool stalled = false;
  bool got_event = false;
  int deltas = 0;
  std::int64_t conn_start = 0;
  std::int64_t turn_start = 0;
  std::int64_t first_event = 0;
  std::int64_t last_event = 0;
  std::int64_t deadline = 0;
};

struct WsEngine::Group {
  WsGroupSpec spec;
  WsGroupStats stats;
  std::vector<std::unique_ptr<Conn>> conns;
  int retired = 0;
  int first_event_or_failed = 0;
  std::function<void()> on_first_events;
};

WsEngine::WsEngine() : mask_state_(static_cast<std::uint64_t>(monoNs()) | 1) {}

WsEngine::~WsEngine() {
  for (auto& g : groups_) {
    for (auto& c : g->conns) closeFd(*c);
  }
}

int WsEngine::addGroup(WsGroupSpec spec) {
  return addConnGroup<Conn>(groups_, std::move(spec), loop_, [this](Conn& c) { startConn(c); });
}

WsGroupStats& WsEngine::stats(int group) { return groups_[static_cast<std::size_t>(group)]->stats; }

void WsEngine::onAllFirstEvents(int group, std::function<void()> fn) {
  groups_[static_cast<std::size_t>(group)]->on_first_events = std::move(fn);
}

void WsEngine::at(std::int64_t when_ns, std::function<void()> fn) { loop_.at(when_ns, std::move(fn)); }

bool WsEngine::mayStartTurn(const Group& g, const Conn& c, std::int64_t now) const {
  if (g.spec.stop_issuing_ns != 0 && now >= g.spec.stop_issuing_ns) return false;
  if (g.spec.turns_per_conn != 0 && c.turns >= g.spec.turns_per_conn) return false;
  return true;
}

void WsEngine::markFirstEvent(Conn& c) {
  if (c.first_event_counted) return;
  c.first_event_counted = true;
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  ++g.first_event_or_failed;
  if (g.on_first_events && g.first_event_or_failed >= g.spec.connections) {
    auto fn = std::move(g.on_first_events);
    g.on_first_events = nullptr;
    fn();
  }
}

void WsEngine::startConn(Conn& c) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::int64_t now = monoNs();
  if (!mayStartTurn(g, c, now)) {
    retire(c);
    return;
  }
  c.conn_start = now;
  c.deadline = now + g.spec.turn_timeout_ns;
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    fail(c, std::string("socket: ") + std::strerror(errno), true);
    return;
  }
  const bool connecting = loop_.connectLoopback(c.fd, g.spec.port, &c);
  c.epollout = true;
  if (!connecting) {
    fail(c, std::string("connect: ") + std::strerror(errno), true);
    return;
  }
  c.state = Conn::State::Connecting;
  c.key = ws::makeClientKey();
  c.head.clear();
  c.out = "GET " + g.spec.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(g.spec.port) +
          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + c.key +
          "\r\nSec-WebSocket-Version: 13\r\nOpenAI-Beta: responses_websockets=2026-02-06\r\n"
          "User-Agent: cosp-bench-load\r\nx-codex-bench: " +
          g.spec.bench + "\r\n" + g.spec.extra_headers + (g.spec.session_ids ? sessionIdHeader(c.index) : "") + "\r\n";
  c.out_off = 0;
  c.reader = std::make_unique<ws::MessageReader>(ws::Peer::kServer, kMaxMessageBytes);
}

void WsEngine::sendFrame(Conn& c, int opcode, const std::string& payload) {
  // SplitMix64: an unpredictable-enough mask per frame (RFC 6455 §5.3), at no cost.
  mask_state_ += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = mask_state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  c.out += ws::buildMaskedFrame(static_cast<ws::Opcode>(opcode), payload, static_cast<std::uint32_t>(z));
  flush(c);
}

void WsEngine::flush(Conn& c) {
  if (c.fd < 0 || c.state == Conn::State::Connecting) return;
  if (!sendPending(c.fd, c.out, c.out_off)) {
    fail(c, std::string("send: ") + std::strerror(errno), true);
    return;
  }
  epoll_data_t data{};
  data.ptr = &c;
  watchWritable(loop_.epollFd(), c.fd, data, c.out_off < c.out.size(), c.epollout);
}

void WsEngine::onEvent(Conn& c, std::uint32_t events) {
  if (c.state == Conn::State::Connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(c, std::string("connect: ") + std::strerror(err), true);
      return;
    }
    c.state = Conn::State::Upgrading;
    flush(c);
    return;
  }
  if (events & EPOLLOUT) {
    flush(c);
    if (c.fd < 0) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) onReadable(c);
}

void WsEngine::onReadable(Conn& c) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    const std::int64_t now = monoNs();
    if (n > 0) {
      if (c.state == Conn::State::Upgrading) {
        c.head.append(buf, static_cast<std::size_t>(n));
        onHandshake(c, now);
      } else {
        c.reader->feed(std::string_view(buf, static_cast<std::size_t>(n)));
        onMessages(c, now);
      }
      if (c.fd < 0) return;
      if (static_cast<std::size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (c.state == Conn::State::Closing) {
      // The server closed the TCP connection without its close frame: done all the same.
      retire(c);
      return;
    }
    fail(c,
         n == 0 ? (c.state == Conn::State::Upgrading ? "closed before the upgrade answer" : "closed mid-turn")
                : std::string("recv: ") + std::strerror(errno),
         true);
    return;
  }
}

void WsEngine::onHandshake(Conn& c, std::int64_t now) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::size_t end = c.head.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.head.size() > kMaxHeadBytes) fail(c, "upgrade answer head too large", false);
    return;
  }
  const std::string rest = c.head.substr(end + 4);
  const std::string_view head(c.head.data(), end + 2);
  int status = 0;
  if (head.size() >= 12 && head.substr(0, 5) == "HTTP/") std::from_chars(head.data() + 9, head.data() + 12, status);
  ws::HeaderList headers;
  forEachHeader(head, head.find("\r\n") + 2, [&](std::string_view name, std::string_view value) {
    headers.emplace_back(std::string(name), std::string(value));
  });
  if (status != 101) {
    // A refusal (405 from a proxy without the route, 426, 5xx) will not change by retrying: the
    // connection gives up, and the phase reports it as an error instead of hammering the target.
    ++g.stats.upgrades_refused;
    fail(c, "upgrade refused: status " + std::to_string(status), false);
    return;
  }
  const std::string problem = ws::checkServerHandshake(status, headers, c.key, false);
  if (!problem.empty()) {
    ++g.stats.upgrades_refused;
    fail(c, "bad upgrade answer: " + problem, false);
    return;
  }
  ++g.stats.upgrades_ok;
  g.stats.upgrade_ns.push_back(now - c.conn_start);
  c.head.clear();
  c.head.shrink_to_fit();
  startTurn(c);
  if (c.fd >= 0 && !rest.empty()) {
    c.reader->feed(rest);
    onMessages(c, now);
  }
}

void WsEngine::startTurn(Conn& c) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::int64_t now = monoNs();
  if (!mayStartTurn(g, c, now)) {
    beginClose(c);
    return;
  }
  ++c.turns;
  c.state = Conn::State::Turn;
  c.turn_start = now;
  c.deadline = now + g.spec.turn_timeout_ns;
  c.measured = now >= g.spec.measure_from_ns && c.turns > g.spec.warmup_per_conn;
  c.got_event = false;
  c.stalled = false;
  c.deltas = 0;
  c.first_event = 0;
  c.last_event = 0;
  sendFrame(c, static_cast<int>(ws::Opcode::kText), g.spec.message);
}

void WsEngine::onMessages(Conn& c, std::int64_t now) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  ws::Message m;
  for (;;) {
    const auto st = c.reader->next(m);
    if (st == ws::MessageReader::Status::kNeedMore) return;
    if (st == ws::MessageReader::Status::kError) {
      const auto code = c.reader->errorCode();
      sendFrame(c, static_cast<int>(ws::Opcode::kClose), ws::closePayload(code, c.reader->errorReason()));
      if (c.fd < 0) return;
      fail(c, "bad frames from the server: " + c.reader->errorReason(), true);
      return;
    }
    switch (m.opcode) {
      case ws::Opcode::kText:
        if (c.state == Conn::State::Turn) onTextMessage(c, m.payload, now);
        break;
      case ws::Opcode::kPing:
        ++g.stats.pings_answered;
        sendFrame(c, static_cast<int>(ws::Opcode::kPong), m.payload);
        break;
      case ws::Opcode::kClose:
        if (c.state == Conn::State::Closing) {
          ++g.stats.closes_clean;
          retire(c);
        } else {
          ws::CloseInfo info;
          ws::parseClosePayload(m.payload, info);
          fail(c, "closed by the server: " + std::to_string(info.code) + (info.reason.empty() ? "" : " " + info.reason),
               true);
        }
        return;
      default:
        break;  // pong, binary: not part of the protocol under test
    }
    if (c.fd < 0) return;
  }
}

void WsEngine::onTextMessage(Conn& c, const std::string& payload, std::int64_t now) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::string_view type = eventType(payload);
  if (type == "response.output_text.delta") {
    ++c.deltas;
    // Only deltas are measured: their stamp is the first t= of the message, while the done
    // events repeat every delta's old stamp in their text.
    if (c.measured && g.spec.record_events) {
      const std::int64_t stamp = findStamp(payload);
      if (stamp > 0) g.stats.event_ns.push_back(now - stamp);
    }
  }
  if (c.last_event != 0) {
    const std::int64_t gap = now - c.last_event;
    g.stats.max_gap_ns = std::max(g.stats.max_gap_ns, gap);
    if (g.spec.stall_ns != 0 && gap > g.spec.stall_ns && !c.stalled) {
      c.stalled = true;
      ++g.stats.stalled;
    }
  }
  c.last_event = now;
  if (!c.got_event) {
    c.got_event = true;
    c.first_event = now;
    if (g.spec.first_event_stall_ns != 0 && now - c.turn_start > g.spec.first_event_stall_ns && !c.stalled) {
      c.stalled = true;
      ++g.stats.stalled;
    }
    if (!c.first_event_counted) {
      ++g.stats.first_events;
      markFirstEvent(c);
    }
  }
  if (type == "response.completed") {
    if (g.spec.expected_deltas >= 0 && c.deltas != g.spec.expected_deltas) {
      // The stream's shape comes from x-codex-bench: a target that does not forward the header
      // gives the fake's default, and its figures would measure another workload.
      endTurn(c, false,
              "got " + std::to_string(c.deltas) + " deltas instead of " + std::to_string(g.spec.expected_deltas) +
                  " (x-codex-bench not forwarded?)");
    } else {
      endTurn(c, true, "");
    }
  } else if (type == "response.failed" || type == "error" || type == "response.incomplete") {
    endTurn(c, false, "event " + std::string(type));
  }
}

void WsEngine::endTurn(Conn& c, bool ok, const std::string& error) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::int64_t now = monoNs();
  if (ok) {
    if (c.measured) {
      ++g.stats.turns_ok;
      g.stats.turn_ns.push_back(now - c.turn_start);
      g.stats.first_event_ns.push_back(c.first_event - c.turn_start);
    } else {
      ++g.stats.warmup_turns;
    }
  } else {
    ++g.stats.turns_failed;
    ++g.stats.errors[error];
  }
  startTurn(c);  // the next turn on the same socket, or the close when no turn is left
}

void WsEngine::beginClose(Conn& c) {
  c.state = Conn::State::Closing;
  c.deadline = monoNs() + kCloseWait;
  sendFrame(c, static_cast<int>(ws::Opcode::kClose), ws::closePayload(ws::CloseCode::kNormal));
}

void WsEngine::fail(Conn& c, const std::string& error, bool retry) {
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  const std::int64_t now = monoNs();
  ++g.stats.turns_failed;
  ++g.stats.errors[error];
  markFirstEvent(c);  // failed before its first event: counted once so onAllFirstEvents fires
  closeFd(c);
  if (retry && mayStartTurn(g, c, now)) {
    ++g.stats.reconnects;
    c.state = Conn::State::Waiting;
    Conn* cp = &c;
    at(now + kRetryDelay, [this, cp] { startConn(*cp); });
  } else {
    retire(c);
  }
}

void WsEngine::retire(Conn& c) {
  if (c.state == Conn::State::Retired) return;
  Group& g = *groups_[static_cast<std::size_t>(c.group)];
  closeFd(c);
  c.state = Conn::State::Retired;
  c.reader.reset();
  ++g.retired;
  markFirstEvent(c);
}

void WsEngine::closeFd(Conn& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(loop_.epollFd(), EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  c.out.clear();
  c.out_off = 0;
  c.epollout = false;
  if (c.state != Conn::State::Retired) c.state = Conn::State::Waiting;
}

void WsEngine::sweep(std::int64_t now) {
  for (auto& gp : groups_) {
    Group& g = *gp;
    for (auto& cp : g.conns) {
      Conn& c = *cp;
      if (c.state == Conn::State::Waiting || c.state == Conn::State::Retired) continue;
      if (now >= c.deadline) {
        if (c.state == Conn::State::Closing) {
          retire(c);  // no close frame back in time: the turns were done, it is not a failure
        } else {
          fail(c, c.state == Conn::State::Turn ? "turn timeout" : "upgrade timeout", true);
        }
        continue;
      }
      if (c.state != Conn::State::Turn || c.stalled) continue;
      if (g.spec.stall_ns != 0 && c.last_event != 0 && now - c.last_event > g.spec.stall_ns) {
        c.stalled = true;
        ++g.stats.stalled;
      } else if (g.spec.first_event_stall_ns != 0 && !c.got_event && now - c.turn_start > g.spec.first_event_stall_ns) {
        c.stalled = true;
        ++g.stats.stalled;
      }
    }
  }
}

bool WsEngine::run(std::int64_t deadline_ns) {
  return runEngine<Conn>(
      loop_, deadline_ns, groups_, [this](std::int64_t now) { sweep(now); },
      [this] {
        for (auto& g : groups_) {
          for (auto& c : g->conns) {
            if (c->state != Conn::State::Retired && c->state != Conn::State::Waiting &&
                c->state != Conn::State::Closing) {
              ++g->stats.turns_failed;
              ++g->stats.errors["deadline"];
            }
            retire(*c);
          }
        }
      },
      [this](Conn& c, std::uint32_t events) { onEvent(c, events); });
}

}  // namespace cosp::bench
