#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "common/util/result.h"

namespace cosp::supervisor {

// One piece of work at a time on a background thread off the supervisor's loop thread, so a
// remote end that hangs never blocks the loop (the token refresh, the catalog fetch). start()
// runs Options::work on an Input; its completion makes eventFd() readable; take() then hands its
// Outcome over on the loop thread. Every member is called on the loop thread.
template <typename Input, typename Outcome>
class BackgroundJob {
 public:
  struct Options {
    std::string name;  // what runs, for the error text when no thread can be started
    // At destruction: how long an in-flight piece of work may still finish before cancel() (0 =
    // cancel at once), then how long the thread has to notice the cancel before it is detached.
    std::chrono::milliseconds grace{0};
    std::chrono::milliseconds abort{0};
    std::function<void()> cancel;  // makes the in-flight work return promptly (HttpTransport::cancel)
    // The work. Each thread gets its own copy, so what it captures (the transport) is co-owned by
    // the thread and outlives a job destroyed while the thread is still stuck.
    std::function<Outcome(const Input&)> work;
    // The outcome of work that threw; `what` says what went wrong (no secrets).
    Outcome (*failed)(const std::string& what) = nullptr;
  };

  // Errors: the eventfd cannot be created (a system error, not the operator's).
  static common::Result<std::unique_ptr<BackgroundJob>, std::string> create(Options options) {
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return std::string("eventfd: ") + std::strerror(errno);
    return std::unique_ptr<BackgroundJob>(new BackgroundJob(std::move(options), std::make_shared<Shared>(fd)));
  }

  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;
  // Returns within grace + abort even while the work hangs: a thread still stuck after cancel()
  // (e.g. in connect(), which cancel() cannot interrupt) is detached. That is safe because it
  // co-owns everything it touches: the Shared state and whatever its work captured.
  ~BackgroundJob() {
    if (!thread_.joinable()) return;
    bool finished = waitDone(options_.grace);
    if (!finished) {
      options_.cancel();
      finished = waitDone(options_.abort);
    }
    if (finished) {
      thread_.join();
    } else {
      thread_.detach();
    }
  }

  int eventFd() const { return shared_->event_fd; }

  // Starts the work on `input` (moved to the thread); the previous outcome must have been taken.
  // An error text when no thread could be started (nothing runs then).
  std::optional<std::string> start(Input input) {
    if (thread_.joinable()) thread_.join();  // a finished job whose outcome was already taken
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->done = false;
      shared_->outcome.reset();
    }
    try {
      thread_ = std::thread(&BackgroundJob::run, shared_, options_.work, options_.failed, std::move(input));
    } catch (const std::system_error& e) {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->done = true;
      return "cannot start the " + options_.name + " thread: " + e.what();
    }
    return std::nullopt;
  }

  // After eventFd() turned readable: the finished work's outcome; nullopt on a spurious wake-up.
  std::optional<Outcome> take() {
    uint64_t counter = 0;
    if (::read(shared_->event_fd, &counter, sizeof counter) < 0) {
      // EAGAIN: spurious wake-up; the outcome slot below decides.
    }
    std::optional<Outcome> outcome;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      outcome.swap(shared_->outcome);
    }
    if (outcome && thread_.joinable()) thread_.join();  // it has delivered; only its return is left
    return outcome;
  }

 private:
  // Co-owned by the job and its thread, so a thread detached at shutdown never touches freed
  // memory or writes to a closed (and possibly reused) descriptor.
  struct Shared {
    explicit Shared(int fd) : event_fd(fd) {}
    ~Shared() { ::close(event_fd); }
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;

    const int event_fd;
    std::mutex mu;
    std::condition_variable cv;
    bool done = true;
    std::optional<Outcome> outcome;
  };

  BackgroundJob(Options options, std::shared_ptr<Shared> shared)
      : options_(std::move(options)), shared_(std::move(shared)) {}

  bool waitDone(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(shared_->mu);
    return shared_->cv.wait_for(lock, timeout, [&] { return shared_->done; });
  }

  // The thread. std::thread inherits the creating thread's signal mask; the supervisor blocks its
  // handled signals before starting any thread (docs/ARCHITECTURE.md §6.11) and ignores SIGPIPE
  // process-wide (§6.10), so this thread neither steals signals nor dies on a reset.
  static void run(std::shared_ptr<Shared> shared, std::function<Outcome(const Input&)> work,
                  Outcome (*failed)(const std::string&), Input input) {
    std::optional<Outcome> outcome;
    try {
      outcome.emplace(work(input));
    } catch (const std::exception& e) {
      outcome.emplace(failed(e.what()));
    } catch (...) {
      outcome.emplace(failed("unknown error"));
    }
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->outcome = std::move(outcome);
      shared->done = true;
    }
    shared->cv.notify_all();
    const uint64_t one = 1;
    // EAGAIN only when the counter is saturated, in which case the fd is readable anyway.
    if (::write(shared->event_fd, &one, sizeof one) < 0) {
    }
  }

  Options options_;
  std::shared_ptr<Shared> shared_;  // eventfd + outcome slot, co-owned by the thread
  std::thread thread_;
};

}  // namespace cosp::supervisor
