// cosp-bench-upstream: a fake Codex Responses backend for the load benchmarks, fast enough
// never to be the bottleneck: one thread, one epoll loop, one timerfd, non-blocking sockets,
// and every response written with as few send(2) calls as possible. Thousands of held streams
// cost it a few hundred bytes each.
//
//   cosp-bench-upstream [--host 127.0.0.1] [--port 0]
//
// Prints "LISTENING <port>" on stdout once bound and runs until SIGTERM or SIGINT.
//
// Every POST (any path: the proxy calls /backend-api/codex/responses, nginx and the direct
// client /v1/responses) is answered 200 text/event-stream, chunked, keep-alive, with the event
// sequence of the real backend (see tests/fixtures/responses/text.sse):
//   response.created, response.in_progress, response.output_item.added,
//   response.content_part.added                         -- at once, with the head
//   response.output_text.delta x n                      -- every `iv` ms (all at once if 0)
//   response.output_text.done, response.content_part.done, response.output_item.done,
//   response.completed                                  -- right after the last delta
// The shape is chosen per request by the header `x-codex-bench: n=<deltas>,iv=<ms>` (the proxy
// forwards x-codex-* request headers upstream; nginx forwards every header).
//
// Every event starts with the comment line `: t=<CLOCK_MONOTONIC ns>` taken just before the
// send(2) that carries it; text deltas also carry `t=<ns>` inside their "delta" string, which
// survives the proxy's Chat Completions re-encoding (comments do not). The load tool
// subtracts the stamp from its receive time.
//
// A GET with `Upgrade: websocket` (any path: the proxy calls /backend-api/codex/responses, nginx
// and the direct client /v1/responses) is answered 101 and becomes a WebSocket, as the real
// backend's `GET {base}/responses` does: every text message whose type is response.create gets
// the same event sequence, one text frame (unmasked) per event, the deltas carrying the same
// `t=<ns>` stamp taken just before the send(2). Messages that arrive during a response wait
// for its end (the backend runs one response at a time per socket). The shape comes from the
// upgrade's x-codex-bench header (the proxy forwards it), or, per message, from a string field
// "x-codex-bench":"n=..,iv=.." anywhere in it. Ping is answered with pong, close with close.
// The codec is the proxy's own (worker/ws/), already tested against RFC 6455.
//
// GET /__stats answers JSON counters; GET …/usage a quota document (the supervisor polls it per account
// with several accounts); GET anything else answers 200 "ok".
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_clock.h"
#include "bench/http_head.h"
#include "bench/socket_output.h"
#include "worker/ws/ws_frame.h"
#include "worker/ws/ws_handshake.h"
#include "worker/ws/ws_message.h"

namespace cosp::bench {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxRequestBytes = 64 * 1024 * 1024;
constexpr std::size_t kMaxWsMessageBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxQueuedWsMessages = 16;

namespace ws = cosp::worker::ws;

struct Params {
  int deltas = 8;
  int interval_ms = 0;
};

int toInt(std::string_view s, int fallback) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : fallback;
}

// "n=8,iv=20" (also ';' or ' ' separated).
Params parseParams(std::string_view spec) {
  Params p;
  while (!spec.empty()) {
    std::size_t end = spec.find_first_of(",; ");
    std::string_view item = spec.substr(0, end);
    spec = end == std::string_view::npos ? std::string_view() : spec.substr(end + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (key == "n")
      p.deltas = std::max(0, std::min(toInt(value, p.deltas), 1'000'000));
    else if (key == "iv")
      p.interval_ms = std::max(0, std::min(toInt(value, p.interval_ms), 3'600'000));
  }
  return p;
}

// Length of a complete chunked body at the start of `s`; nullopt while incomplete, -1 on error.
std::optional<long long> chunkedLength(std::string_view s) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = s.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    std::string_view hex = s.substr(pos, eol - pos);
    hex = hex.substr(0, hex.find(';'));
    auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
    if (ec != std::errc() || p == hex.data()) return -1;
    pos = eol + 2;
    if (size == 0) {
      // Trailers until an empty line.
      for (;;) {
        std::size_t e = s.find("\r\n", pos);
        if (e == std::string_view::npos) return std::nullopt;
        bool empty = e == pos;
        pos = e + 2;
        if (empty) return static_cast<long long>(pos);
      }
    }
    if (s.size() < pos + size + 2) return std::nullopt;
    pos += size + 2;
  }
}

