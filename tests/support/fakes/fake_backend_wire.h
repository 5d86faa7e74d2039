#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace cosp::test {

// Small pieces of what the real backend puts on the wire besides the events: its catalog's
// ETag, request ids, Cloudflare cookies, and the usage it reports for a cached prompt.

// A strong ETag for a body: a quoted FNV-1a 64 hex digest, `"5d1f…"`.
std::string etagOf(std::string_view body);

// The slugs of a `{"models":[{"slug":…},…]}` catalog (empty when it is not one).
std::set<std::string> catalogSlugs(std::string_view catalog_json);

// A random lower-case hex string of `n` characters (not cryptographic: test ids only).
std::string randomHex(std::size_t n);
// A uuid-shaped random id, 8-4-4-4-12 hex.
std::string randomUuid();

// An HTTP date (IMF-fixdate, GMT) for `t`.
std::string httpDate(std::chrono::system_clock::time_point t);

// `Set-Cookie` values like Cloudflare's bot-management cookie and a ChatGPT one that is not on
// the Cloudflare allow-list. `value` is the cookie's value, without the name.
std::string cfBmCookie(std::string_view value, std::string_view domain, std::chrono::system_clock::time_point now);
std::string puidCookie(std::string_view value, std::string_view domain, std::chrono::system_clock::time_point now);

// The `input_tokens` of a usage object in `event` (a `response.completed` data line), if any.
std::optional<std::int64_t> inputTokensOf(std::string_view event);
// `event` with every `"cached_tokens":N` replaced by `"cached_tokens":<cached>`.
std::string withCachedTokens(std::string_view event, std::int64_t cached);

// The model named in a request body, or nullopt.
std::optional<std::string> modelOf(std::string_view body);
// Whether the body's `include` array lists "reasoning.encrypted_content".
bool includesEncryptedReasoning(std::string_view body);

}  // namespace cosp::test
