#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config/config.h"
#include "common/json/json_writer.h"  // appendJsonString, for callers building JSON by hand

namespace cosp::common {

// Structured logging to stderr: one line per event, written with a single write(2) so lines from
// the supervisor and all workers never interleave (stderr is usually a pipe to journald/Docker).
// Fields are plain values chosen by the caller; nothing here ever sees a token, key, prompt or
// completion, and callers must keep it that way.
class Log {
 public:
  // `process` is "supervisor", "worker" or "ctl"; `worker` the slot number (or -1).
  static void configure(LogLevel level, LogFormat format, std::string_view process, int worker = -1);
  static bool enabled(LogLevel level);

  class Line {
   public:
    Line(LogLevel level, std::string_view event);
    ~Line();
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;

    Line& field(std::string_view key, std::string_view value);
    Line& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
    Line& field(std::string_view key, const std::string& value) { return field(key, std::string_view(value)); }
    Line& field(std::string_view key, int64_t value);
    Line& field(std::string_view key, int value) { return field(key, static_cast<int64_t>(value)); }
    Line& field(std::string_view key, uint64_t value) { return field(key, static_cast<int64_t>(value)); }
    Line& field(std::string_view key, double value);
    Line& field(std::string_view key, bool value);

   private:
    void addRaw(std::string_view key, std::string_view raw_json, std::string_view text);
    bool on_;
    bool json_ = true;  // the format, fixed when the line starts: only that one is built
    std::string line_;
  };
};

inline Log::Line logDebug(std::string_view event) { return Log::Line(LogLevel::Debug, event); }
inline Log::Line logInfo(std::string_view event) { return Log::Line(LogLevel::Info, event); }
inline Log::Line logWarn(std::string_view event) { return Log::Line(LogLevel::Warn, event); }
inline Log::Line logError(std::string_view event) { return Log::Line(LogLevel::Error, event); }

// "2026-11-25T07:30:00.123Z"
std::string utcTimestamp();

}  // namespace cosp::common
