#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cosp::common {

// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. A no-op when the variable is
// unset. Returns false only when a socket was configured and sending failed.
bool sdNotify(const std::string& message);

// Half of $WATCHDOG_USEC (when it is meant for this pid), the interval at which to send WATCHDOG=1.
std::optional<std::chrono::microseconds> watchdogInterval();

// Listening descriptors passed by systemd socket activation (sd_listen_fds(3)): only when
// $LISTEN_PID is our pid. The variables are removed afterwards so children never see them.
std::vector<int> takeListenFds();

// Current CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
uint64_t monotonicMicros();

}  // namespace cosp::common
