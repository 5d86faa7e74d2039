#include "common/os/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cosp::common {

namespace {

sockaddr_un makeAddress(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    throw std::runtime_error("unix socket path is empty or longer than 107 bytes: " + path);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void makeParentDirs(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create directory " + dir + ": " + std::strerror(errno));
    }
  }
}

}  // namespace

UniqueFd listenUnixSocket(const std::string& path) {
  sockaddr_un addr = makeAddress(path);
  makeParentDirs(path);

  // A socket file that still accepts belongs to a running supervisor; one that refuses is stale.
  if (UniqueFd probe = connectUnixSocket(path)) {
    errno = EADDRINUSE;
    throw std::runtime_error("another codex-sub-proxy is already listening on " + path);
  }
  ::unlink(path.c_str());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(std::string("socket(AF_UNIX): ") + std::strerror(errno));
  // Linux takes a unix socket's file mode from the umask at bind(); fchmod before bind has no
  // effect. Narrow the umask only around bind so the file is never briefly group/world-writable.
  mode_t old_mask = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  ::umask(old_mask);
  if (rc != 0) throw std::runtime_error("cannot bind " + path + ": " + std::strerror(bind_errno));
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), 64) != 0) {
    throw std::runtime_error("cannot listen on " + path + ": " + std::strerror(errno));
  }
  return fd;
}

UniqueFd connectUnixSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return UniqueFd();
  }
  addr = makeAddress(path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    if (errno != EINTR) return UniqueFd();
  }
}

uid_t peerUid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return static_cast<uid_t>(-1);
  return cred.uid;
}

}  // namespace cosp::common
