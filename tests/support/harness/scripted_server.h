#pragma once

// Loopback servers for client tests: a scripted raw HTTP server, a tiny CONNECT / forward
// proxy, and the socket pieces they are made of, all on 127.0.0.1 only.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/harness/wire_text.h"

namespace cosp::test {

// Socket helpers (raw POSIX; every call bounded by `timeout`).
// (connectLoopback is in wire_text.h.)
int listenLoopback(int backlog, std::uint16_t* port);
// Reads one HTTP request (head + Content-Length body). Returns "" on EOF/timeout.
std::string readHttpRequest(int fd, std::chrono::milliseconds timeout);
bool writeAll(int fd, const std::string& data);
// True when the peer closed (read returns 0/error) within `timeout`.
bool waitPeerClosed(int fd, std::chrono::milliseconds timeout);

// A raw HTTP server whose per-connection behaviour is a script:
// script(fd, connection_index). The fd is closed after the script returns.
class ScriptedServer {
 public:
  using Script = std::function<void(int fd, int connection_index)>;
  explicit ScriptedServer(Script script);
  ~ScriptedServer();
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // True once the destructor started: long-running scripts end their loops.
  bool stopping() const { return stop_.load(); }

 private:
  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// A tiny HTTP proxy: CONNECT tunnels and absolute-form forwarding, for one test.
class TestProxy {
 public:
  // `connect_status` != 200 makes every CONNECT fail with that status.
  explicit TestProxy(int connect_status = 200);
  std::uint16_t port() const { return server_.port(); }
  std::vector<std::string> requestLines() const;
  std::vector<std::string> proxyAuthorizations() const;  // "" when absent
  int connections() const { return server_.connections(); }

 private:
  void serve(int client);

  int connect_status_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::vector<std::string> auths_;
  ScriptedServer server_;  // last: destroyed (its threads joined) before what they use
};

}  // namespace cosp::test
