#pragma once

#include <string>

namespace cosp::test {

// A client that holds its connection: sends one request and reads as far as the test wants
// (a streaming response that never ends, say), then closes when the test says so.
class RawClient {
 public:
  // Connects to 127.0.0.1:port; every read waits at most `read_timeout_ms`.
  explicit RawClient(int port, int read_timeout_ms = 5000);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool post(const std::string& path, const std::string& body);
  // Reads until `marker` has arrived; false on EOF, error or a read timeout.
  bool readUntil(const std::string& marker);
  void close();
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

}  // namespace cosp::test
