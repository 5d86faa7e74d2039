#include "worker/sse/sse_writer.h"

#include <algorithm>

namespace cosp::worker {

void SseWriter::start() {
  prepareResponse(ex_, 200);
  ex_.response.setContentType("text/event-stream; charset=utf-8");
  ex_.response.set("Cache-Control", "no-cache");
  ex_.response.set("X-Accel-Buffering", "no");  // tell nginx-style fronts not to buffer
  ex_.response.setChunkedTransferEncoding(true);
  ex_.response.send();  // writes the status line and headers before it returns
  started_ = true;
}

bool SseWriter::write(std::string_view bytes) {
  if (!started_) start();
  if (client_.isGone()) return false;
  // Through the response, which records a failed write: its last chunk is then not tried (it
  // would wait SEND_TIMEOUT again) and the connection closes.
  if (!ex_.response.write(bytes)) {
    client_.markGone();
    return false;
  }
  ex_.bytes_out += static_cast<int64_t>(bytes.size());
  last_write_ = Clock::now();
  return true;
}

bool SseWriter::writeData(std::vector<std::string>& chunks) {
  if (chunks.empty()) return true;
  std::string batch;
  for (const auto& c : chunks) {
    batch += "data: ";
    batch += c;
    batch += "\n\n";
  }
  chunks.clear();
  return write(batch);
}

bool SseWriter::keepAlive() {
  if (!started_ || Clock::now() - last_write_ < kKeepAliveEvery) return true;
  return write(": keep-alive\n\n");
}

std::chrono::milliseconds SseWriter::nextWait() const {
  using std::chrono::milliseconds;
  if (!started_) return kLongestWait;
  auto due = std::chrono::duration_cast<milliseconds>(last_write_ + kKeepAliveEvery - Clock::now());
  return std::clamp(due, milliseconds(1), kLongestWait);
}

}  // namespace cosp::worker
