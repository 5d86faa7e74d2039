#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cosp::common {

// Start `argv[0]` with posix_spawn: `fds[i]` becomes descriptor 3+i in the child, every other
// descriptor above 2 is closed, the signal mask is emptied and handled signals are reset to their
// defaults. No code of ours runs between fork and exec, which is what makes it safe to call from
// a process that has threads (docs/ARCHITECTURE.md §1, §6.12).
// The source descriptors must be >= 3 + fds.size() so the dup2 chain cannot clobber a source;
// callers keep their descriptors high with F_DUPFD_CLOEXEC (see raiseFd).
// Returns the child pid, or -1 with errno set.
pid_t spawnProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   const std::vector<int>& fds);

// Duplicate `fd` to a descriptor >= `minimum` with FD_CLOEXEC and close the original.
int raiseFd(int fd, int minimum = 16);

// Path of the running executable's directory (from /proc/self/exe).
std::string executableDir();

}  // namespace cosp::common
