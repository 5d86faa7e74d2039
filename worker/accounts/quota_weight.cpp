#include "worker/accounts/quota_weight.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace cosp::worker::accounts {

double quotaWeight(double primary_used_percent, double secondary_used_percent) {
  const double used = std::max(primary_used_percent, secondary_used_percent);
  if (!(used >= 0)) return 1.0;  // both unknown (also catches NaN)
  const double free_percent = std::clamp(100.0 - used, 0.0, 100.0);
  // Round down to a multiple of 5 %; the small epsilon keeps 95.0 at 95 despite binary floats.
  const double steps = std::floor(free_percent / 5.0 + 1e-9);
  return std::max(steps * 0.05, 0.01);
}

namespace {

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

const std::string* header(const std::map<std::string, std::string>& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (equalsNoCase(k, name)) return &v;
  return nullptr;
}

double parseDouble(const std::string* s) {
  if (!s || s->empty()) return -1;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s->c_str(), &end);
  if (errno != 0 || end == s->c_str() || !std::isfinite(v) || v < 0) return -1;
  return v;
}

std::int64_t parseInt(const std::string* s) {
  const double v = parseDouble(s);
  return v < 0 || v > 9.0e15 ? -1 : static_cast<std::int64_t>(v);
}

QuotaWindow windowFromHeaders(const std::map<std::string, std::string>& headers, const std::string& family) {
  const std::string p = "x-codex-" + family + "-";
  QuotaWindow w;
  w.used_percent = parseDouble(header(headers, p + "used-percent"));
  w.window_minutes = parseInt(header(headers, p + "window-minutes"));
  w.reset_after_seconds = parseInt(header(headers, p + "reset-after-seconds"));
  w.reset_at = parseInt(header(headers, p + "reset-at"));
  return w;
}

double number(const common::JsonValue& obj, std::string_view key) {
  const common::JsonValue* v = obj.find(key);
  if (!v) return -1;
  const auto d = v->getDouble();
  return d && std::isfinite(*d) && *d >= 0 ? *d : -1;
}

std::int64_t integer(const common::JsonValue& obj, std::initializer_list<std::string_view> keys) {
  for (auto key : keys) {
    const double d = number(obj, key);
    if (d >= 0 && d <= 9.0e15) return static_cast<std::int64_t>(d);
  }
  return -1;
}

QuotaWindow windowFromJson(const common::JsonValue* w) {
  QuotaWindow out;
  if (!w || !w->isObject()) return out;
  out.used_percent = number(*w, "used_percent");
  out.window_minutes = integer(*w, {"window_minutes", "limit_window_seconds"});
  if (out.window_minutes >= 0 && !w->find("window_minutes")) out.window_minutes /= 60;
  out.reset_after_seconds = integer(*w, {"reset_after_seconds", "resets_in_seconds"});
  out.reset_at = integer(*w, {"reset_at", "resets_at"});
  return out;
}

}  // namespace

QuotaWindows quotaWindowsFromHeaders(const std::map<std::string, std::string>& headers) {
  return QuotaWindows{windowFromHeaders(headers, "primary"), windowFromHeaders(headers, "secondary")};
}

QuotaWindows quotaWindowsFromEvent(const common::JsonValue& event) {
  QuotaWindows out;
  if (!event.isObject()) return out;
  const common::JsonValue* holder = &event;
  if (const common::JsonValue* rl = event.find("rate_limits"); rl && rl->isObject()) holder = rl;
  out.primary = windowFromJson(holder->find("primary"));
  out.secondary = windowFromJson(holder->find("secondary"));
  return out;
}

}  // namespace cosp::worker::accounts
