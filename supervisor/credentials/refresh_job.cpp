#include "supervisor/credentials/refresh_job.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>

#include "supervisor/credentials/credential_seed.h"

namespace cosp::supervisor {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kShutdownGrace{700};  // let an in-flight refresh land on disk
constexpr milliseconds kShutdownAbort{300};  // after cancel(): time for the thread to notice

}  // namespace

// Co-owned by the job and the refresh thread, so a thread detached at shutdown never touches
// freed memory or writes to a closed (and possibly reused) descriptor.
struct RefreshJob::Shared {
  explicit Shared(int fd) : event_fd(fd) {}
  ~Shared() { ::close(event_fd); }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  const int event_fd;
  std::mutex mu;
  std::condition_variable cv;
  bool done = true;
  std::optional<RefreshOutcome> result;
};

common::Result<std::unique_ptr<RefreshJob>, std::string> RefreshJob::create(std::shared_ptr<HttpTransport> transport) {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return std::string("eventfd: ") + std::strerror(errno);
  return std::unique_ptr<RefreshJob>(new RefreshJob(std::move(transport), std::make_shared<Shared>(fd)));
}

RefreshJob::RefreshJob(std::shared_ptr<HttpTransport> transport, std::shared_ptr<Shared> shared)
    : transport_(std::move(transport)), shared_(std::move(shared)) {}

RefreshJob::~RefreshJob() {
  if (!thread_.joinable()) return;
  bool finished;
  {
    std::unique_lock<std::mutex> lock(shared_->mu);
    finished = shared_->cv.wait_for(lock, kShutdownGrace, [&] { return shared_->done; });
  }
  if (!finished) {
    transport_->cancel();
    std::unique_lock<std::mutex> lock(shared_->mu);
    finished = shared_->cv.wait_for(lock, kShutdownAbort, [&] { return shared_->done; });
  }
  if (finished) {
    thread_.join();
  } else {
    // Still stuck (e.g. in connect(), which cancel() cannot interrupt). The thread co-owns
    // everything it touches (shared_, transport_, its input), so letting it run out is safe.
    thread_.detach();
  }
}

int RefreshJob::eventFd() const { return shared_->event_fd; }

// The refresh thread. std::thread inherits the creating thread's signal mask; the supervisor
// blocks its handled signals before starting any thread (docs/ARCHITECTURE.md §6.11) and ignores
// SIGPIPE process-wide (§6.10), so this thread neither steals signals nor dies on a reset.
void RefreshJob::run(std::shared_ptr<Shared> shared, std::shared_ptr<HttpTransport> transport, RefreshInput input) {
  RefreshOutcome result;
  try {
    auto outcome = refreshTokens(*transport, input.auth_base_url, input.creds.refresh_token);
    if (outcome.ok()) {
      result.ok = true;
      result.next = applyTokens(input.creds, outcome.value(), input.started_ms, input.account_override);
      // Persist BEFORE the loop thread hands the new access token out: the server has already
      // invalidated the old refresh token, so a crash after hand-out but before the write would
      // strand the service on a dead token.
      if (input.store) {
        result.store_attempted = true;
        result.store_error = input.store->save(result.next);
      }
    } else {
      result.failure = outcome.error();
    }
  } catch (const std::exception& e) {
    result.ok = false;
    result.failure = OAuthFailure{FailureKind::Transient, 0, {}, std::string("refresh failed: ") + e.what(), {}};
  } catch (...) {
    result.ok = false;
    result.failure = OAuthFailure{FailureKind::Transient, 0, {}, "refresh failed: unknown error", {}};
  }
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->result = std::move(result);
    shared->done = true;
  }
  shared->cv.notify_all();
  const uint64_t one = 1;
  // EAGAIN only when the counter is saturated, in which case the fd is readable anyway.
  if (::write(shared->event_fd, &one, sizeof one) < 0) {
  }
}

std::optional<std::string> RefreshJob::start(RefreshInput input) {
  if (thread_.joinable()) thread_.join();  // a finished job whose result was already taken
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->done = false;
    shared_->result.reset();
  }
  try {
    thread_ = std::thread(&RefreshJob::run, shared_, transport_, std::move(input));
  } catch (const std::system_error& e) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->done = true;
    return std::string("cannot start refresh thread: ") + e.what();
  }
  return std::nullopt;
}

std::optional<RefreshOutcome> RefreshJob::take() {
  uint64_t counter = 0;
  if (::read(shared_->event_fd, &counter, sizeof counter) < 0) {
    // EAGAIN: spurious wake-up; the result slot below decides.
  }
  std::optional<RefreshOutcome> result;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    result.swap(shared_->result);
  }
  if (result && thread_.joinable()) thread_.join();  // it has delivered; only its return is left
  return result;
}

}  // namespace cosp::supervisor