struct Counters {
  std::uint64_t accepted = 0;
  std::uint64_t open = 0;
  std::uint64_t requests = 0;
  std::uint64_t completed = 0;
  std::uint64_t active_streams = 0;
  std::uint64_t peak_streams = 0;
  std::uint64_t client_closed_midstream = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t bad_requests = 0;
  std::uint64_t events_sent = 0;
  std::uint64_t ws_upgrades = 0;
  std::uint64_t ws_open = 0;
  std::uint64_t ws_protocol_errors = 0;
};

struct Conn {
  int fd = -1;
  std::uint64_t gen = 0;
  std::string in;
  std::string out;
  std::size_t out_off = 0;
  bool epollout = false;
  // The response in progress, if any.
  bool responding = false;
  bool close_after = false;
  Params params;
  int next_delta = 0;
  int seq = 0;
  std::int64_t start_ns = 0;
  std::uint64_t response_no = 0;
  std::string text;
  // After a 101: frames in, frames out. The reader exists only for WebSocket connections, so
  // an HTTP stream costs nothing more.
  std::unique_ptr<ws::MessageReader> ws_reader;
  Params ws_params;                     // from the upgrade's x-codex-bench
  std::vector<std::string> ws_waiting;  // response.create messages that arrived mid-response
};

struct Timer {
  std::int64_t due;
  int fd;
  std::uint64_t gen;
  bool operator>(const Timer& o) const { return due > o.due; }
};

class FakeUpstream {
 public:
  bool listen(const std::string& host, int port);
  int port() const { return port_; }
  int run();

 private:
  void acceptAll();
  void onReadable(Conn& c);
  void onWritable(Conn& c);
  // Parses and starts requests while the connection is idle and a full request is buffered.
  void serveBuffered(Conn& c);
  void upgrade(Conn& c, std::string_view head, std::size_t headers_at, const Params& params);
  // Reads the frames buffered on a WebSocket and starts the next response when idle.
  void serveWebSocket(Conn& c);
  void closeWebSocket(Conn& c, ws::CloseCode code, std::string_view reason);
  void startResponse(Conn& c, const Params& params, bool close_after);
  void sendDue(Conn& c);
  void finishResponse(Conn& c);
  void flush(Conn& c);
  void closeConn(Conn& c);
  void armTimer();
  void onTimer();
  void appendEvent(Conn& c, std::string_view type, const std::string& json, std::int64_t stamp);
  std::string responseObject(const Conn& c, bool completed) const;

  int ep_ = -1;
  int listen_fd_ = -1;
  int timer_fd_ = -1;
  int signal_fd_ = -1;
  int port_ = 0;
  std::uint64_t next_gen_ = 1;
  std::uint64_t next_response_ = 1;
  std::int64_t armed_ = 0;
  std::vector<std::unique_ptr<Conn>> conns_;  // indexed by fd
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  Counters counters_;
};

bool FakeUpstream::listen(const std::string& host, int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return false;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  if (::listen(listen_fd_, 65535) != 0) return false;
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);

  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  for (int fd : {listen_fd_, timer_fd_, signal_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
  return true;
}

int FakeUpstream::run() {
  std::vector<epoll_event> events(1024);
  for (;;) {
    int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        acceptAll();
      } else if (fd == timer_fd_) {
        std::uint64_t expirations;
        (void)::read(timer_fd_, &expirations, sizeof expirations);
        armed_ = 0;
        onTimer();
      } else if (fd == signal_fd_) {
        return 0;
      } else if (fd >= 0 && static_cast<std::size_t>(fd) < conns_.size() && conns_[fd]) {
        Conn& c = *conns_[fd];
        if (events[i].events & EPOLLOUT) onWritable(c);
        if (conns_[fd] && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) onReadable(*conns_[fd]);
      }
    }
    armTimer();
  }
}

