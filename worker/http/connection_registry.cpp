#include "worker/http/connection_registry.h"

#include <poll.h>
#include <sys/socket.h>

namespace cosp::worker {

void ConnectionRegistry::opened(const Poco::Net::StreamSocket& socket) {
  std::lock_guard<std::mutex> lock(mutex_);
  connections_[socket.impl()] = State{socket, false, 0};
}

void ConnectionRegistry::closed(const Poco::Net::StreamSocket& socket) {
  std::lock_guard<std::mutex> lock(mutex_);
  connections_.erase(socket.impl());
  if (connections_.empty()) empty_.notify_all();
}

void ConnectionRegistry::requestStarted(const Poco::Net::StreamSocket& socket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = connections_.find(socket.impl());
  if (it != connections_.end()) it->second.busy = true;
}

void ConnectionRegistry::requestFinished(const Poco::Net::StreamSocket& socket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = connections_.find(socket.impl());
  if (it != connections_.end()) {
    it->second.busy = false;
    ++it->second.served;
  }
}

int ConnectionRegistry::open() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(connections_.size());
}

int ConnectionRegistry::closeIdle() {
  std::lock_guard<std::mutex> lock(mutex_);
  int closed = 0;
  for (auto& [impl, state] : connections_) {
    if (state.busy || state.served == 0) continue;
    int fd = state.socket.impl()->sockfd();
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 0) > 0) continue;  // a next request is arriving: serve it (with close)
    // SHUT_RD, not SHUT_RDWR: it wakes POCO's keep-alive poll (the read sees EOF and the
    // connection ends) while still letting POCO finish writing a response it considers sent,
    // such as the chunked terminator written after the handler returned.
    ::shutdown(fd, SHUT_RD);
    ++closed;
  }
  return closed;
}

void ConnectionRegistry::closeAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [impl, state] : connections_) ::shutdown(state.socket.impl()->sockfd(), SHUT_RDWR);
}

bool ConnectionRegistry::waitEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return empty_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

}  // namespace cosp::worker
