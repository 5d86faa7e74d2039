#include "bench/proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace cosp::bench {

namespace {

// The fields of /proc/<pid>/stat after "pid (comm)", starting with state (field 3); empty when
// the process is gone. comm may hold spaces and parentheses, so this cuts after the last ')'.
std::string statAfterComm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {};
  std::size_t close = stat.rfind(')');
  return close == std::string::npos ? std::string() : stat.substr(close + 1);
}

pid_t parentOf(pid_t pid) {
  std::istringstream rest(statAfterComm(pid));
  std::string state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

std::vector<pid_t> allPids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (!dir) return pids;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && v > 0) pids.push_back(static_cast<pid_t>(v));
  }
  ::closedir(dir);
  return pids;
}

std::int64_t statusOrRollupField(const std::string& path, const char* field) {
  std::ifstream in(path);
  std::string line;
  const std::size_t len = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, len, field) == 0) return std::strtoll(line.c_str() + len, nullptr, 10);
  }
  return -1;
}

}  // namespace

std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t p : allPids()) {
    if (parentOf(p) == parent) out.push_back(p);
  }
  return out;
}

std::vector<pid_t> processTree(pid_t root) {
  std::unordered_map<pid_t, pid_t> parent;
  for (pid_t p : allPids()) parent[p] = parentOf(p);
  std::vector<pid_t> tree;
  if (!parent.count(root)) return tree;
  tree.push_back(root);
  for (std::size_t i = 0; i < tree.size(); ++i) {
    for (const auto& [p, pp] : parent) {
      if (pp == tree[i]) tree.push_back(p);
    }
  }
  return tree;
}

std::int64_t pssKiB(pid_t pid) { return statusOrRollupField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Pss:"); }
std::int64_t rssKiB(pid_t pid) { return statusOrRollupField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Rss:"); }
int threadCount(pid_t pid) {
  return static_cast<int>(statusOrRollupField("/proc/" + std::to_string(pid) + "/status", "Threads:"));
}

std::int64_t cpuMs(pid_t pid) {
  const std::string after_comm = statAfterComm(pid);
  if (after_comm.empty()) return -1;
  std::istringstream rest(after_comm);
  // Fields after comm: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15).
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return (utime + stime) * 1000 / (ticks > 0 ? ticks : 100);
}

std::int64_t treeCpuMs(pid_t root) {
  std::int64_t sum = 0;
  for (pid_t p : processTree(root)) {
    std::int64_t v = cpuMs(p);
    if (v > 0) sum += v;
  }
  return sum;
}

std::int64_t treePssKiB(pid_t root) {
  std::int64_t sum = 0;
  bool any = false;
  for (pid_t p : processTree(root)) {
    std::int64_t v = pssKiB(p);
    if (v >= 0) {
      sum += v;
      any = true;
    }
  }
  return any ? sum : -1;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::map<std::uint16_t, pid_t> serverSocketOwners(std::uint16_t server_port, const std::vector<pid_t>& pids) {
  // inode -> client port, for established server-side sockets of server_port.
  std::unordered_map<unsigned long, std::uint16_t> inode_to_port;
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  while (std::getline(tcp, line)) {
    unsigned local_port = 0, remote_port = 0, state = 0;
    unsigned long inode = 0;
    char local_addr[64], remote_addr[64];
    // "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
    int sl = 0;
    unsigned long txq = 0, rxq = 0, tr = 0, when = 0, retr = 0, uid = 0, timeout = 0;
    if (std::sscanf(line.c_str(), " %d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x %lx:%lx %lx:%lx %lx %lu %lu %lu", &sl,
                    local_addr, &local_port, remote_addr, &remote_port, &state, &txq, &rxq, &tr, &when, &retr, &uid,
                    &timeout, &inode) != 14) {
      continue;
    }
    if (local_port == server_port && remote_port != 0 && inode != 0) {
      inode_to_port[inode] = static_cast<std::uint16_t>(remote_port);
    }
  }
  std::map<std::uint16_t, pid_t> owners;
  for (pid_t pid : pids) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char target[128];
      ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      unsigned long inode = 0;
      if (std::sscanf(target, "socket:[%lu]", &inode) != 1) continue;
      auto it = inode_to_port.find(inode);
      if (it != inode_to_port.end()) owners[it->second] = pid;
    }
    ::closedir(d);
  }
  return owners;
}

}  // namespace cosp::bench
