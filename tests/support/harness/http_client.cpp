#include "tests/support/harness/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "tests/support/harness/wire_text.h"

namespace cosp::test {

namespace {

// Decode a chunked body; returns false if incomplete.
bool decodeChunked(const std::string& in, std::string& out) {
  size_t pos = 0;
  out.clear();
  while (true) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    size_t size = std::stoul(in.substr(pos, eol - pos), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return true;
    if (in.size() < pos + size + 2) return false;
    out.append(in, pos, size);
    pos += size + 2;
  }
}

}  // namespace

std::string HttpResult::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

HttpResult httpRequest(int port, const std::string& method, const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
                       int timeout_ms) {
  HttpResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&] {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return static_cast<int>(std::max<int64_t>(0, ms));
  };
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno != EINPROGRESS) {
    result.error = std::strerror(errno);
    ::close(fd);
    return result;
  }
  pollfd pfd{fd, POLLOUT, 0};
  if (::poll(&pfd, 1, left()) <= 0) {
    result.error = "connect timeout";
    ::close(fd);
    return result;
  }
  int soerr = 0;
  socklen_t errlen = sizeof soerr;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &errlen);
  if (soerr != 0) {
    result.error = std::strerror(soerr);
    ::close(fd);
    return result;
  }
  result.connected = true;

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd w{fd, POLLOUT, 0};
      if (::poll(&w, 1, left()) <= 0) break;
      continue;
    }
    break;
  }
  std::string raw;
  char buf[16384];
  while (true) {
    pollfd r{fd, POLLIN, 0};
    int ready = ::poll(&r, 1, left());
    if (ready <= 0) {
      result.error = "read timeout";
      break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) result.error = std::strerror(errno);
    break;
  }
  ::close(fd);

  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (result.error.empty()) result.error = "no response head";
    return result;
  }
  std::string head = raw.substr(0, head_end);
  std::string rest = raw.substr(head_end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() >= 12) result.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      result.headers[lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  if (lower(result.header("transfer-encoding")) == "chunked") {
    result.complete = decodeChunked(rest, result.body);
  } else if (!result.header("content-length").empty()) {
    size_t length = std::stoul(result.header("content-length"));
    result.complete = rest.size() >= length;
    result.body = rest.substr(0, length);
  } else {
    result.body = rest;
    result.complete = result.error.empty();
  }
  return result;
}

}  // namespace cosp::test
