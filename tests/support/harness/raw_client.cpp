#include "tests/support/harness/raw_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/harness/wire_text.h"

namespace cosp::test {

RawClient::RawClient(int port, int read_timeout_ms) {
  fd_ = connectLoopback(port);
  connected_ = fd_ >= 0;
  timeval tv{read_timeout_ms / 1000, (read_timeout_ms % 1000) * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

RawClient::~RawClient() { close(); }

bool RawClient::post(const std::string& path, const std::string& body) {
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  return connected_ &&
         ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size());
}

bool RawClient::readUntil(const std::string& marker) {
  char buf[4096];
  while (received_.find(marker) == std::string::npos) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    received_.append(buf, static_cast<size_t>(n));
  }
  return true;
}

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace cosp::test
