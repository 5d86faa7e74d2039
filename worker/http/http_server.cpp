#include "worker/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.h"

namespace cosp::worker {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kSweepEvery{250};
// A worker whose threads are all busy still accepts, but only this often: a worker with room
// polls the shared socket continuously and so takes nearly every new connection, while the full
// one still answers probes on the connections it does take.
constexpr milliseconds kFullAcceptEvery{100};
constexpr int kAcceptBatch = 64;
constexpr int kFullAcceptBatch = 16;
constexpr int kMaxEvents = 256;
// How long a connection thread waits for a client's next request before handing the connection
// back to the accept loop: long enough for a client that sends it as soon as it has its answer,
// short enough that a thread is never held by an idle client.
constexpr milliseconds kLinger{2};

// epoll tags for the two non-connection descriptors (connections carry their own pointer).
char listen_tag;
char wake_tag;

std::string addressText(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text, sizeof text);
  } else {
    return "local";
  }
  return text;
}

}  // namespace

HttpServer::HttpServer(Options options, HttpHandler& handler)
    : options_(std::move(options)), head_limits_{options_.max_header_bytes, 128}, handler_(handler) {
  listen_fd_.reset(options_.listen_fd);
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.ptr = &wake_tag;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &wake);

  ConnectionThreads::Options threads;
  threads.max_threads = options_.max_threads;
  threads.max_queued = options_.max_queued;
  threads.stack_size = static_cast<std::size_t>(options_.stack_size);  // small: thousands of streams
  threads.idle_exit = std::chrono::seconds(2);                         // spare threads leave quickly after a burst
  threads_ = std::make_unique<ConnectionThreads>(
      threads, [this](std::unique_ptr<ClientConnection>& connection) { serve(connection); });
}

HttpServer::~HttpServer() {
  stopAccepting();
  abortConnections();
  running_ = false;
  uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
  if (loop_thread_.joinable()) loop_thread_.join();
  threads_.reset();  // waits for the connection threads, which use this object until they end
}

void HttpServer::start() {
  running_ = true;
  accepting_ = true;
  loop_thread_ = std::thread([this] { loop(); });
}

void HttpServer::stopAccepting() {
  if (!accepting_.exchange(false)) return;
  uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
  std::unique_lock<std::mutex> lock(state_mutex_);
  // The loop closes the listening socket at its next turn, which is at once: it was just woken.
  state_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return listen_closed_ || !running_.load(); });
}

void HttpServer::closeIdleConnections() {
  close_idle_ = true;
  uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
}

void HttpServer::abortConnections() {
  abort_all_ = true;
  uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
  std::lock_guard<std::mutex> lock(handoff_mutex_);
  for (ClientConnection* c : in_threads_) c->shutdown();  // wakes a thread blocked on it
}

bool HttpServer::waitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(state_mutex_);
  return state_cv_.wait_until(lock, deadline, [this] { return open_connections_.load() <= 0; });
}

int64_t HttpServer::refusedConnections() const {
  return stats_.refused.load() + stats_.evicted.load() + stats_.client_capped.load();
}

HttpServer::Stats HttpServer::stats() const {
  return {stats_.accepted.load(),      stats_.refused.load(),       stats_.evicted.load(),
          stats_.client_capped.load(), stats_.head_timeouts.load(), stats_.bad_requests.load()};
}

bool HttpServer::threadsFull() const { return busy_.load() >= options_.max_threads; }

// ---- accept loop -------------------------------------------------------------------------------

void HttpServer::setListening(bool on) {
  if (on == listening_ || !listen_fd_) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_tag;
  ::epoll_ctl(epoll_fd_.get(), on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd_.get(), &ev);
  listening_ = on;
}

