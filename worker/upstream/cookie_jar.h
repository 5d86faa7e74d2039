#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "worker/upstream/upstream_types.h"

namespace cosp::worker {

// The Cloudflare cookies of one worker's upstream (README.md, Model calls: Upstream headers). The
// backend sits behind Cloudflare, which sets bot-management and load-balancer cookies and
// challenges clients that never send them back; the Codex CLI keeps exactly these in a jar, so
// the proxy does too. Only the allow-listed names (`__cf_bm`, `__cflb`, `__cfruid`, `_cfuvid`,
// `cf_clearance`, `cf_chl_*`) are kept; every other Set-Cookie is ignored. Nothing here ever goes
// to a client (header_rules.h never forwards Set-Cookie).
//
// One origin per pool, so Domain and Path are not consulted. Max-Age wins over Expires; a
// Max-Age <= 0 or an Expires in the past removes the cookie; a newer Set-Cookie replaces an older
// one of the same name. Bounded (kMaxCookies, kMaxValueBytes) and thread-safe: every handler
// thread of the worker shares the jar.
class CookieJar {
 public:
  using Clock = std::chrono::system_clock;  // Expires is a wall-clock date

  static constexpr std::size_t kMaxCookies = 16;
  static constexpr std::size_t kMaxNameBytes = 64;
  static constexpr std::size_t kMaxValueBytes = 4096;

  // Whether a cookie of this name is one the jar keeps.
  static bool isAllowedName(std::string_view name);

  // Reads every Set-Cookie header of a response head.
  void storeFrom(const HeaderList& response_headers, Clock::time_point now);
  // One Set-Cookie value ("name=value; Max-Age=...; ..."); false when it was ignored (a name
  // not allowed, a malformed or overlong cookie, or the jar full of other live cookies).
  bool store(std::string_view set_cookie, Clock::time_point now);

  // The Cookie header value for the next request ("a=1; b=2", by name), or "" when the jar holds
  // nothing live. Expired cookies are dropped on the way. Built when the jar changes, not per
  // request: a snapshot that a later change never alters.
  std::shared_ptr<const std::string> cookieHeader(Clock::time_point now);

  std::size_t size() const;

 private:
  struct Entry {
    std::string value;
    std::optional<Clock::time_point> expires;  // none: a session cookie, kept while the worker lives
  };
  // With mu_ held.
  void dropExpired(Clock::time_point now);
  void rebuildHeader();  // after a name or value changed: header_ and next_expiry_ from cookies_

  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> cookies_;
  // cookies_ as a Cookie header value; the same until a cookie is added, changed or removed.
  std::shared_ptr<const std::string> header_ = std::make_shared<const std::string>();
  // No cookie expires before this (a lower bound: a later Expires of a re-sent cookie does not
  // raise it); until then header_ holds no expired cookie.
  std::optional<Clock::time_point> next_expiry_;
};

// An HTTP date as cookies use it: RFC 1123 ("Sun, 06 Nov 1994 08:49:37 GMT"), the Netscape form
// Cloudflare sends ("Sun, 06-Nov-94 08:49:37 GMT" or with a four-digit year) and RFC 850. Exposed
// for tests.
std::optional<CookieJar::Clock::time_point> parseCookieDate(std::string_view text);

}  // namespace cosp::worker
