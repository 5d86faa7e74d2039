#include "worker/upstream/cookie_jar.h"

#include <time.h>

#include <array>
#include <cctype>

#include "worker/upstream/header_rules.h"

namespace cosp::worker {

namespace {

constexpr std::array<std::string_view, 5> kAllowedNames = {"__cf_bm", "__cflb", "__cfruid", "_cfuvid", "cf_clearance"};
constexpr std::string_view kChallengePrefix = "cf_chl_";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) { return headerNameEquals(a, b); }

// RFC 6265 §4.1.1 cookie-value: cookie-octets, optionally in double quotes. What is sent back
// is exactly what was received, so nothing that could end the Cookie header or split it.
bool isCookieValue(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') return false;
  }
  return true;
}

// Max-Age: an optional minus and digits; a huge value is capped (it only has to be "far away").
std::optional<long long> parseMaxAge(std::string_view v) {
  bool negative = false;
  if (!v.empty() && v.front() == '-') {
    negative = true;
    v.remove_prefix(1);
  }
  if (v.empty()) return std::nullopt;
  long long n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    if (n < 100000000000LL) n = n * 10 + (c - '0');
  }
  return negative ? -n : n;
}

}  // namespace

std::optional<CookieJar::Clock::time_point> parseCookieDate(std::string_view text) {
  const std::string s(trim(text));
  // strptime's %a and %b take full names too (RFC 850's "Sunday, 06-Nov-94").
  for (const char* format : {"%a, %d %b %Y %H:%M:%S", "%a, %d-%b-%Y %H:%M:%S", "%a %b %d %H:%M:%S %Y"}) {
    struct tm tm {};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end == nullptr) continue;
    const std::string_view rest = trim(end);
    if (!rest.empty() && rest != "GMT" && rest != "UTC") continue;
    // A two-digit year (RFC 6265 §5.1.1): 70-99 are the 1900s, 00-69 the 2000s.
    const int year = tm.tm_year + 1900;
    if (year >= 0 && year < 100) tm.tm_year = (year < 70 ? 2000 : 1900) + year - 1900;
    const time_t t = timegm(&tm);
    if (t == static_cast<time_t>(-1)) return std::nullopt;
    return CookieJar::Clock::from_time_t(t);
  }
  return std::nullopt;
}

bool CookieJar::isAllowedName(std::string_view name) {
  for (std::string_view allowed : kAllowedNames) {
    if (name == allowed) return true;
  }
  return name.size() > kChallengePrefix.size() && name.substr(0, kChallengePrefix.size()) == kChallengePrefix;
}

void CookieJar::storeFrom(const HeaderList& response_headers, Clock::time_point now) {
  for (const auto& [name, value] : response_headers) {
    if (headerNameEquals(name, "Set-Cookie")) store(value, now);
  }
}

bool CookieJar::store(std::string_view set_cookie, Clock::time_point now) {
  std::string_view pair = set_cookie.substr(0, set_cookie.find(';'));
  std::string_view attributes =
      pair.size() < set_cookie.size() ? set_cookie.substr(pair.size() + 1) : std::string_view();
  const std::size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return false;
  const std::string_view name = trim(pair.substr(0, eq));
  const std::string_view value = trim(pair.substr(eq + 1));
  if (!isAllowedName(name) || name.size() > kMaxNameBytes || !isHeaderToken(name)) return false;
  if (value.size() > kMaxValueBytes || !isCookieValue(value)) return false;

  std::optional<Clock::time_point> expires;
  std::optional<long long> max_age;
  while (!attributes.empty()) {
    const std::size_t semi = attributes.find(';');
    const std::string_view attribute = trim(attributes.substr(0, semi));
    attributes = semi == std::string_view::npos ? std::string_view() : attributes.substr(semi + 1);
    const std::size_t aeq = attribute.find('=');
    const std::string_view key = trim(attribute.substr(0, aeq));
    const std::string_view arg = aeq == std::string_view::npos ? std::string_view() : trim(attribute.substr(aeq + 1));
    if (equalsIgnoreCase(key, "max-age")) {
      if (auto seconds = parseMaxAge(arg)) max_age = seconds;  // RFC 6265 §5.2.2: a bad one is ignored
    } else if (equalsIgnoreCase(key, "expires")) {
      if (auto date = parseCookieDate(arg)) expires = date;
    }
  }
  if (max_age) expires = *max_age <= 0 ? now - std::chrono::seconds(1) : now + std::chrono::seconds(*max_age);

  std::lock_guard<std::mutex> lock(mu_);
  const auto it = cookies_.find(name);
  if (expires && *expires <= now) {  // the backend deletes it
    if (it != cookies_.end()) {
      cookies_.erase(it);
      rebuildHeader();
    }
    return true;
  }
  if (it != cookies_.end() && it->second.value == value) {  // re-sent as it was: only its expiry moves
    it->second.expires = expires;
    if (expires && (!next_expiry_ || *expires < *next_expiry_)) next_expiry_ = expires;
    return true;
  }
  if (it != cookies_.end()) {
    it->second = Entry{std::string(value), expires};
  } else {
    if (cookies_.size() >= kMaxCookies) dropExpired(now);
    if (cookies_.size() >= kMaxCookies) return false;  // cf_chl_* by the dozen: the first ones stay
    cookies_.emplace(std::string(name), Entry{std::string(value), expires});
  }
  rebuildHeader();
  return true;
}

std::shared_ptr<const std::string> CookieJar::cookieHeader(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_expiry_ && *next_expiry_ <= now) {
    dropExpired(now);
    rebuildHeader();
  }
  return header_;
}

std::size_t CookieJar::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cookies_.size();
}

void CookieJar::rebuildHeader() {
  std::string header;
  next_expiry_.reset();
  for (const auto& [name, entry] : cookies_) {
    if (!header.empty()) header += "; ";
    header += name;
    header += '=';
    header += entry.value;
    if (entry.expires && (!next_expiry_ || *entry.expires < *next_expiry_)) next_expiry_ = entry.expires;
  }
  header_ = std::make_shared<const std::string>(std::move(header));
}

void CookieJar::dropExpired(Clock::time_point now) {
  for (auto it = cookies_.begin(); it != cookies_.end();) {
    if (it->second.expires && *it->second.expires <= now)
      it = cookies_.erase(it);
    else
      ++it;
  }
}

}  // namespace cosp::worker
