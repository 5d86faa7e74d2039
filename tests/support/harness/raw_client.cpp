#include "tests/support/harness/raw_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "tests/support/harness/wire_text.h"

namespace cosp::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Decodes a chunked body at the start of `in`; the bytes used, or npos while incomplete.
std::size_t decodeChunked(std::string_view in, std::string& out) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::string_view::npos;
    std::size_t size = 0;
    try {
      size = std::stoul(std::string(in.substr(pos, eol - pos)), nullptr, 16);
    } catch (...) {
      return std::string_view::npos;
    }
    pos = eol + 2;
    if (size == 0) {
      std::size_t end = in.find("\r\n", pos);  // no trailers from this server: the empty line
      return end == std::string_view::npos ? std::string_view::npos : end + 2;
    }
    if (in.size() < pos + size + 2) return std::string_view::npos;
    out.append(in.substr(pos, size));
    pos += size + 2;
  }
}

int statusOf(const std::string& head) {
  return head.size() >= 12 && head.rfind("HTTP/1.", 0) == 0 ? std::atoi(head.c_str() + 9) : 0;
}

}  // namespace

std::optional<std::string> RawResponse::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == lower(name)) return v;
  }
  return std::nullopt;
}

std::size_t parseResponse(std::string_view raw, bool closed, RawResponse& r) {
  r = RawResponse{};
  std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    r.head = std::string(raw);
    r.status = statusOf(r.head);
    return std::string_view::npos;
  }
  r.head = std::string(raw.substr(0, head_end + 2));
  r.status = statusOf(r.head);
  for (std::size_t line = r.head.find("\r\n") + 2; line < r.head.size();) {
    std::size_t eol = r.head.find("\r\n", line);
    std::string text = r.head.substr(line, eol - line);
    std::size_t colon = text.find(':');
    if (colon != std::string::npos) {
      std::string value = text.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      r.headers.emplace_back(lower(text.substr(0, colon)), value);
    }
    line = eol + 2;
  }
  std::size_t pos = head_end + 4;
  if ((r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304) {
    r.complete = true;
    return pos;
  }
  if (r.header("transfer-encoding") && lower(*r.header("transfer-encoding")) == "chunked") {
    std::size_t used = decodeChunked(raw.substr(pos), r.body);
    if (used == std::string_view::npos) return std::string_view::npos;
    r.complete = true;
    return pos + used;
  }
  if (r.header("content-length")) {
    std::size_t length = std::stoul(*r.header("content-length"));
    r.body = std::string(raw.substr(pos, length));
    r.complete = raw.size() - pos >= length;
    return r.complete ? pos + length : std::string_view::npos;
  }
  r.body = std::string(raw.substr(pos));
  r.complete = closed;
  return closed ? raw.size() : std::string_view::npos;
}

std::vector<RawResponse> parseResponses(std::string_view raw, bool closed) {
  std::vector<RawResponse> out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    RawResponse r;
    std::size_t used = parseResponse(raw.substr(pos), closed, r);
    out.push_back(std::move(r));
    if (used == std::string_view::npos) break;
    pos += used;
  }
  return out;
}

std::string rawRequest(const std::string& method, const std::string& path, const std::string& body,
                       const std::string& bearer_key, const std::string& extra_headers) {
  std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!bearer_key.empty()) out += "Authorization: Bearer " + bearer_key + "\r\n";
  out += extra_headers;
  if (!body.empty() || method == "POST") {
    out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return out + "\r\n" + body;
}

RawClient::RawClient(int port, int read_timeout_ms) : read_timeout_ms_(read_timeout_ms) {
  fd_ = connectLoopback(port);
  connected_ = fd_ >= 0;
  if (connected_) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  opened_ = Clock::now();
}

RawClient::~RawClient() { close(); }

bool RawClient::send(std::string_view bytes, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (msLeft(deadline) <= 0) return false;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, msLeft(deadline));
      continue;
    }
    return false;
  }
  return true;
}

bool RawClient::post(const std::string& path, const std::string& body) {
  return connected_ &&
         send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
}

void RawClient::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

RawClient::Read RawClient::readSome(int timeout_ms) {
  if (closed_) return Read::Closed;
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, timeout_ms);
  if (ready == 0) return Read::Timeout;
  if (ready < 0) return Read::Timeout;  // EINTR: the caller's loop retries until its deadline
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n > 0) {
    received_.append(buf, static_cast<std::size_t>(n));
    return Read::Data;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return Read::Data;
  closed_ = true;
  reset_ = n < 0;
  closed_at_ = Clock::now();
  return Read::Closed;
}

bool RawClient::readUntil(const std::string& marker, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (received_.find(marker) == std::string::npos) {
    if (msLeft(deadline) <= 0) return false;
    if (readSome(msLeft(deadline)) == Read::Closed) return received_.find(marker) != std::string::npos;
  }
  return true;
}

bool RawClient::readToClose(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (msLeft(deadline) <= 0) return false;
    readSome(msLeft(deadline));
  }
  return true;
}

bool RawClient::readResponses(std::size_t n, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t finals = 0;
    for (const auto& r : parseResponses(received_, closed_)) {
      if (r.complete && r.status >= 200) ++finals;
    }
    if (finals >= n) return true;
    if (closed_ || msLeft(deadline) <= 0) return false;
    readSome(msLeft(deadline));
  }
}

RawResponse RawClient::exchange(const std::string& bytes, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  if (!closed_) send(bytes, milliseconds(msLeft(deadline)));
  RawResponse r;
  for (;;) {
    std::size_t used = parseResponse(std::string_view(received_).substr(consumed_), closed_, r);
    if (used != std::string_view::npos) {
      consumed_ += used;
      return r;
    }
    if (closed_ || msLeft(deadline) <= 0) return r;
    readSome(msLeft(deadline));
  }
}

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string describe(const RawClient& client) {
  return std::string("closed=") + (client.closed() ? (client.wasReset() ? "reset" : "eof") : "no") + " received=[" +
         printable(client.received()) + "]";
}

}  // namespace cosp::test
