#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "common/os/unique_fd.h"
#include "worker/http/connection_registry.h"
#include "worker/http/connection_threads.h"

namespace cosp::worker {

// POCO's HTTPServerConnection (request parsing, keep-alive, chunked responses) on our own
// connection threads, fed by our own accept loop on the inherited listening socket.
//
// Why not Poco::Net::HTTPServer itself: with a listening socket shared by several processes its
// accept loop is the source of most of ARCHITECTURE §5's traps. Owning the loop removes them:
//  - POCO 1.11 cannot adopt an inherited fd (#2): we never need a ServerSocket;
//  - its accept() lacks SOCK_CLOEXEC (#12): we use accept4(SOCK_CLOEXEC);
//  - stop() polls in 250 ms steps (#20): an eventfd wakes our loop at once;
//  - TCPServer::stop() joins the acceptor and then TCPServerDispatcher::stop() clears the queue,
//    dropping a connection accepted in between without a reply. We stop accepting first and let
//    the queue empty, which is what makes a HUP reload lose zero connections (#8);
//  - accepted sockets get TCP_NODELAY and SO_SNDTIMEO here (#4: POCO sets no send timeout), and
//    a socket class without POCO's per-call epoll (lean_socket.h);
//  - a worker whose every thread is taken stops accepting, so the connection waits in the shared
//    backlog for a worker with room (accept() does not balance workers; POCO would queue it here
//    behind long streams);
//  - POCO's dispatcher and thread pool stall the accept loop (connection_threads.h).
class HttpServer {
 public:
  struct Options {
    int listen_fd = -1;  // inherited, non-blocking (§5 #1); owned by the server from now on
    int max_threads = 1024;
    int max_queued = 4096;
    int stack_size = 256 * 1024;
    std::chrono::seconds keep_alive_timeout{5};
    std::chrono::seconds receive_timeout{60};
    std::chrono::seconds send_timeout{60};
    std::string server_name = "codex-sub-proxy";
  };

  HttpServer(Options options, Poco::Net::HTTPRequestHandlerFactory::Ptr factory, ConnectionRegistry& registry);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Stop accepting and close our copy of the listening socket (other workers keep theirs).
  void stopAccepting();
  // Wait until no connection is open, or the deadline passes. True when idle.
  bool waitIdle(std::chrono::steady_clock::time_point deadline);
  // Close keep-alive connections that sit between requests (see ConnectionRegistry::closeIdle).
  int closeIdleConnections() { return registry_.closeIdle(); }
  // Shut down every open connection (the end of a drain, or a fast stop).
  void abortConnections() { registry_.closeAll(); }

  int openConnections() const { return open_connections_.load(); }
  int64_t acceptedConnections() const { return accepted_.load(); }
  int64_t refusedConnections() const;

 private:
  void acceptLoop();
  void connectionClosed(const Poco::Net::StreamSocket& socket);
  bool full() const { return open_connections_.load() >= options_.max_threads; }
  void serve(Poco::Net::StreamSocket& socket);

  Options options_;
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  common::UniqueFd listen_fd_;
  common::UniqueFd wake_fd_;
  std::thread acceptor_;
  std::atomic<bool> accepting_{false};
  std::atomic<int> open_connections_{0};
  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> refused_{0};
  ConnectionRegistry& registry_;
  // Accepted and not yet finished, queued ones included (the registry only sees connections a
  // connection thread has picked up); the drain waits on this.
  std::mutex count_mutex_;
  std::condition_variable idle_cv_;
  // Last member: destroyed first, so no connection thread outlives what it uses.
  std::unique_ptr<ConnectionThreads> threads_;
};

}  // namespace cosp::worker
