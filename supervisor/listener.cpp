#include "supervisor/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/os/spawn.h"
#include "common/os/systemd.h"

namespace cosp::supervisor {

namespace {

// Non-blocking on purpose: every worker polls this shared descriptor and the losers of an accept
// race must get EAGAIN instead of sleeping inside accept() (docs/ARCHITECTURE.md §6.1).
void makeNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string describe(const sockaddr* addr) {
  char host[NI_MAXHOST] = "?";
  char port[NI_MAXSERV] = "?";
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  ::getnameinfo(addr, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
  if (addr->sa_family == AF_INET6) return std::string("[") + host + "]:" + port;
  return std::string(host) + ":" + port;
}

}  // namespace

Listener Listener::open(const common::Config& config) {
  Listener listener;
  listener.host_ = config.host;
  listener.port_ = config.port;

  std::vector<int> inherited = common::takeListenFds();
  if (!inherited.empty()) {
    int fd = inherited.front();
    for (size_t i = 1; i < inherited.size(); ++i) ::close(inherited[i]);
    int type = 0, listening = 0;
    socklen_t len = sizeof type;
    ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof listening;
    ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    if (type != SOCK_STREAM || !listening) {
      throw std::runtime_error("the socket passed by systemd (LISTEN_FDS) is not a listening stream socket");
    }
    makeNonBlocking(fd);
    listener.fd_.reset(common::raiseFd(fd));
    listener.from_systemd_ = true;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    ::getsockname(listener.fd_.get(), reinterpret_cast<sockaddr*>(&addr), &addr_len);
    listener.address_ = describe(reinterpret_cast<sockaddr*>(&addr)) + " (systemd)";
    return listener;
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port = std::to_string(config.port);
  int rc = ::getaddrinfo(config.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    throw std::runtime_error("cannot resolve HOST '" + config.host + "': " + ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    common::UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) continue;
    int one = 1;
    // SO_REUSEADDR lets a restarted supervisor bind while old connections sit in TIME_WAIT. Never
    // SO_REUSEPORT: one shared socket gives the kernel one queue for all workers (docs/ARCHITECTURE.md §1).
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 4096) != 0) {
      last_error = std::strerror(errno);
      continue;
    }
    makeNonBlocking(fd.get());
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len);
    listener.address_ = describe(reinterpret_cast<sockaddr*>(&bound));
    listener.fd_.reset(common::raiseFd(fd.release()));
    ::freeaddrinfo(result);
    return listener;
  }
  ::freeaddrinfo(result);
  throw std::runtime_error("cannot listen on " + config.listenAddress() + ": " + last_error);
}

bool Listener::differsFrom(const common::Config& config) const {
  if (from_systemd_) return false;
  return config.host != host_ || config.port != port_;
}

}  // namespace cosp::supervisor
