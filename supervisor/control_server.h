#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/os/unique_fd.h"

namespace cosp::supervisor {

// The operator's control socket, served from the supervisor's poll loop without ever blocking it:
// non-blocking accept, read one request line, answer one reply line, close. Peers whose uid is
// neither ours nor root are refused (SO_PEERCRED), and the socket file is 0600.
class ControlServer {
 public:
  // Returns the reply line (JSON, without newline) for a request line.
  using Handler = std::function<std::string(const std::string& request)>;

  ControlServer(const std::string& path, Handler handler);
  ~ControlServer();

  const std::string& path() const { return path_; }

  // Descriptors to poll and the events wanted (POLLIN / POLLOUT).
  void appendPollFds(std::vector<pollfd>& fds) const;
  // Handle readiness on one of our descriptors; false if `fd` is not ours.
  bool handle(int fd, short revents);
  // Drop clients that stalled past their deadline.
  void expire(std::chrono::steady_clock::time_point now);

 private:
  struct Client {
    common::UniqueFd fd;
    std::string in;
    std::string out;
    size_t written = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  void acceptClients();
  void readFrom(Client& client);
  void writeTo(Client& client);

  std::string path_;
  Handler handler_;
  common::UniqueFd listen_fd_;
  std::vector<Client> clients_;
};

}  // namespace cosp::supervisor