void FakeUpstream::acceptAll() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("accept4");
      return;
    }
    // Every event is one small write that must leave at once (no Nagle wait on a real stream).
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1024);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->gen = next_gen_++;
    conns_[fd] = std::move(c);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    ++counters_.accepted;
    ++counters_.open;
  }
}

void FakeUpstream::closeConn(Conn& c) {
  if (c.responding) {
    --counters_.active_streams;
    ++counters_.client_closed_midstream;
  }
  if (c.ws_reader) --counters_.ws_open;
  ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  --counters_.open;
  conns_[c.fd].reset();  // pending timers for it are skipped by their generation
}

void FakeUpstream::onReadable(Conn& c) {
  char buf[kReadChunk];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<std::size_t>(n));
      if (c.in.size() > kMaxRequestBytes) {
        ++counters_.bad_requests;
        closeConn(c);
        return;
      }
      if (static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n == 0) {
      closeConn(c);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    closeConn(c);
    return;
  }
  if (c.ws_reader)
    serveWebSocket(c);
  else
    serveBuffered(c);
}

void FakeUpstream::serveBuffered(Conn& c) {
  const int fd = c.fd;
  while (conns_[fd] && !c.responding && c.out_off == c.out.size()) {
    std::size_t head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    std::string_view head(c.in.data(), head_end);
    std::size_t line_end = head.find("\r\n");
    std::string_view request_line = head.substr(0, line_end);
    std::string_view method = request_line.substr(0, request_line.find(' '));
    std::string_view target = request_line.substr(method.size() + 1);
    target = target.substr(0, target.find(' '));

    long long content_length = 0;
    bool chunked = false;
    bool close_after = false;
    bool websocket = false;
    Params params;
    const std::size_t headers_at = line_end == std::string_view::npos ? head.size() : line_end + 2;
    forEachHeader(head, headers_at, [&](std::string_view name, std::string_view value) {
      if (asciiIEquals(name, "content-length")) {
        content_length = toInt(value, -1);
      } else if (asciiIEquals(name, "transfer-encoding")) {
        chunked = asciiIStartsWith(value, "chunked");
      } else if (asciiIEquals(name, "connection")) {
        close_after = asciiIStartsWith(value, "close");
      } else if (asciiIEquals(name, "x-codex-bench")) {
        params = parseParams(value);
      } else if (asciiIEquals(name, "upgrade")) {
        websocket = asciiIContains(value, "websocket");
      }
    });
    if (websocket && method == "GET") {
      upgrade(c, head, headers_at, params);
      return;
    }
    std::size_t body_start = head_end + 4;
    std::size_t total = 0;
    if (chunked) {
      auto len = chunkedLength(std::string_view(c.in).substr(body_start));
      if (!len) return;
      if (*len < 0) {
        ++counters_.bad_requests;
        closeConn(c);
        return;
      }
      total = body_start + static_cast<std::size_t>(*len);
    } else {
      if (content_length < 0) {
        ++counters_.bad_requests;
        closeConn(c);
        return;
      }
      total = body_start + static_cast<std::size_t>(content_length);
      if (c.in.size() < total) return;
    }
    const bool is_post = method == "POST";
    const bool stats = !is_post && target == "/__stats";
    // The supervisor polls each account's quota there with several accounts (CODEX_USAGE_URL).
    const bool usage = !is_post && target.size() >= 6 && target.compare(target.size() - 6, 6, "/usage") == 0;
    c.in.erase(0, total);

    if (!is_post) {
      std::string body = "ok\n";
      if (usage) {
        body = R"({"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,)"
               R"("primary_window":{"used_percent":7,"limit_window_seconds":18000,"reset_after_seconds":9000},)"
               R"("secondary_window":{"used_percent":23,"limit_window_seconds":604800,"reset_after_seconds":400000}}})";
      } else if (stats) {
        char b[512];
        std::snprintf(b, sizeof b,
                      "{\"accepted\":%llu,\"open\":%llu,\"requests\":%llu,\"completed\":%llu,\"active_streams\":%llu,"
                      "\"peak_streams\":%llu,\"client_closed_midstream\":%llu,\"write_errors\":%llu,"
                      "\"bad_requests\":%llu,\"events_sent\":%llu,\"ws_upgrades\":%llu,\"ws_open\":%llu,"
                      "\"ws_protocol_errors\":%llu}\n",
                      (unsigned long long)counters_.accepted, (unsigned long long)counters_.open,
                      (unsigned long long)counters_.requests, (unsigned long long)counters_.completed,
                      (unsigned long long)counters_.active_streams, (unsigned long long)counters_.peak_streams,
                      (unsigned long long)counters_.client_closed_midstream, (unsigned long long)counters_.write_errors,
                      (unsigned long long)counters_.bad_requests, (unsigned long long)counters_.events_sent,
                      (unsigned long long)counters_.ws_upgrades, (unsigned long long)counters_.ws_open,
                      (unsigned long long)counters_.ws_protocol_errors);
        body = b;
      }
      c.out += "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(stats || usage ? "application/json" : "text/plain") +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
               (close_after ? "Connection: close\r\n" : "") + "\r\n" + body;
      flush(c);
      if (!conns_[fd]) return;
      if (close_after && c.out_off == c.out.size()) {
        closeConn(c);
        return;
      }
      continue;
    }
    startResponse(c, params, close_after);
  }
}

