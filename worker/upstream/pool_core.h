#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "worker/upstream/upstream_connection.h"

namespace cosp::worker::detail {

// The idle connections and counters of one UpstreamPool, shared by the pool and its live
// exchanges (an exchange may outlive the UpstreamPool object during shutdown; it then just closes
// its connection).
struct PoolCore {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle;
  std::size_t max_idle_per_host = 64;
  std::chrono::milliseconds max_idle_age{60000};
  bool closed = false;

  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> reused{0};
  std::atomic<std::uint64_t> stale_retries{0};
  std::atomic<std::uint64_t> exchanges{0};
  std::atomic<std::uint64_t> returned{0};
  std::atomic<std::size_t> active{0};

  // A live pooled connection for `key`, or null. Dead or too-old ones are closed
  // outside the lock (a TLS close may do I/O).
  std::unique_ptr<UpstreamConnection> acquire(const std::string& key) {
    std::vector<std::unique_ptr<UpstreamConnection>> discard;
    std::unique_ptr<UpstreamConnection> found;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = idle.find(key);
      if (it != idle.end()) {
        auto& list = it->second;
        const auto now = UpstreamConnection::Clock::now();
        while (!list.empty()) {
          std::unique_ptr<UpstreamConnection> c = std::move(list.back());
          list.pop_back();
          if (now - c->idle_since > max_idle_age || !c->idleAndAlive()) {
            discard.push_back(std::move(c));
            continue;
          }
          found = std::move(c);
          break;
        }
      }
    }
    discard.clear();
    return found;
  }

  void release(const std::string& key, std::unique_ptr<UpstreamConnection> conn) {
    std::unique_ptr<UpstreamConnection> discard;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& list = idle[key];
      if (closed || list.size() >= max_idle_per_host || !conn->buffered().empty()) {
        discard = std::move(conn);
      } else {
        conn->idle_since = UpstreamConnection::Clock::now();
        list.push_back(std::move(conn));
        returned.fetch_add(1);
      }
    }
  }

  void closeAll(bool permanently) {
    std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> discard;
    {
      std::lock_guard<std::mutex> lock(mu);
      discard.swap(idle);
      if (permanently) closed = true;
    }
  }

  std::size_t idleCount() {
    std::lock_guard<std::mutex> lock(mu);
    std::size_t n = 0;
    for (const auto& [k, v] : idle) n += v.size();
    return n;
  }
};

}  // namespace cosp::worker::detail
