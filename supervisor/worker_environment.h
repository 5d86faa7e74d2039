#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cosp::supervisor {

// What a worker process is started with: codex-sub-proxy-worker from the supervisor's own
// directory, its slot, configuration generation and supervisor pid as arguments, and the
// supervisor's environment minus what a worker must never see. (The listening socket and the
// channel are passed as descriptors 3 and 4; see common/os/spawn.h.)
struct WorkerLaunch {
  std::vector<std::string> argv;
  std::vector<std::string> env;
};

// Variables a worker must never inherit: systemd's (its messages would be ignored or, for
// LISTEN_*, misread) and every credential (workers only get the access token over the channel).
// `entry` is one NAME=value string.
bool keepInWorkerEnv(std::string_view entry);

std::vector<std::string> workerArgv(const std::string& binary, int slot, uint64_t generation, pid_t supervisor_pid);

// The entries of a null-terminated environment block (like `environ`) that a worker keeps.
std::vector<std::string> workerEnvironment(const char* const* parent_env);

// The launch for this process's worker of `slot` and `generation`.
WorkerLaunch workerLaunch(int slot, uint64_t generation);

}  // namespace cosp::supervisor