void HttpServer::loop() {
  epoll_event events[kMaxEvents];
  auto next_sweep = Clock::now() + kSweepEvery;
  auto next_full_accept = Clock::now();
  while (running_.load()) {
    if (!accepting_.load() && listen_fd_) {
      setListening(false);
      listen_fd_.reset();
      std::lock_guard<std::mutex> lock(state_mutex_);
      listen_closed_ = true;
      state_cv_.notify_all();
    }
    const bool full = threadsFull();
    const bool paused = Clock::now() < accept_paused_until_;
    if (accepting_.load()) setListening(!full && !paused);
    int timeout = parked_.empty() ? -1 : static_cast<int>(kSweepEvery.count());
    if (accepting_.load() && (full || paused)) timeout = static_cast<int>(kFullAcceptEvery.count());

    int n = ::epoll_wait(epoll_fd_.get(), events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) {
      common::logError("epoll_wait_failed").field("error", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &wake_tag) {
        uint64_t count;
        (void)::read(wake_fd_.get(), &count, sizeof count);
      } else if (tag == &listen_tag) {
        acceptBatch(kAcceptBatch);
      } else {
        onReadable(static_cast<ClientConnection*>(tag));
      }
    }
    takeReturned();
    if (close_idle_.exchange(false)) {
      for (auto it = parked_.begin(); it != parked_.end();) {
        ClientConnection* c = *it++;
        if (c->served > 0 && c->buffer().empty()) close(unpark(c));
      }
    }
    if (abort_all_.load()) {
      while (!parked_.empty()) close(unpark(parked_.front()));
    }
    const auto now = Clock::now();
    if (accepting_.load() && threadsFull() && now >= next_full_accept) {
      acceptBatch(kFullAcceptBatch);
      next_full_accept = now + kFullAcceptEvery;
    }
    if (now >= next_sweep) {
      sweepDeadlines();
      next_sweep = now + kSweepEvery;
    }
    graveyard_.clear();
  }
  while (!parked_.empty()) close(unpark(parked_.front()));
  graveyard_.clear();
  std::lock_guard<std::mutex> lock(state_mutex_);
  listen_closed_ = true;
  state_cv_.notify_all();
}

void HttpServer::acceptBatch(int limit) {
  if (!listen_fd_) return;
  const int one = 1;
  for (int i = 0; i < limit; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // EAGAIN: another worker won this connection (the shared socket is non-blocking).
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: give the oldest idle connection's back, or wait for one to close.
        if (!parked_.empty()) {
          stats_.evicted.fetch_add(1);
          close(unpark(parked_.front()));
          continue;
        }
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        // The listening socket stays readable: without a pause the loop would spin on it.
        common::logError("accept_failed").field("error", std::strerror(errno));
        accept_paused_until_ = Clock::now() + kFullAcceptEvery;
      }
      return;
    }
    stats_.accepted.fetch_add(1);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto connection = std::make_unique<ClientConnection>(fd, addressText(addr));
    if (options_.max_connections_per_client > 0) {
      auto it = per_client_.find(connection->peerAddress());
      if (it != per_client_.end() && it->second >= options_.max_connections_per_client) {
        if (stats_.client_capped.fetch_add(1) % 1000 == 0) {  // one line per 1,000: a flood must not flood the log
          common::logWarn("client_connection_cap")
              .field("client", connection->peerAddress())
              .field("limit", options_.max_connections_per_client);
        }
        continue;  // closed here, before a byte is read
      }
    }
    if (open_connections_.load() >= options_.max_connections) {
      if (parked_.empty()) {
        stats_.refused.fetch_add(1);
        continue;
      }
      // Full: the connection parked longest (idle keep-alive, or a head that is not coming)
      // makes room, as nginx reuses its idle keep-alive connections.
      stats_.evicted.fetch_add(1);
      close(unpark(parked_.front()));
    }
    open_connections_.fetch_add(1);
    ++per_client_[connection->peerAddress()];
    connection->deadline = connection->opened + options_.head_timeout;  // counted from accept
    park(std::move(connection));
  }
}

