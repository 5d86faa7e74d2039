#pragma once

#include <signal.h>

#include <initializer_list>
#include <optional>

#include "common/os/unique_fd.h"

namespace cosp::common {

// Ignore SIGPIPE process-wide. POCO only blocks it in threads it creates (docs/ARCHITECTURE.md §6.10);
// SIG_IGN also survives exec, so workers inherit it.
void ignoreSigpipe();

// Block `signals` in the calling thread. Call in main() before any thread exists so every later
// thread inherits the mask and the signals are only ever consumed deliberately (docs/ARCHITECTURE.md §6.11).
void blockSignals(std::initializer_list<int> signals);

// A signalfd over the given (already blocked) signals, non-blocking and close-on-exec.
class SignalFd {
 public:
  explicit SignalFd(std::initializer_list<int> signals);
  int fd() const { return fd_.get(); }
  // Next pending signal number, or nullopt when none is queued.
  std::optional<int> read();

 private:
  UniqueFd fd_;
};

}  // namespace cosp::common
