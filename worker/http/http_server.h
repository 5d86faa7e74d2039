#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/os/unique_fd.h"
#include "worker/http/client_connection.h"
#include "worker/http/connection_threads.h"
#include "worker/http/http_handler.h"

namespace cosp::worker {

// The worker's HTTP/1.1 server on the inherited listening socket.
//
// Two kinds of work, two kinds of thread:
//  - one accept loop (epoll) owns every connection that is not inside a request: it accepts,
//    reads request heads, parses them strictly (request_head.h), enforces the head deadline,
//    keep-alive timeout and connection caps, and answers liveness probes itself. A connection
//    that trickles its head, or sits idle, costs a buffer, never a thread, so no number of them
//    can starve the requests that need threads;
//  - connection threads (connection_threads.h) run requests whose head is complete, one at a
//    time per connection, then hand the connection back to the loop.
//
// Why not POCO's HTTPServer / HTTPServerConnection: their request parsing cannot be made strict
// (RFC 2047 decoding of every header, lines without a colon dropped, "Name : value" accepted, a
// malformed chunk size read as the end of the body, any protocol version), the per-read receive
// timeout restarts at every byte so a head has no deadline, and every connection holds a thread
// from accept to close. Their accept loop also lacks SOCK_CLOEXEC, stops in 250 ms steps and
// drops queued connections on stop, which is what made a HUP reload lose requests.
class HttpServer {
 public:
  struct Options {
    int listen_fd = -1;  // inherited, non-blocking; owned by the server from now on
    int max_threads = 1024;
    int max_queued = 4096;
    int stack_size = 256 * 1024;
    int max_connections = 4096;          // open connections in this worker
    int max_connections_per_client = 0;  // per peer address; 0 = no cap
    int max_keep_alive_requests = 1000;
    std::size_t max_header_bytes = 64 * 1024;
    // All bytes that connections waiting for a head may hold together; beyond it the
    // longest-waiting ones are closed. Without it, MAX_CONNECTIONS unfinished heads of
    // MAX_HEADER_BYTES each would be 256 MiB per worker at the defaults.
    std::size_t parked_bytes_budget = 32 * 1024 * 1024;
    std::chrono::milliseconds head_timeout{10000};
    std::chrono::milliseconds keep_alive_timeout{5000};
    std::chrono::milliseconds send_timeout{60000};
    BodyLimits body;
    std::string server_name = "codex-sub-proxy";
    // Shared with the handlers: while true, answers carry Connection: close and connections
    // are not kept after their request.
    const std::atomic<bool>* draining = nullptr;
  };

  struct Stats {
    int64_t accepted = 0;
    int64_t refused = 0;        // no room: queue full, or nothing to evict at MAX_CONNECTIONS
    int64_t evicted = 0;        // idle connections closed to make room for new ones
    int64_t client_capped = 0;  // over MAX_CONNECTIONS_PER_CLIENT
    int64_t head_timeouts = 0;
    int64_t bad_requests = 0;  // heads refused by the parser
  };

  HttpServer(Options options, HttpHandler& handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Stop accepting and close our copy of the listening socket (other workers keep theirs).
  // Returns once no further connection will be accepted.
  void stopAccepting();
  // Wait until no connection is open, or the deadline passes. True when idle.
  bool waitIdle(std::chrono::steady_clock::time_point deadline);
  // Close connections that wait between requests, having served one (a drain). Ones that have
  // not yet sent their first request are left to it: their client expects an answer.
  void closeIdleConnections();
  // Shut down every open connection (the end of a drain, or a fast stop).
  void abortConnections();

  int openConnections() const { return open_connections_.load(); }
  int64_t acceptedConnections() const { return stats_.accepted.load(); }
  int64_t refusedConnections() const;
  Stats stats() const;

 private:
  struct AtomicStats {
    std::atomic<int64_t> accepted{0}, refused{0}, evicted{0}, client_capped{0}, head_timeouts{0}, bad_requests{0};
  };
  using Clock = ClientConnection::Clock;

  // Accept loop (one thread)
  void loop();
  void acceptBatch(int limit);
  void onReadable(ClientConnection* connection);
  void examineBuffer(ClientConnection* connection);
  void park(std::unique_ptr<ClientConnection> connection);
  void parkAfterRequest(std::unique_ptr<ClientConnection> connection);
  std::unique_ptr<ClientConnection> unpark(ClientConnection* connection);
  void close(std::unique_ptr<ClientConnection> connection);
  void refuse(ClientConnection* connection, int status, const std::string& why);
  void answerBeforeClosing(ClientConnection& connection, int status, std::string_view message,
                           std::string_view extra_headers = {});
  void answerInline(std::unique_ptr<ClientConnection> connection, RequestHead head);
  void sweepDeadlines();
  void enforceBudget(ClientConnection* keep);
  void takeReturned();
  void setListening(bool on);
  bool threadsFull() const;

  // Connection threads
  void serve(std::unique_ptr<ClientConnection>& connection);
  void handBack(std::unique_ptr<ClientConnection> connection, bool keep);
  std::optional<RequestHead> nextHeadOnThread(ClientConnection& connection);
  bool runRequest(ClientConnection& connection, RequestHead head, bool inline_answer);

  Options options_;
  const HeadLimits head_limits_;
  HttpHandler& handler_;
  common::UniqueFd listen_fd_;
  common::UniqueFd wake_fd_;
  common::UniqueFd epoll_fd_;
  std::thread loop_thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> accepting_{false};
  std::atomic<bool> close_idle_{false};
  std::atomic<bool> abort_all_{false};
  bool listening_ = false;                   // loop thread only: the listening socket is in the epoll set
  Clock::time_point accept_paused_until_{};  // loop thread only: after running out of descriptors
  std::atomic<int> open_connections_{0};
  std::atomic<int> busy_{0};  // connections handed to the threads, queued ones included
  AtomicStats stats_;

  // Loop thread only: parked connections, least recently parked first, and counts per client.
  std::list<ClientConnection*> parked_;
  std::unordered_map<ClientConnection*, std::unique_ptr<ClientConnection>> owned_;
  std::unordered_map<std::string, int> per_client_;
  std::vector<std::unique_ptr<ClientConnection>> graveyard_;  // closed during this loop turn
  std::size_t parked_bytes_ = 0;                              // buffered by parked connections, as of their last read

  // Connections the threads hand back (with whether to keep them), and the ones they hold.
  std::mutex handoff_mutex_;
  std::vector<std::pair<std::unique_ptr<ClientConnection>, bool>> returned_;
  std::unordered_set<ClientConnection*> in_threads_;

  std::mutex state_mutex_;
  std::condition_variable state_cv_;  // open_connections_ dropped, or the loop stopped accepting
  bool listen_closed_ = false;

  // Last member: destroyed first, so no connection thread outlives what it uses.
  std::unique_ptr<ConnectionThreads> threads_;
};

}  // namespace cosp::worker
