#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cosp::bench {

// `root` and every process descended from it (from the ppid field of /proc/<pid>/stat).
std::vector<pid_t> processTree(pid_t root);
// The direct children of `parent`.
std::vector<pid_t> childrenOf(pid_t parent);

// Proportional set size in KiB from /proc/<pid>/smaps_rollup (shared pages are split between
// the processes that map them, so a sum over a process tree counts each page once); -1 when the
// process is gone.
std::int64_t pssKiB(pid_t pid);
// Sum over processTree(root).
std::int64_t treePssKiB(pid_t root);
std::int64_t rssKiB(pid_t pid);
// User + system CPU time in milliseconds of one process (its exited threads included), and of
// processTree(root). Children that exited are not counted: measure across a window in which
// the tree does not change.
std::int64_t cpuMs(pid_t pid);
std::int64_t treeCpuMs(pid_t root);
// Number of threads of one process (the "Threads:" line of /proc/<pid>/status).
int threadCount(pid_t pid);

// "0.52 0.61 0.70" from /proc/loadavg.
std::string loadAverage();

// For a TCP server on 127.0.0.1:`server_port`: which of `pids` holds the server side of the
// connection whose client side has local port P, for every such P (from /proc/net/tcp and the
// socket inodes in /proc/<pid>/fd).
std::map<std::uint16_t, pid_t> serverSocketOwners(std::uint16_t server_port, const std::vector<pid_t>& pids);

}  // namespace cosp::bench
