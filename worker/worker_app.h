#pragma once

#include <memory>

#include "common/config/config.h"
#include "common/ipc/channel.h"

namespace cosp::worker {

struct WorkerArgs {
  int slot = 0;
  uint64_t generation = 0;
  pid_t supervisor_pid = 0;
  int64_t lease_row = -1;  // with the keys zone on descriptor 5 (supervisor/keys_manager.h); -1: none
};

// One prefork worker: serves HTTP on the inherited listening socket (fd 3) and talks to the
// supervisor over its channel (fd 4). The main thread runs a small poll loop over a signalfd and
// the channel: credentials updates, drain/stop commands, heartbeats. Returns the exit code.
int runWorker(const WorkerArgs& args, common::Channel channel, int listen_fd);

}  // namespace cosp::worker
