#include "common/log/log.h"

#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/json/json_writer.h"

namespace cosp::common {

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::atomic<int> g_format{static_cast<int>(LogFormat::Json)};
std::mutex g_identity_mutex;
std::string g_process = "codex-sub-proxy";
int g_worker = -1;
pid_t g_pid = 0;  // set by configure()

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

void writeAll(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a broken stderr
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string utcTimestamp() {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  tm parts{};
  ::gmtime_r(&tv.tv_sec, &parts);  // UTC only: localtime is not thread-safe in POCO 1.11 (docs/ARCHITECTURE.md §6.19)
  char buf[96];                    // sized for any int the compiler imagines, silencing -Wformat-truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<int>(tv.tv_usec / 1000));
  return buf;
}

void Log::configure(LogLevel level, LogFormat format, std::string_view process, int worker) {
  g_level = static_cast<int>(level);
  g_format = static_cast<int>(format);
  std::lock_guard<std::mutex> lock(g_identity_mutex);
  g_process = std::string(process);
  g_worker = worker;
  // glibc (>= 2.25) no longer caches getpid(): asking once here saves two syscalls per line.
  // Every process configures its log at start; nothing forks without exec afterwards.
  g_pid = ::getpid();
}

bool Log::enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

Log::Line::Line(LogLevel level, std::string_view event) : on_(enabled(level)) {
  if (!on_) return;
  std::string process;
  int worker;
  pid_t pid;
  {
    std::lock_guard<std::mutex> lock(g_identity_mutex);
    process = g_process;
    worker = g_worker;
    pid = g_pid != 0 ? g_pid : ::getpid();  // a line before configure()
  }
  json_ = static_cast<LogFormat>(g_format.load()) == LogFormat::Json;
  line_.reserve(256);
  const std::string ts = utcTimestamp();
  if (json_) {
    line_ += "{\"time\":\"" + ts + "\",\"level\":\"" + levelName(level) + "\",\"process\":";
    appendJsonString(line_, process);
    line_ += ",\"pid\":" + std::to_string(pid);
    if (worker >= 0) line_ += ",\"worker\":" + std::to_string(worker);
    line_ += ",\"event\":";
    appendJsonString(line_, event);
  } else {
    line_ += ts + " " + levelName(level) + " " + process;
    if (worker >= 0) line_ += "[" + std::to_string(worker) + "]";
    line_ += "(" + std::to_string(pid) + ") " + std::string(event);
  }
}

void Log::Line::addRaw(std::string_view key, std::string_view raw_json, std::string_view text) {
  if (json_) {
    line_ += ',';
    appendJsonString(line_, key);
    line_ += ':';
    line_ += raw_json;
  } else {
    line_ += ' ';
    line_ += key;
    line_ += '=';
    line_ += text;
  }
}

Log::Line& Log::Line::field(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  std::string quoted;
  appendJsonString(quoted, value);
  bool plain = !value.empty() && value.find_first_of(" \"=\n") == std::string_view::npos;
  addRaw(key, quoted, plain ? value : std::string_view(quoted));
  return *this;
}

Log::Line& Log::Line::field(std::string_view key, int64_t value) {
  if (!on_) return *this;
  std::string s = std::to_string(value);
  addRaw(key, s, s);
  return *this;
}

Log::Line& Log::Line::field(std::string_view key, double value) {
  if (!on_) return *this;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  addRaw(key, buf, buf);
  return *this;
}

Log::Line& Log::Line::field(std::string_view key, bool value) {
  if (!on_) return *this;
  addRaw(key, value ? "true" : "false", value ? "true" : "false");
  return *this;
}

Log::Line::~Line() {
  if (!on_) return;
  line_ += json_ ? "}\n" : "\n";
  writeAll(line_);
}

}  // namespace cosp::common
