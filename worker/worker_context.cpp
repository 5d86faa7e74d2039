#include "worker/worker_context.h"

namespace cosp::worker {

void WorkerMetrics::countResponse(int status) {
  if (status >= 500) ++responses_5xx;
  else if (status >= 400) ++responses_4xx;
  else if (status >= 300) ++responses_3xx;
  else ++responses_2xx;
}

common::WorkerCounters WorkerMetrics::snapshot() const {
  return {
      {"requests", requests.load()},
      {"responses_2xx", responses_2xx.load()},
      {"responses_3xx", responses_3xx.load()},
      {"responses_4xx", responses_4xx.load()},
      {"responses_5xx", responses_5xx.load()},
      {"active_requests", active_requests.load()},
      {"active_streams", active_streams.load()},
      {"bytes_out", bytes_out.load()},
      {"handler_exceptions", handler_exceptions.load()},
  };
}

std::shared_ptr<const common::WorkerCredentials> CredentialsCache::get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

void CredentialsCache::set(common::WorkerCredentials credentials) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::make_shared<const common::WorkerCredentials>(std::move(credentials));
  }
  changed_.notify_all();
}

std::shared_ptr<const common::WorkerCredentials> CredentialsCache::waitNewer(
    uint64_t generation, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_until(lock, deadline, [&] { return current_->generation > generation; })) return nullptr;
  return current_;
}

}  // namespace cosp::worker
