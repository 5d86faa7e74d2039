#include "supervisor/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/log/log.h"
#include "common/os/unix_socket.h"

namespace cosp::supervisor {

namespace {
constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr std::chrono::seconds kClientTimeout{5};
}  // namespace

ControlServer::ControlServer(const std::string& path, Handler handler)
    : path_(path), handler_(std::move(handler)), listen_fd_(common::listenUnixSocket(path)) {}

ControlServer::~ControlServer() {
  if (listen_fd_) ::unlink(path_.c_str());
}

void ControlServer::appendPollFds(std::vector<pollfd>& fds) const {
  fds.push_back({listen_fd_.get(), POLLIN, 0});
  for (const auto& c : clients_) {
    fds.push_back({c.fd.get(), static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
  }
}

bool ControlServer::handle(int fd, short revents) {
  if (fd == listen_fd_.get()) {
    acceptClients();
    return true;
  }
  auto it = std::find_if(clients_.begin(), clients_.end(), [fd](const Client& c) { return c.fd.get() == fd; });
  if (it == clients_.end()) return false;
  if (it->out.empty()) {
    if (revents & (POLLIN | POLLHUP | POLLERR)) readFrom(*it);
  } else if (revents & (POLLOUT | POLLHUP | POLLERR)) {
    writeTo(*it);
  }
  clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const Client& c) { return !c.fd; }),
                 clients_.end());
  return true;
}

void ControlServer::expire(std::chrono::steady_clock::time_point now) {
  clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [now](const Client& c) { return c.deadline < now; }),
                 clients_.end());
}

void ControlServer::acceptClients() {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: no more pending; anything else: try again on the next readiness
    }
    common::UniqueFd client_fd(fd);
    uid_t uid = common::peerUid(fd);
    if (uid != ::geteuid() && uid != 0) {
      common::logWarn("control_refused").field("peer_uid", static_cast<int64_t>(uid));
      static const char kRefused[] = "{\"ok\":false,\"error\":\"permission denied\"}\n";
      (void)::send(fd, kRefused, sizeof kRefused - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;
    }
    clients_.push_back(Client{std::move(client_fd), {}, {}, 0, std::chrono::steady_clock::now() + kClientTimeout});
  }
}

void ControlServer::readFrom(Client& client) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(client.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      client.fd.reset();
      return;
    }
    client.in.append(buf, static_cast<size_t>(n));
    if (client.in.size() > kMaxRequestBytes) {
      client.fd.reset();
      return;
    }
    auto newline = client.in.find('\n');
    if (newline != std::string::npos) {
      client.out = handler_(client.in.substr(0, newline)) + "\n";
      writeTo(client);
      return;
    }
  }
}

void ControlServer::writeTo(Client& client) {
  while (client.written < client.out.size()) {
    ssize_t n = ::send(client.fd.get(), client.out.data() + client.written, client.out.size() - client.written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // wait for POLLOUT
    if (n <= 0) break;
    client.written += static_cast<size_t>(n);
  }
  client.fd.reset();  // reply complete (or the peer is gone): one request per connection
}

}  // namespace cosp::supervisor
