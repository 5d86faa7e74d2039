#pragma once

#include "supervisor/credential_provider.h"

namespace cosp::supervisor {

// Credentials exactly as configured (OPENAI_ACCESS_TOKEN, OPENAI_EXPIRES_AT,
// OPENAI_CHATGPT_ACCOUNT_ID), without refreshing. A worker's 401 report re-sends what is held
// under a new generation so the worker's single retry can proceed.
class StaticCredentials : public CredentialProvider {
 public:
  explicit StaticCredentials(const common::Config& config);

  int eventFd() const override { return -1; }
  void onEvent() override {}
  std::optional<std::chrono::steady_clock::time_point> nextDeadline() const override { return std::nullopt; }
  void onTick() override {}
  const common::WorkerCredentials& current() const override { return current_; }
  void reportUnauthorized(uint64_t generation) override;
  void forceRefresh() override;
  std::string statusJson() const override;

 private:
  common::WorkerCredentials current_;
  int64_t unauthorized_reports_ = 0;
};

}  // namespace cosp::supervisor
