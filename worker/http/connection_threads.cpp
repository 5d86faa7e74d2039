#include "worker/http/connection_threads.h"

#include <pthread.h>

#include <cstring>
#include <exception>

#include "common/log/log.h"

namespace cosp::worker {

ConnectionThreads::ConnectionThreads(Options options, Serve serve) : options_(options), serve_(std::move(serve)) {}

ConnectionThreads::~ConnectionThreads() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopping_ = true;
  queue_.clear();  // closes the sockets nobody started to serve
  work_cv_.notify_all();
  // Unbounded, like the thread joins it replaces: a thread still here is inside `serve`, which
  // touches objects this pool's owner is about to destroy.
  exit_cv_.wait(lock, [this] { return threads_ == 0; });
}

bool ConnectionThreads::submit(std::unique_ptr<ClientConnection>& connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Threads not inside serve() are idle or just starting: each takes one queued connection.
    // Only what waits beyond them counts against max_queued.
    const int takers = threads_ - busy_;
    const int waiting = static_cast<int>(queue_.size()) - takers;
    if (stopping_ || waiting >= options_.max_queued) return false;
    queue_.push_back(std::move(connection));
    const bool a_taker_is_free = static_cast<int>(queue_.size()) <= takers;
    if (a_taker_is_free || threads_ >= options_.max_threads) {
      work_cv_.notify_one();
      return true;  // an idle or starting thread, or the next thread to finish, takes it
    }
    ++threads_;  // counted before it runs, so a burst starts one thread per connection
  }
  startThread();
  std::lock_guard<std::mutex> lock(mutex_);
  if (threads_ > 0 || queue_.empty()) return true;
  // The thread did not start and none is left to take the connection: hand it back.
  connection = std::move(queue_.back());
  queue_.pop_back();
  return false;
}

void ConnectionThreads::startThread() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, options_.stack_size);
  // Detached: a leaving thread frees its own stack; nobody has to join it (see the header).
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t id;
  // The new thread inherits this thread's signal mask: every signal blocked, as in the worker's
  // main thread, so none of them is delivered here instead of to the main loop's signalfd.
  const int rc = pthread_create(
      &id, &attr,
      [](void* self) -> void* {
        static_cast<ConnectionThreads*>(self)->threadMain();
        return nullptr;
      },
      this);
  pthread_attr_destroy(&attr);
  if (rc == 0) return;
  common::logError("connection_thread_failed").field("error", std::strerror(rc));
  std::lock_guard<std::mutex> lock(mutex_);
  --threads_;
  ++start_failures_;
  exit_cv_.notify_all();
}

void ConnectionThreads::threadMain() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    const bool woken = work_cv_.wait_for(lock, options_.idle_exit, [this] { return !queue_.empty() || stopping_; });
    --idle_;
    if (!woken || queue_.empty()) break;  // idle too long, or stopping
    std::unique_ptr<ClientConnection> connection = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    try {
      serve_(connection);
    } catch (const std::exception& e) {
      common::logError("connection_failed").field("error", e.what());
    } catch (...) {
      common::logError("connection_failed").field("error", "unknown exception");
    }
    connection.reset();  // closes it unless serve_ handed it on; never kept while idle
    lock.lock();
    --busy_;
  }
  --threads_;
  // Notified under the lock: the destructor may return (and free this object) the moment it
  // sees threads_ == 0, so nothing here may touch `this` after the lock is released.
  exit_cv_.notify_all();
}

ConnectionThreads::Stats ConnectionThreads::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {threads_, busy_, idle_, queue_.size(), start_failures_};
}

}  // namespace cosp::worker
