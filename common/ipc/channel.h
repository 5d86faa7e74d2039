#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "common/os/unique_fd.h"

namespace cosp::common {

// One end of the supervisor<->worker channel: an AF_UNIX SOCK_SEQPACKET socket, so every send is
// one whole message (no framing needed) and EOF reliably means the other process is gone
// (nginx's channel, unicorn's rule). Sends never raise SIGPIPE and never block; several threads
// may send on the same channel because each datagram is delivered atomically.
class Channel {
 public:
  static constexpr size_t kMaxMessageBytes = 256 * 1024;

  enum class Status { Message, WouldBlock, Closed, Error };

  // A connected pair, both ends close-on-exec.
  static std::pair<UniqueFd, UniqueFd> makePair();

  Channel() = default;
  explicit Channel(UniqueFd fd);

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  void close() { fd_.reset(); }

  // False when the message could not be queued (peer gone, buffer full, too large).
  bool send(std::string_view message) const;

  // Non-blocking receive of one message.
  Status receive(std::string& out) const;
  // Waits up to `timeout` for one message.
  Status receive(std::string& out, std::chrono::milliseconds timeout) const;

 private:
  UniqueFd fd_;
};

}  // namespace cosp::common
