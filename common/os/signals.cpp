#include "common/os/signals.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cosp::common {

namespace {
sigset_t makeSet(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  return set;
}
}  // namespace

void ignoreSigpipe() { ::signal(SIGPIPE, SIG_IGN); }

void blockSignals(std::initializer_list<int> signals) {
  sigset_t set = makeSet(signals);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalFd::SignalFd(std::initializer_list<int> signals) {
  sigset_t set = makeSet(signals);
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
  fd_.reset(fd);
}

std::optional<int> SignalFd::read() {
  signalfd_siginfo info;
  for (;;) {
    ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return std::nullopt;
  }
}

}  // namespace cosp::common
