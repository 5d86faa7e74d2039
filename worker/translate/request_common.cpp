#include "worker/translate/request_common.h"

#include <Poco/SHA1Engine.h>

#include <algorithm>
#include <cctype>

#include "common/json/json_parser.h"

namespace cosp::worker {

std::optional<ReasoningCompat> parseReasoningCompat(std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t.empty() || t == "none" || t == "off") return ReasoningCompat::None;
  if (t == "reasoning_content" || t == "reasoning-content") return ReasoningCompat::ReasoningContent;
  if (t == "think-tags" || t == "think_tags" || t == "think") return ReasoningCompat::ThinkTags;
  return std::nullopt;
}

std::string_view reasoningCompatName(ReasoningCompat compat) {
  switch (compat) {
    case ReasoningCompat::None:
      return "none";
    case ReasoningCompat::ReasoningContent:
      return "reasoning_content";
    case ReasoningCompat::ThinkTags:
      return "think-tags";
  }
  return "none";
}

std::vector<std::string> TranslateOptions::defaultDroppedFields() {
  return {"max_output_tokens",
          "max_tokens",
          "max_completion_tokens",
          "temperature",
          "top_p",
          "metadata",
          "user",
          "safety_identifier",
          "prompt_cache_retention",
          "truncation",
          "stream_options",
          "frequency_penalty",
          "presence_penalty",
          "seed",
          "logprobs",
          "top_logprobs",
          "logit_bias",
          "context_management",
          "prompt_cache_options",
          "service_tier"};
}

namespace detail {

common::Result<common::JsonValue> parseRequestObject(std::string_view body) {
  // Borrowed strings: the body outlives the translation, and the big payloads
  // (image data URLs) are then copied once, into the upstream body, not twice.
  common::JsonParseOptions options;
  options.borrow_strings = true;
  auto parsed = common::parseJson(body, options);
  if (!parsed.ok()) {
    const auto& e = parsed.error();
    return common::ApiError::invalidRequest("We could not parse the JSON body of your request: " + e.message +
                                                " (at byte " + std::to_string(e.offset) + ").",
                                            std::nullopt, std::string("invalid_json"));
  }
  if (!parsed.value().isObject()) {
    return common::ApiError::invalidRequest("The request body must be a JSON object.", std::nullopt,
                                            std::string("invalid_json"));
  }
  return std::move(parsed).value();
}

namespace {

// Offset of the base64 payload of a "data:<type>;base64,<payload>" URL, or npos.
std::size_t base64PayloadStart(std::string_view url) {
  if (url.size() < 5 || url.compare(0, 5, "data:") != 0) return std::string_view::npos;
  const std::size_t comma = url.find(',');
  if (comma == std::string_view::npos || comma < 12) return std::string_view::npos;
  // The media type part must end in ";base64" (case-insensitive).
  const std::string_view tail = url.substr(comma - 7, 7);
  static constexpr std::string_view kB64 = ";base64";
  for (std::size_t i = 0; i < 7; ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != kB64[i]) return std::string_view::npos;
  }
  return comma + 1;
}

}  // namespace

bool base64DataUrlNeedsNormalization(std::string_view url) {
  const std::size_t start = base64PayloadStart(url);
  if (start == std::string_view::npos) return false;
  const std::size_t len = url.size() - start;
  if (len % 4 == 2 || len % 4 == 3) return true;
  // string_view::find(char) is a memchr: the 9 MB images of the benchmark stay cheap.
  return url.find('-', start) != std::string_view::npos || url.find('_', start) != std::string_view::npos;
}

void normalizeImageUrlValue(common::JsonValue& value) {
  const auto view = value.stringView();
  if (view && base64DataUrlNeedsNormalization(*view)) normalizeBase64DataUrl(*value.mutableString());
}

bool normalizeBase64DataUrl(std::string& url) {
  const std::size_t start = base64PayloadStart(url);
  if (start == std::string::npos) return false;
  bool changed = false;
  if (url.find('-', start) != std::string::npos || url.find('_', start) != std::string::npos) {
    for (std::size_t i = start; i < url.size(); ++i) {
      if (url[i] == '-') {
        url[i] = '+';
      } else if (url[i] == '_') {
        url[i] = '/';
      }
    }
    changed = true;
  }
  const std::size_t len = url.size() - start;
  if (len % 4 == 2) {
    url.append("==");
    changed = true;
  } else if (len % 4 == 3) {
    url.push_back('=');
    changed = true;
  }
  return changed;
}

FieldPolicy::FieldPolicy(const TranslateOptions& options) : options_(options) {}

bool FieldPolicy::isListed(std::string_view key) const {
  return std::find(options_.dropped_fields.begin(), options_.dropped_fields.end(), key) !=
         options_.dropped_fields.end();
}

