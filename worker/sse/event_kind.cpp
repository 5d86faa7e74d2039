#include "worker/sse/event_kind.h"

namespace cosp::worker {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string_view eventType(const SseEvent& e) {
  if (!e.event.empty()) return e.event;
  return dataType(e.data);
}

std::string_view dataType(std::string_view data) {
  // A scan, not a parse: this runs for every relayed event.
  const std::size_t key = data.find("\"type\"");
  if (key == std::string_view::npos) return {};
  std::size_t i = key + 6;
  while (i < data.size() && isSpace(data[i])) ++i;
  if (i >= data.size() || data[i] != ':') return {};
  ++i;
  while (i < data.size() && isSpace(data[i])) ++i;
  if (i >= data.size() || data[i] != '"') return {};
  const std::size_t begin = i + 1;
  const std::size_t end = data.find('"', begin);
  if (end == std::string_view::npos) return {};
  return data.substr(begin, end - begin);
}

bool isFailureType(std::string_view type) { return type == "error" || type == "response.failed"; }

bool isTerminalType(std::string_view type) {
  return type == "response.completed" || type == "response.incomplete" || isFailureType(type);
}

}  // namespace cosp::worker