void FakeUpstream::upgrade(Conn& c, std::string_view head, std::size_t headers_at, const Params& params) {
  const std::size_t head_end = head.size() + 4;
  ws::HeaderList headers;
  forEachHeader(head, headers_at, [&](std::string_view name, std::string_view value) {
    headers.emplace_back(std::string(name), std::string(value));
  });
  const std::string_view request_line = head.substr(0, head.find("\r\n"));
  const int minor = request_line.size() >= 8 && request_line.substr(request_line.size() - 8) == "HTTP/1.1" ? 1 : 0;
  auto offer = ws::checkUpgrade("GET", minor, headers);
  c.in.erase(0, head_end);
  if (!offer) {
    ++counters_.bad_requests;
    const std::string body = offer.error().message + "\n";
    c.out += "HTTP/1.1 " + std::to_string(offer.error().status) +
             " Bad Upgrade\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    c.close_after = true;
    const int fd = c.fd;
    flush(c);
    // Closed now when the answer is out, else by onWritable once it is.
    if (conns_[fd] && c.out_off == c.out.size()) closeConn(c);
    return;
  }
  ++counters_.ws_upgrades;
  ++counters_.ws_open;
  c.out += ws::switchingProtocolsHead(*offer);
  c.ws_reader = std::make_unique<ws::MessageReader>(ws::Peer::kClient, kMaxWsMessageBytes);
  c.ws_params = params;
  const int fd = c.fd;
  flush(c);
  if (!conns_[fd]) return;
  serveWebSocket(c);  // frames sent right behind the upgrade request
}

void FakeUpstream::closeWebSocket(Conn& c, ws::CloseCode code, std::string_view reason) {
  c.out += ws::buildFrame(ws::Opcode::kClose, ws::closePayload(code, reason));
  c.close_after = true;
  c.ws_waiting.clear();
  const int fd = c.fd;
  flush(c);
  if (conns_[fd] && c.out_off == c.out.size()) closeConn(c);
}

