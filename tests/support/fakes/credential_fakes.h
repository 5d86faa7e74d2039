#pragma once

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "supervisor/credentials/clock.h"
#include "supervisor/credentials/credential_manager.h"
#include "supervisor/credentials/http_transport.h"
#include "tests/support/fakes/fake_clock.h"

// Fakes of the credential code's seams (supervisor/credentials/clock.h and http_transport.h):
// a clock the test moves (fake_clock.h) and a transport whose answers the test scripts.
namespace cosp::test {

// Transport whose answers the test scripts. post() blocks until an answer is queued (or the
// transport is cancelled), so a test controls exactly when a refresh completes.
class ScriptedTransport final : public supervisor::HttpTransport {
 public:
  struct Request {
    std::string url, content_type, body;
  };

  common::Result<supervisor::HttpReply, std::string> post(const std::string& url, const std::string& content_type,
                                                          const std::string& body) override {
    std::unique_lock<std::mutex> lock(mu_);
    requests_.push_back({url, content_type, body});
    cv_.notify_all();
    cv_.wait(lock, [&] { return cancelled_ || !replies_.empty(); });
    if (cancelled_) return std::string("cancelled");
    auto reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }
  void cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

  void reply(int status, std::string body, std::string retry_after = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(supervisor::HttpReply{status, std::move(body), std::move(retry_after)});
    cv_.notify_all();
  }
  void fail(std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(error));
    cv_.notify_all();
  }
  size_t calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  bool waitForCalls(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  std::deque<common::Result<supervisor::HttpReply, std::string>> replies_;
  bool cancelled_ = false;
};

// Waits (with a deadline) until the manager's event fd is readable, then lets it apply the result.
inline bool waitAndApply(supervisor::CredentialManager& mgr,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  pollfd pfd{mgr.eventFd(), POLLIN, 0};
  int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (n != 1) return false;
  mgr.onEvent();
  return true;
}

}  // namespace cosp::test
