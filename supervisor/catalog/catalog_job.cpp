#include "supervisor/catalog/catalog_job.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>

namespace cosp::supervisor {

namespace {

constexpr std::chrono::milliseconds kShutdownAbort{500};  // after cancel(): time for the thread to notice

}  // namespace

// Co-owned by the job and the fetch thread, so a thread detached at shutdown never touches freed
// memory or writes to a closed (and possibly reused) descriptor.
struct CatalogJob::Shared {
  explicit Shared(int fd) : event_fd(fd) {}
  ~Shared() { ::close(event_fd); }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  const int event_fd;
  std::mutex mu;
  std::condition_variable cv;
  bool done = true;
  std::optional<CatalogFetchResult> result;
};

common::Result<std::unique_ptr<CatalogJob>, std::string> CatalogJob::create(std::shared_ptr<HttpTransport> transport) {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return std::string("eventfd: ") + std::strerror(errno);
  return std::unique_ptr<CatalogJob>(new CatalogJob(std::move(transport), std::make_shared<Shared>(fd)));
}

CatalogJob::CatalogJob(std::shared_ptr<HttpTransport> transport, std::shared_ptr<Shared> shared)
    : transport_(std::move(transport)), shared_(std::move(shared)) {}

CatalogJob::~CatalogJob() {
  if (!thread_.joinable()) return;
  transport_->cancel();
  bool finished;
  {
    std::unique_lock<std::mutex> lock(shared_->mu);
    finished = shared_->cv.wait_for(lock, kShutdownAbort, [&] { return shared_->done; });
  }
  if (finished) {
    thread_.join();
  } else {
    thread_.detach();  // co-owns shared_, transport_ and its request: safe to let it run out
  }
}

int CatalogJob::eventFd() const { return shared_->event_fd; }

// The fetch thread. Like the refresh thread (refresh_job.cpp) it inherits the loop thread's
// blocked signals (docs/ARCHITECTURE.md §6.11) and SIGPIPE is ignored process-wide (§6.10).
void CatalogJob::run(std::shared_ptr<Shared> shared, std::shared_ptr<HttpTransport> transport,
                     CatalogFetchRequest request) {
  CatalogFetchResult result;
  try {
    result = fetchCatalog(*transport, request);
  } catch (const std::exception& e) {
    result.kind = CatalogFetchResult::Kind::Failed;
    result.error = std::string("catalog fetch failed: ") + e.what();
  } catch (...) {
    result.kind = CatalogFetchResult::Kind::Failed;
    result.error = "catalog fetch failed: unknown error";
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

std::optional<std::string> CatalogJob::start(CatalogFetchRequest request) {
  if (thread_.joinable()) thread_.join();  // a finished job whose result was already taken
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->done = false;
    shared_->result.reset();
  }
  try {
    thread_ = std::thread(&CatalogJob::run, shared_, transport_, std::move(request));
  } catch (const std::system_error& e) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->done = true;
    return std::string("cannot start the catalog thread: ") + e.what();
  }
  return std::nullopt;
}

std::optional<CatalogFetchResult> CatalogJob::take() {
  uint64_t counter = 0;
  if (::read(shared_->event_fd, &counter, sizeof counter) < 0) {
    // EAGAIN: spurious wake-up; the result slot below decides.
  }
  std::optional<CatalogFetchResult> result;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    result.swap(shared_->result);
  }
  if (result && thread_.joinable()) thread_.join();  // it has delivered; only its return is left
  return result;
}

}  // namespace cosp::supervisor