void FakeUpstream::serveWebSocket(Conn& c) {
  if (c.close_after) return;  // our close frame is on its way; nothing more is read
  if (!c.in.empty()) {
    c.ws_reader->feed(c.in);
    c.in.clear();
  }
  ws::Message m;
  for (;;) {
    const auto st = c.ws_reader->next(m);
    if (st == ws::MessageReader::Status::kNeedMore) break;
    if (st == ws::MessageReader::Status::kError) {
      ++counters_.ws_protocol_errors;
      closeWebSocket(c, c.ws_reader->errorCode(), c.ws_reader->errorReason());
      return;
    }
    if (m.opcode == ws::Opcode::kPing) {
      c.out += ws::buildFrame(ws::Opcode::kPong, m.payload);
    } else if (m.opcode == ws::Opcode::kClose) {
      closeWebSocket(c, ws::CloseCode::kNormal, {});
      return;
    } else if (m.opcode == ws::Opcode::kText) {
      // Bounded: a client that sends turns faster than they are answered is cut off.
      if (c.ws_waiting.size() >= kMaxQueuedWsMessages) {
        closeWebSocket(c, ws::CloseCode::kPolicyViolation, "too many queued messages");
        return;
      }
      c.ws_waiting.push_back(std::move(m.payload));
    }
  }
  const int fd = c.fd;
  while (conns_[fd] && !c.responding && !c.ws_waiting.empty()) {
    const std::string message = std::move(c.ws_waiting.front());
    c.ws_waiting.erase(c.ws_waiting.begin());
    if (message.find("\"type\":\"response.create\"") == std::string::npos) {
      c.out += ws::buildFrame(ws::Opcode::kText,
                              "{\"type\":\"error\",\"status\":400,\"error\":{\"type\":\"invalid_request_error\","
                              "\"message\":\"the bench upstream answers response.create only\"}}");
      continue;
    }
    Params params = c.ws_params;
    const std::size_t field = message.find("\"x-codex-bench\":\"");
    if (field != std::string::npos) {
      const std::size_t from = field + 17;
      params = parseParams(std::string_view(message).substr(from, message.find('"', from) - from));
    }
    startResponse(c, params, false);
  }
  if (conns_[fd]) flush(c);
}

std::string FakeUpstream::responseObject(const Conn& c, bool completed) const {
  // The fields of the real backend's response object (tests/fixtures/responses/text.sse), so
  // the proxy's collapse parses and copies as much as it would in production.
  std::string s = "{\"id\":\"resp_bench" + std::to_string(c.response_no) +
                  "\",\"object\":\"response\",\"created_at\":1761300000,\"status\":\"";
  s += completed ? "completed" : "in_progress";
  s += "\",\"background\":false,\"error\":null,\"incomplete_details\":null,\"instructions\":\"You are a helpful "
       "assistant.\",\"max_output_tokens\":null,\"max_tool_calls\":null,\"model\":\"gpt-5.5\",\"output\":[],"
       "\"parallel_tool_calls\":true,\"previous_response_id\":null,\"prompt_cache_key\":\"019a1f2e-7c4b-5d3e-8f10-"
       "2a3b4c5d6e7f\",\"reasoning\":{\"effort\":\"medium\",\"summary\":null},\"safety_identifier\":null,"
       "\"service_tier\":\"auto\",\"store\":false,\"temperature\":1.0,\"text\":{\"format\":{\"type\":\"text\"},"
       "\"verbosity\":\"medium\"},\"tool_choice\":\"auto\",\"tools\":[],\"top_logprobs\":0,\"top_p\":1.0,"
       "\"truncation\":\"disabled\",\"usage\":";
  if (completed) {
    s += "{\"input_tokens\":25,\"input_tokens_details\":{\"cached_tokens\":8},\"output_tokens\":" +
         std::to_string(c.params.deltas + 1) + ",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":" +
         std::to_string(c.params.deltas + 26) + "}";
  } else {
    s += "null";
  }
  s += ",\"user\":null,\"metadata\":{}}";
  return s;
}

