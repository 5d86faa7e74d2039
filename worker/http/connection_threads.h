#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "worker/http/client_connection.h"

namespace cosp::worker {

// Runs `serve(socket)` for each submitted connection on a thread of its own: threads are
// started on demand up to `max_threads`, reused, and leave by themselves after `idle_exit`
// without work. With every thread busy, up to `max_queued` connections wait for one.
//
// Why not Poco::ThreadPool + TCPServerDispatcher: the accept loop calls into them, and
// POCO 1.11's pool (1) waits for every new thread to be running before it returns
// (PooledThread::start waits on _started) and (2) on every 32nd call runs housekeep(), which
// joins every thread idle longer than threadIdleTime, one by one, holding the pool mutex.
// Measured after a burst of 1,000 streams: the next burst's accept loop stood still for 1.2 s
// joining 846 threads (strace), while the other worker took every connection. Here submit()
// only queues, and at most starts a detached thread; exiting threads clean up after themselves.
class ConnectionThreads {
 public:
  struct Options {
    int max_threads = 1024;
    int max_queued = 4096;
    std::size_t stack_size = 256 * 1024;  // small explicit stacks keep thousands of threads cheap
    std::chrono::milliseconds idle_exit{2000};
  };
  using Serve = std::function<void(std::unique_ptr<ClientConnection>&)>;

  ConnectionThreads(Options options, Serve serve);
  // Drops queued connections (closing them) and waits for every thread to leave: the owner must
  // first make running `serve` calls return (ConnectionRegistry::closeAll()).
  ~ConnectionThreads();
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  // False when the queue is full (or the pool stops): `connection` is then left with the caller.
  // Called from one thread (the accept loop).
  bool submit(std::unique_ptr<ClientConnection>& connection);

  struct Stats {
    int threads = 0;  // alive: busy, idle or starting
    int busy = 0;     // inside serve()
    int idle = 0;     // waiting for a connection
    std::size_t queued = 0;
    int start_failures = 0;
  };
  Stats stats() const;

 private:
  void startThread();
  void threadMain();

  const Options options_;
  const Serve serve_;
  mutable std::mutex mutex_;
  std::condition_variable work_cv_;  // a connection was queued, or stopping
  std::condition_variable exit_cv_;  // a thread left
  std::deque<std::unique_ptr<ClientConnection>> queue_;
  int threads_ = 0;
  int busy_ = 0;
  int idle_ = 0;
  int start_failures_ = 0;
  bool stopping_ = false;
};

}  // namespace cosp::worker
