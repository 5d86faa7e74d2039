#include "worker/sse/event_kind.h"

namespace cosp::worker {

bool isFailureEvent(const SseEvent& e) {
  if (!e.event.empty()) return e.event == "error" || e.event == "response.failed";
  return e.data.find("\"type\":\"error\"") != std::string::npos ||
         e.data.find("\"type\":\"response.failed\"") != std::string::npos;
}

bool isTerminalEvent(const SseEvent& e) {
  const std::string& t = e.event;
  if (!t.empty())
    return t == "response.completed" || t == "response.incomplete" || t == "response.failed" || t == "error";
  return e.data.find("\"type\":\"response.completed\"") != std::string::npos ||
         e.data.find("\"type\":\"response.incomplete\"") != std::string::npos || isFailureEvent(e);
}

}  // namespace cosp::worker