void HttpServer::takeReturned() {
  std::vector<std::pair<std::unique_ptr<ClientConnection>, bool>> returned;
  {
    std::lock_guard<std::mutex> lock(handoff_mutex_);
    returned.swap(returned_);
  }
  for (auto& [connection, keep] : returned) {
    if (!keep || abort_all_.load()) {
      close(std::move(connection));
      continue;
    }
    ClientConnection* c = connection.get();
    parkAfterRequest(std::move(connection));
    examineBuffer(c);  // a pipelined request may be complete already
  }
}

// ---- connection threads ------------------------------------------------------------------------

void HttpServer::serve(std::unique_ptr<ClientConnection>& connection) {
  bool keep = false;
  try {
    for (;;) {
      RequestHead head = std::move(*connection->pending_head);
      connection->pending_head.reset();
      keep = runRequest(*connection, std::move(head), false);
      if (!keep) break;
      auto next = nextHeadOnThread(*connection);
      if (!next) break;
      ++connection->served;  // the one handed back is counted by parkAfterRequest
      connection->pending_head = std::move(next);
    }
  } catch (const std::exception& e) {
    common::logError("connection_failed").field("error", e.what());
    keep = false;
  }
  handBack(std::move(connection), keep);
}

// The next request of a client that sends it at once (pipelined, or right after reading its
// answer, as SDKs and benchmarks do): served on this thread instead of two hand-overs through
// the accept loop, which cost two thread wake-ups (~50 µs each here) per request. Anything else
// (no complete head within kLinger, a head to refuse, the client gone) goes back to the loop,
// which owns deadlines and refusals.
std::optional<RequestHead> HttpServer::nextHeadOnThread(ClientConnection& connection) {
  const auto linger_until = Clock::now() + kLinger;
  for (;;) {
    std::string& buffer = connection.buffer();
    const std::size_t end = findHeadEnd(buffer, connection.scanned);
    if (end != std::string::npos) {
      HeadParse parse = parseRequestHead(std::string_view(buffer).substr(0, end), head_limits_);
      if (parse.status != HeadParse::Status::Complete) return std::nullopt;
      connection.consume(parse.consumed);
      connection.request_line_checked = false;
      return std::move(parse.head);
    }
    connection.scanned = buffer.size();
    if (buffer.size() > options_.max_header_bytes) return std::nullopt;
    if (connection.readUntil(linger_until) != ClientConnection::ReadResult::Data) return std::nullopt;
  }
}

void HttpServer::handBack(std::unique_ptr<ClientConnection> connection, bool keep) {
  {
    std::lock_guard<std::mutex> lock(handoff_mutex_);
    in_threads_.erase(connection.get());
    returned_.emplace_back(std::move(connection), keep);
  }
  busy_.fetch_sub(1);
  uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
}

// One request on `connection`; true when the connection may serve another.
bool HttpServer::runRequest(ClientConnection& connection, RequestHead head, bool inline_answer) {
  const bool head_only = head.method == "HEAD";
  const bool draining = options_.draining != nullptr && options_.draining->load();
  const bool may_keep = head.keep_alive && !draining && !connection.peerClosed() &&
                        connection.served + 1 < options_.max_keep_alive_requests;
  HttpRequest request(std::move(head), connection, options_.body);
  HttpResponse::Options response_options;
  // On the accept loop nothing may wait: a probe answer that does not fit the socket at once
  // ends that connection instead.
  response_options.send_timeout = inline_answer ? milliseconds(0) : options_.send_timeout;
  response_options.head_only = head_only;
  response_options.server_name = options_.server_name;
  response_options.keep_alive_seconds =
      static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(options_.keep_alive_timeout).count());
  HttpResponse response(connection, response_options);
  response.setKeepAlive(may_keep);
  handler_.handle(request, response);
  if (!response.sent()) return false;
  if (!response.finish()) return false;
  return response.getKeepAlive() && may_keep && request.bodyConsumed();
}

}  // namespace cosp::worker
