#include "supervisor/worker_environment.h"

#include <unistd.h>

#include "common/os/spawn.h"

extern char** environ;

namespace cosp::supervisor {

bool keepInWorkerEnv(std::string_view entry) {
  static constexpr std::string_view kDropped[] = {
      "NOTIFY_SOCKET=",  "WATCHDOG_USEC=",        "WATCHDOG_PID=",        "LISTEN_PID=",    "LISTEN_FDS=",
      "LISTEN_FDNAMES=", "OPENAI_REFRESH_TOKEN=", "OPENAI_ACCESS_TOKEN=", "PROXY_API_KEY=", "CODEX_AUTH_FILE="};
  for (std::string_view prefix : kDropped) {
    if (entry.substr(0, prefix.size()) == prefix) return false;
  }
  return true;
}

std::vector<std::string> workerArgv(const std::string& binary, int slot, uint64_t generation, pid_t supervisor_pid) {
  return {binary,
          "--slot",
          std::to_string(slot),
          "--generation",
          std::to_string(generation),
          "--supervisor-pid",
          std::to_string(supervisor_pid)};
}

std::vector<std::string> workerEnvironment(const char* const* parent_env) {
  std::vector<std::string> env;
  for (const char* const* e = parent_env; *e != nullptr; ++e) {
    if (keepInWorkerEnv(*e)) env.emplace_back(*e);
  }
  return env;
}

WorkerLaunch workerLaunch(int slot, uint64_t generation) {
  return {workerArgv(common::executableDir() + "/codex-sub-proxy-worker", slot, generation, ::getpid()),
          workerEnvironment(environ)};
}

}  // namespace cosp::supervisor
