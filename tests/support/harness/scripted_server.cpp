#include "tests/support/harness/scripted_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace cosp::test {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

int listenLoopback(int backlog, std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (port) *port = ntohs(addr.sin_port);
  return fd;
}

std::string readHttpRequest(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data;
  std::size_t head_end = std::string::npos;
  std::size_t need = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        head_end += 4;
        std::string lower = data.substr(0, head_end);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto cl = lower.find("\r\ncontent-length:");
        need = head_end + (cl == std::string::npos ? 0 : std::strtoul(lower.c_str() + cl + 17, nullptr, 10));
      }
    }
    if (head_end != std::string::npos && data.size() >= need) return data;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return "";
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    data.append(buf, static_cast<std::size_t>(n));
  }
}

bool writeAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool waitPeerClosed(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
}

// ---------------------------------------------------------------------------
// TestProxy

TestProxy::TestProxy(int connect_status)
    : connect_status_(connect_status), server_([this](int client, int) { serve(client); }) {}

std::vector<std::string> TestProxy::requestLines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

std::vector<std::string> TestProxy::proxyAuthorizations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return auths_;
}

// `client` is closed by the server after this returns.
void TestProxy::serve(int client) {
  // Read the request head byte by byte up to the blank line, so no tunnelled
  // byte is swallowed.
  std::string head;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (head.find("\r\n\r\n") == std::string::npos && Clock::now() < deadline && !server_.stopping()) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char c;
    if (::recv(client, &c, 1, 0) != 1) break;
    head += c;
  }
  if (head.find("\r\n\r\n") == std::string::npos) {
    return;
  }
  const std::string line = head.substr(0, head.find("\r\n"));
  std::string auth;
  {
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto pos = lower.find("\r\nproxy-authorization:");
    if (pos != std::string::npos) {
      const auto start = pos + 22;
      const auto end = head.find("\r\n", start);
      auth = head.substr(start, end - start);
      while (!auth.empty() && auth.front() == ' ') auth.erase(0, 1);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(line);
    auths_.push_back(auth);
  }

  // Target "host:port" from "CONNECT host:port HTTP/1.1" or
  // "METHOD http://host:port/path HTTP/1.1".
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string forward_head;
  if (method == "CONNECT") {
    if (connect_status_ != 200) {
      writeAll(client, "HTTP/1.1 " + std::to_string(connect_status_) + " Nope\r\nContent-Length: 0\r\n\r\n");
      return;
    }
  } else {
    if (target.rfind("http://", 0) != 0) {
      writeAll(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    const std::string rest = target.substr(7);
    const auto slash = rest.find('/');
    const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
    forward_head = method + " " + path + line.substr(sp2) + head.substr(line.size());
    target = rest.substr(0, slash);
  }
  const auto colon = target.rfind(':');
  const auto port = static_cast<std::uint16_t>(std::strtoul(target.c_str() + colon + 1, nullptr, 10));
  const int upstream = connectLoopback(port);  // tests only ever tunnel to 127.0.0.1
  if (upstream < 0) {
    writeAll(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  if (method == "CONNECT") {
    writeAll(client, "HTTP/1.1 200 Connection established\r\n\r\n");
  } else {
    writeAll(upstream, forward_head);
  }
  // Relay both ways until one side closes.
  while (!server_.stopping()) {
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (::poll(fds, 2, 20) <= 0) continue;
    char buf[16384];
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), 0);
      if (n <= 0 || !writeAll(fds[1 - i].fd, std::string(buf, static_cast<std::size_t>(n)))) done = true;
    }
    if (done) break;
  }
  ::shutdown(client, SHUT_RDWR);
  ::shutdown(upstream, SHUT_RDWR);
  ::close(upstream);
}

// ---------------------------------------------------------------------------
// ScriptedServer

ScriptedServer::ScriptedServer(Script script) : script_(std::move(script)) {
  listen_fd_ = listenLoopback(16, &port_);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int index = connections_++;
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, fd, index] {
        script_(fd, index);
        ::close(fd);
      });
    }
  });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

}  // namespace cosp::test