void FakeUpstream::appendEvent(Conn& c, std::string_view type, const std::string& json, std::int64_t stamp) {
  if (c.ws_reader) {
    // One event, one text frame: the JSON alone (a frame has no room for the SSE comment, so
    // only the deltas carry the stamp, inside their text).
    c.out += ws::buildFrame(ws::Opcode::kText, json);
    ++c.seq;
    ++counters_.events_sent;
    return;
  }
  char stamp_line[48];
  int sl = std::snprintf(stamp_line, sizeof stamp_line, ": t=%lld\n", static_cast<long long>(stamp));
  std::size_t size = static_cast<std::size_t>(sl) + 7 + type.size() + 1 + 6 + json.size() + 2;
  char hex[24];
  int hl = std::snprintf(hex, sizeof hex, "%zx\r\n", size);
  c.out.append(hex, static_cast<std::size_t>(hl));
  c.out.append(stamp_line, static_cast<std::size_t>(sl));
  c.out += "event: ";
  c.out += type;
  c.out += "\ndata: ";
  c.out += json;
  c.out += "\n\n\r\n";
  ++c.seq;
  ++counters_.events_sent;
}

void FakeUpstream::startResponse(Conn& c, const Params& params, bool close_after) {
  ++counters_.requests;
  ++counters_.active_streams;
  if (counters_.active_streams > counters_.peak_streams) counters_.peak_streams = counters_.active_streams;
  c.responding = true;
  c.close_after = close_after;
  c.params = params;
  c.next_delta = 0;
  c.seq = 0;
  c.text.clear();
  c.response_no = next_response_++;
  c.start_ns = monoNs();

  if (!c.ws_reader) {
    c.out +=
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
        "x-codex-primary-used-percent: 12\r\nx-codex-primary-window-minutes: 300\r\n";
    if (close_after) c.out += "Connection: close\r\n";
    c.out += "\r\n";
  }
  const std::int64_t now = monoNs();
  const std::string item_id = "msg_bench" + std::to_string(c.response_no);
  appendEvent(c, "response.created",
              "{\"type\":\"response.created\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"response\":" + responseObject(c, false) + "}",
              now);
  appendEvent(c, "response.in_progress",
              "{\"type\":\"response.in_progress\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"response\":" + responseObject(c, false) + "}",
              now);
  appendEvent(c, "response.output_item.added",
              "{\"type\":\"response.output_item.added\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"output_index\":0,\"item\":{\"id\":\"" + item_id +
                  "\",\"type\":\"message\",\"status\":\"in_progress\",\"content\":[],\"role\":\"assistant\"}}",
              now);
  appendEvent(c, "response.content_part.added",
              "{\"type\":\"response.content_part.added\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"item_id\":\"" + item_id +
                  "\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"annotations\":[],"
                  "\"logprobs\":[],\"text\":\"\"}}",
              now);
  sendDue(c);
}

// Appends every delta that is due (all of them when iv=0), the tail after the last one, sends,
// and schedules the next delta.
void FakeUpstream::sendDue(Conn& c) {
  const std::string item_id = "msg_bench" + std::to_string(c.response_no);
  const std::int64_t iv_ns = static_cast<std::int64_t>(c.params.interval_ms) * 1'000'000;
  std::int64_t now = monoNs();
  while (c.next_delta < c.params.deltas) {
    const std::int64_t due = c.start_ns + iv_ns * (c.next_delta + 1);
    if (iv_ns > 0 && due > now) break;
    char delta[64];
    int dl = std::snprintf(delta, sizeof delta, "t=%lld tok%d ", static_cast<long long>(now), c.next_delta);
    c.text.append(delta, static_cast<std::size_t>(dl));
    appendEvent(c, "response.output_text.delta",
                "{\"type\":\"response.output_text.delta\",\"sequence_number\":" + std::to_string(c.seq) +
                    ",\"item_id\":\"" + item_id + "\",\"output_index\":0,\"content_index\":0,\"delta\":\"" +
                    std::string(delta, static_cast<std::size_t>(dl)) + "\",\"logprobs\":[]}",
                now);
    ++c.next_delta;
    now = monoNs();
  }
  if (c.next_delta >= c.params.deltas) {
    finishResponse(c);
    return;
  }
  timers_.push(Timer{c.start_ns + iv_ns * (c.next_delta + 1), c.fd, c.gen});
  flush(c);
}

