#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "worker/exchange.h"
#include "worker/http/client_watch.h"

namespace cosp::worker {

// A Server-Sent Events answer to the client: the 200 head on the first write, then one chunk per
// batch of events, each write bounded by SEND_TIMEOUT (HttpResponse::write), and a comment line
// during long upstream silences, so a client that left is noticed even when nothing else is sent.
class SseWriter {
 public:
  using Clock = std::chrono::steady_clock;
  // Longest upstream silence before a keep-alive comment.
  static constexpr std::chrono::milliseconds kKeepAliveEvery{15000};
  // Longest wait for upstream bytes while nothing is due: it only bounds the keep-alive timer (the
  // client's hang-up wakes a wait by itself). 2,000 held streams at 200 ms slices were 10,000
  // wake-ups a second.
  static constexpr std::chrono::milliseconds kLongestWait{5000};

  SseWriter(Exchange& ex, ClientWatch& client) : ex_(ex), client_(client) {}

  bool started() const { return started_; }
  // Sends the 200 head now, before any event: a client waiting through long reasoning sees
  // progress.
  void start();
  // Writes one chunk; false when the client is gone or stopped reading.
  bool write(std::string_view bytes);
  // Writes `chunks` as `data:` events in one chunk and clears them.
  bool writeData(std::vector<std::string>& chunks);
  // A comment line when the upstream has been silent for kKeepAliveEvery.
  bool keepAlive();
  // How long the next upstream wait may last without delaying a keep-alive comment.
  std::chrono::milliseconds nextWait() const;

 private:
  Exchange& ex_;
  ClientWatch& client_;
  bool started_ = false;
  Clock::time_point last_write_ = Clock::now();
};

}  // namespace cosp::worker
