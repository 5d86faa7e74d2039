#pragma once

#include <sys/types.h>

#include <string>

#include "common/os/unique_fd.h"

namespace cosp::common {

// Listening AF_UNIX stream socket at `path`, mode 0600, non-blocking, close-on-exec. The parent
// directory is created (0700) when missing. A stale socket file (nobody accepting) is replaced;
// a live one makes this fail with EADDRINUSE so two supervisors never share one control socket.
// Throws std::runtime_error with a message naming the path.
UniqueFd listenUnixSocket(const std::string& path);

// Blocking connect to `path` with a deadline for the connect itself. Returns an invalid fd and
// sets errno on failure (ENOENT / ECONNREFUSED mean "nobody is listening").
UniqueFd connectUnixSocket(const std::string& path);

// The uid of the process at the other end of a connected AF_UNIX socket, or -1.
uid_t peerUid(int fd);

}  // namespace cosp::common