void FakeUpstream::finishResponse(Conn& c) {
  const std::string item_id = "msg_bench" + std::to_string(c.response_no);
  const std::int64_t now = monoNs();
  const std::string part = "{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"" + c.text + "\"}";
  appendEvent(c, "response.output_text.done",
              "{\"type\":\"response.output_text.done\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"item_id\":\"" + item_id + "\",\"output_index\":0,\"content_index\":0,\"text\":\"" + c.text +
                  "\",\"logprobs\":[]}",
              now);
  appendEvent(c, "response.content_part.done",
              "{\"type\":\"response.content_part.done\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"item_id\":\"" + item_id + "\",\"output_index\":0,\"content_index\":0,\"part\":" + part + "}",
              now);
  appendEvent(c, "response.output_item.done",
              "{\"type\":\"response.output_item.done\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"output_index\":0,\"item\":{\"id\":\"" + item_id +
                  "\",\"type\":\"message\",\"status\":\"completed\",\"content\":[" + part +
                  "],\"role\":\"assistant\"}}",
              now);
  appendEvent(c, "response.completed",
              "{\"type\":\"response.completed\",\"sequence_number\":" + std::to_string(c.seq) +
                  ",\"response\":" + responseObject(c, true) + "}",
              now);
  if (!c.ws_reader) c.out += "0\r\n\r\n";
  c.responding = false;
  --counters_.active_streams;
  ++counters_.completed;
  const int fd = c.fd;
  flush(c);
  if (!conns_[fd]) return;
  if (c.close_after) {
    if (c.out_off == c.out.size()) closeConn(c);
    return;
  }
  if (c.ws_reader)
    serveWebSocket(c);  // a message that arrived during this response
  else
    serveBuffered(c);  // a pipelined next request
}

void FakeUpstream::flush(Conn& c) {
  if (!sendPending(c.fd, c.out, c.out_off)) {
    ++counters_.write_errors;
    closeConn(c);
    return;
  }
  epoll_data_t data{};
  data.fd = c.fd;
  watchWritable(ep_, c.fd, data, c.out_off < c.out.size(), c.epollout);
}

void FakeUpstream::onWritable(Conn& c) {
  const int fd = c.fd;
  flush(c);
  if (!conns_[fd]) return;
  if (c.out_off == c.out.size()) {
    if (!c.responding && c.close_after) {
      closeConn(c);
      return;
    }
    if (c.ws_reader)
      serveWebSocket(c);
    else
      serveBuffered(c);
  }
}

void FakeUpstream::onTimer() {
  const std::int64_t now = monoNs();
  while (!timers_.empty() && timers_.top().due <= now) {
    Timer t = timers_.top();
    timers_.pop();
    if (t.fd < 0 || static_cast<std::size_t>(t.fd) >= conns_.size() || !conns_[t.fd]) continue;
    Conn& c = *conns_[t.fd];
    if (c.gen != t.gen || !c.responding) continue;
    sendDue(c);
  }
}

void FakeUpstream::armTimer() {
  if (timers_.empty()) return;
  armTimerFd(timer_fd_, timers_.top().due, armed_);
}

}  // namespace
}  // namespace cosp::bench

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--host")
      host = argv[i + 1];
    else if (flag == "--port")
      port = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--host ADDR] [--port N]\n", argv[0]);
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  cosp::bench::FakeUpstream server;
  if (!server.listen(host, port)) {
    std::fprintf(stderr, "cosp-bench-upstream: cannot listen on %s:%d: %s\n", host.c_str(), port, std::strerror(errno));
    return 1;
  }
  std::printf("LISTENING %d\n", server.port());
  std::fflush(stdout);
  return server.run();
}
