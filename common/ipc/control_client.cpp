#include "common/ipc/control_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.h"
#include "common/os/unix_socket.h"

namespace cosp::common {

ControlReply controlRequest(const std::string& socket_path, const std::string& command,
                            std::chrono::milliseconds timeout) {
  return controlRequest(socket_path, command, {}, timeout);
}

ControlReply controlRequest(const std::string& socket_path, const std::string& command,
                            const std::vector<std::pair<std::string, std::string>>& members,
                            std::chrono::milliseconds timeout) {
  ControlReply reply;
  UniqueFd fd = connectUnixSocket(socket_path);
  if (!fd) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      reply.kind = ControlReply::Kind::NotRunning;
      reply.error = "no codex-sub-proxy is listening on " + socket_path;
    } else {
      reply.error = "cannot connect to " + socket_path + ": " + std::strerror(errno);
    }
    return reply;
  }
  std::string request = "{\"command\":";
  appendJsonString(request, command);
  for (const auto& [key, value] : members) {
    request += ",";
    appendJsonString(request, key);
    request += ":";
    appendJsonString(request, value);
  }
  request += "}\n";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  };
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    reply.error = std::string("cannot send to the control socket: ") + std::strerror(errno);
    return reply;
  }
  std::string body;
  char buf[4096];
  for (;;) {
    pollfd pfd{fd.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, left_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      reply.error = "the supervisor did not answer within " + std::to_string(timeout.count()) + " ms";
      return reply;
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      reply.error = std::string("control socket read failed: ") + std::strerror(errno);
      return reply;
    }
    if (n == 0) break;
    body.append(buf, static_cast<size_t>(n));
    if (body.size() > 16 * 1024 * 1024) {
      reply.error = "control reply too large";
      return reply;
    }
  }
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  if (body.empty()) {
    reply.error = "the supervisor closed the control connection without a reply";
    return reply;
  }
  reply.kind = ControlReply::Kind::Reply;
  reply.body = std::move(body);
  return reply;
}

}  // namespace cosp::common
