#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "common/ipc/messages.h"
#include "common/json/json_value.h"

namespace cosp::supervisor {

// The credential figures the supervisor exports as metrics.
struct CredentialCounters {
  uint64_t refresh_ok = 0;
  uint64_t refresh_failed = 0;
  std::optional<int64_t> expires_in_s;  // nullopt while the expiry is unknown
};

// What the supervisor loop needs from whoever owns the upstream credentials. The loop polls
// eventFd() and calls onEvent() when it is readable, calls onTick() at nextDeadline(), and
// broadcasts current() to every worker whenever on_change fires. No method may block.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;

  virtual int eventFd() const = 0;  // -1 when there is nothing to poll
  virtual void onEvent() = 0;
  virtual std::optional<std::chrono::steady_clock::time_point> nextDeadline() const = 0;
  virtual void onTick() = 0;
  virtual const common::WorkerCredentials& current() const = 0;
  virtual void reportUnauthorized(uint64_t generation) = 0;
  // A worker's model call found no usable token in `generation` and waits for the next one.
  virtual void reportRefreshNeeded(uint64_t generation) = 0;
  virtual void forceRefresh() = 0;
  virtual CredentialCounters counters() const = 0;
  virtual common::JsonValue status() const = 0;  // a JSON object for `ctl status`, never containing a secret

  std::function<void()> on_change;
};

}  // namespace cosp::supervisor