bool FieldPolicy::keepServiceTier(const common::JsonValue& value) const {
  if (!isListed("service_tier")) return true;
  const auto tier = value.stringView();
  return tier && (*tier == "priority" || *tier == "flex");
}

std::optional<common::ApiError> FieldPolicy::drop(std::string_view key, UpstreamRequest& request,
                                                  std::string_view param) {
  if (options_.strict) {
    const std::string name(param.empty() ? key : param);
    return common::ApiError::unsupported("Unsupported parameter: '" + name +
                                             "' is not supported by the Codex backend, and this proxy runs in strict "
                                             "mode (it refuses instead of dropping the field).",
                                         name);
  }
  // A hash set, not a search of the vector: a search made 100,000 unknown keys cost 11.5 s of CPU.
  if (!dropped_.insert(key).second) return std::nullopt;
  ++request.dropped_total;
  if (request.dropped.size() < UpstreamRequest::kMaxNamedDroppedFields) request.dropped.emplace_back(key);
  return std::nullopt;
}

std::optional<common::ApiError> checkEffort(std::string& effort, std::string_view param, std::string_view model,
                                            const common::ModelCatalog* catalog, FieldPolicy& policy,
                                            UpstreamRequest& request) {
  const common::CatalogModel* entry = modelLackingEffort(catalog, model, effort);
  if (entry == nullptr) return std::nullopt;
  if (policy.strict()) {
    return common::ApiError::invalidRequest("The model '" + std::string(model) +
                                                "' does not support reasoning effort '" + effort +
                                                "'. Supported efforts: " + supportedEffortsText(*entry) + ".",
                                            std::string(param), std::string("unsupported_value"));
  }
  effort = std::string(nearestSupportedEffort(*entry, effort));
  return policy.drop("reasoning.effort", request);
}

namespace {

// The `text` of the parts whose type `is_text` accepts, joined by newlines.
std::string partsText(const common::JsonValue& content, bool (*is_text)(std::string_view type)) {
  std::string out;
  if (const common::JsonArray* parts = content.getArray()) {
    for (const common::JsonValue& part : *parts) {
      const auto type = common::jsonString(part, "type");
      const auto text = common::jsonString(part, "text");
      if (type && is_text(*type) && text) {
        if (!out.empty()) out.push_back('\n');
        out.append(*text);
      }
    }
  }
  return out;
}

}  // namespace

std::string chooseSessionId(const CallHints& hints, const common::JsonValue* prompt_cache_key,
                            std::string_view instructions, const common::JsonValue* first_user_content,
                            bool (*is_text)(std::string_view type)) {
  if (!hints.client_session_id.empty()) return std::string(hints.client_session_id);
  if (const auto key = prompt_cache_key != nullptr ? prompt_cache_key->stringView() : std::nullopt;
      key && !key->empty()) {
    return std::string(*key);
  }
  if (first_user_content == nullptr) return sessionIdFor(instructions, {});
  // A string content is hashed where it lies: it may be most of the body.
  if (const auto s = first_user_content->stringView()) return sessionIdFor(instructions, *s);
  return sessionIdFor(instructions, partsText(*first_user_content, is_text));
}

std::string sessionIdFor(std::string_view instructions, std::string_view first_user_text) {
  Poco::SHA1Engine sha;
  static constexpr std::string_view kDomain = "codex-sub-proxy session v1\n";
  sha.update(kDomain.data(), static_cast<unsigned>(kDomain.size()));
  sha.update(instructions.data(), static_cast<unsigned>(instructions.size()));
  sha.update('\0');
  sha.update(first_user_text.data(), static_cast<unsigned>(first_user_text.size()));
  Poco::DigestEngine::Digest d = sha.digest();
  d[6] = static_cast<unsigned char>((d[6] & 0x0F) | 0x50);  // version 5 (name-based, SHA-1)
  d[8] = static_cast<unsigned char>((d[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 0xF]);
  }
  return out;
}

common::ApiError missingParam(const std::string& param) {
  return common::ApiError::invalidRequest("Missing required parameter: '" + param + "'.", param,
                                          std::string("missing_required_parameter"));
}

common::ApiError invalidType(const std::string& param, std::string_view expected) {
  return common::ApiError::invalidRequest("Invalid type for '" + param + "': expected " + std::string(expected) + ".",
                                          param, std::string("invalid_type"));
}

common::ApiError invalidValue(const std::string& param, std::string_view detail) {
  return common::ApiError::invalidRequest("Invalid value for '" + param + "': " + std::string(detail), param,
                                          std::string("invalid_value"));
}

}  // namespace detail
}  // namespace cosp::worker
