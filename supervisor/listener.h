#pragma once

#include <string>

#include "common/config/config.h"
#include "common/os/unique_fd.h"

namespace cosp::supervisor {

// The HTTP listening socket every worker inherits. Either bound here once, or taken from systemd
// socket activation (LISTEN_FDS), in which case HOST/PORT are not used and reloads keep it.
class Listener {
 public:
  // Throws std::runtime_error with a message naming the address on failure.
  static Listener open(const common::Config& config);

  int fd() const { return fd_.get(); }
  bool fromSystemd() const { return from_systemd_; }
  const std::string& address() const { return address_; }
  // True when `config` asks for a different address than this listener serves.
  bool differsFrom(const common::Config& config) const;
  void close() { fd_.reset(); }

 private:
  common::UniqueFd fd_;
  bool from_systemd_ = false;
  std::string address_;
  std::string host_;
  uint16_t port_ = 0;
};

}  // namespace cosp::supervisor
