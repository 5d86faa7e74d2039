#pragma once

// Internal helpers shared by the chat translation and the Responses
// normalisation (README.md, Model calls: Responses requests). Not part of the handlers' API.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "common/util/result.h"
#include "worker/translate/effort_policy.h"
#include "worker/translate/translate_types.h"

namespace cosp::worker::detail {

// Parses a request body: malformed JSON or a non-object is a 400. String values
// may borrow from `body`, which must outlive the returned document.
common::Result<common::JsonValue> parseRequestObject(std::string_view body);

// Rewrites a base64 data URL in place when its payload is URL-safe base64
// ('-' '_') or lacks '=' padding. Returns true when it changed anything.
bool normalizeBase64DataUrl(std::string& url);
// True when normalizeBase64DataUrl would change `url` (a read-only check, so a
// borrowed 9 MB string is only copied when it really has to be rewritten).
bool base64DataUrlNeedsNormalization(std::string_view url);
// Applies normalizeBase64DataUrl to a string value (owned or borrowed) if needed.
void normalizeImageUrlValue(common::JsonValue& value);

// Decides what happens to top-level fields the backend rejects.
class FieldPolicy {
 public:
  explicit FieldPolicy(const TranslateOptions& options);

  // True when `key` is on the configured drop list.
  bool isListed(std::string_view key) const;
  // service_tier is kept for "priority" / "flex" only (when listed).
  bool keepServiceTier(const common::JsonValue& value) const;

  bool strict() const { return options_.strict; }

  // Records a removed/rewritten field in request.dropped / dropped_total (deduplicated,
  // first-seen order, constant time per call). In strict mode returns the 400 to send instead,
  // naming `param` (a nested field's path, e.g. "input[2].content[0].prompt_cache_breakpoint"),
  // or `key` when `param` is empty. `key` must outlive this policy: a key of the request
  // document, or a literal.
  std::optional<common::ApiError> drop(std::string_view key, UpstreamRequest& request, std::string_view param = {});

 private:
  const TranslateOptions& options_;
  std::unordered_set<std::string_view> dropped_;  // every name recorded so far, named or only counted
};

// The reasoning effort to send for `effort`, asked for in the field `param` ("reasoning_effort",
// "reasoning.effort", or "model" for a suffix), on the upstream model `model` (README.md, Model
// calls: efforts). Unchanged when the catalog allows it or cannot tell. Else: in strict mode the
// 400 naming the supported efforts; otherwise `effort` becomes the nearest supported one and
// "reasoning.effort" is recorded as rewritten.
std::optional<common::ApiError> checkEffort(std::string& effort, std::string_view param, std::string_view model,
                                            const common::ModelCatalog* catalog, FieldPolicy& policy,
                                            UpstreamRequest& request);

// The session id of a call (README.md, Model calls: Upstream headers): the client's session
// header, else the body's non-empty `prompt_cache_key` (null: none), else sessionIdFor(instructions,
// the first user message's text). That text is read only in the last case, from
// `first_user_content` (the message's `content`, or a Responses string `input`; null: none): a
// string as it is, or the `text` of the parts whose type `is_text` accepts, joined by newlines
// (anything else is skipped: validated elsewhere).
std::string chooseSessionId(const CallHints& hints, const common::JsonValue* prompt_cache_key,
                            std::string_view instructions, const common::JsonValue* first_user_content,
                            bool (*is_text)(std::string_view type));

// Stable session id (README.md, Model calls: Upstream headers): a name-based (v5-style, SHA-1) UUID of the
// instructions and the first user message text, so prompt caching keys stay
// the same across turns of one conversation.
std::string sessionIdFor(std::string_view instructions, std::string_view first_user_text);

// Error builders with OpenAI's wording style.
common::ApiError missingParam(const std::string& param);
common::ApiError invalidType(const std::string& param, std::string_view expected);
common::ApiError invalidValue(const std::string& param, std::string_view detail);

// "base[i]": the `param` of an error about an array element.
inline std::string at(const std::string& base, std::size_t i) { return base + "[" + std::to_string(i) + "]"; }

// A member that is present and not null (a null counts as absent).
inline common::JsonValue* present(common::JsonValue& obj, std::string_view key) {
  common::JsonValue* v = obj.find(key);
  return (v == nullptr || v->isNull()) ? nullptr : v;
}
inline const common::JsonValue* present(const common::JsonValue& obj, std::string_view key) {
  const common::JsonValue* v = obj.find(key);
  return (v == nullptr || v->isNull()) ? nullptr : v;
}

}  // namespace cosp::worker::detail
