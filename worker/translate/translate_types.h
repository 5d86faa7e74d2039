#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/catalog/model_catalog.h"

namespace cosp::worker {

// How reasoning summaries reach a Chat Completions client (REASONING_COMPAT in README.md, Configuration).
enum class ReasoningCompat {
  None,              // dropped (default)
  ReasoningContent,  // message.reasoning_content / delta.reasoning_content
  ThinkTags,         // "<think>\n...\n</think>\n\n" before the content
};

// "none", "reasoning_content", "think-tags" (also "think_tags"); nullopt otherwise.
std::optional<ReasoningCompat> parseReasoningCompat(std::string_view text);
std::string_view reasoningCompatName(ReasoningCompat compat);

struct TranslateOptions {
  // Top-level fields removed before forwarding (DROPPED_PARAMS, README.md). "service_tier" in the
  // list means: removed unless its value is "priority" or "flex".
  std::vector<std::string> dropped_fields = defaultDroppedFields();
  // Refuse with 400 naming the field instead of dropping it.
  bool strict = false;
  // Chat route only: when not None (and no JSON output is requested) the
  // upstream request asks for reasoning summaries (reasoning.summary "auto").
  ReasoningCompat reasoning_compat = ReasoningCompat::None;

  static std::vector<std::string> defaultDroppedFields();
};

// What one call brings besides its body: facts from its headers and the worker's current catalog.
struct CallHints {
  // The client's session id (session-id / session_id / x-session-id header); empty = none.
  std::string_view client_session_id;
  // x-openai-internal-codex-responses-lite: true: the body's shape is the client's (README.md, Model calls).
  bool responses_lite = false;
  // The served models and their efforts; null = no catalog (efforts are then not checked).
  const common::ModelCatalog* catalog = nullptr;
  // A `response.create` message on the WebSocket route: previous_response_id is relayed, since the
  // backend honours it within one WebSocket connection (README.md, HTTP surface).
  bool keep_previous_response_id = false;
};

struct UpstreamRequest {
  std::string body;            // JSON for the Codex backend (store:false, stream:true, ...)
  std::string model;           // the model id the client asked for (before suffix stripping)
  std::string upstream_model;  // the model id sent upstream (suffix stripped)
  // Removed or rewritten field names -> x-codex-sub-proxy-dropped: distinct, first seen first, at
  // most kMaxNamedDroppedFields of them (a hostile body can carry 100,000 unknown keys; the header
  // shows about 1 KiB of names anyway). dropped_total counts every distinct one, named or not.
  static constexpr std::size_t kMaxNamedDroppedFields = 64;
  std::vector<std::string> dropped;
  std::size_t dropped_total = 0;
  bool client_stream = false;  // client asked for stream:true
  bool include_usage = false;  // chat stream_options.include_usage
  bool json_output = false;    // response_format / text.format asks for JSON
  // One id per conversation: the client's session header, else the body's prompt_cache_key, else a
  // stable hash of instructions + first user message.
  std::string session_id;
};

// Token counts of a finished response, for the client's usage object and for logs.
struct TokenUsage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t total_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t reasoning_tokens = 0;
};

}  // namespace cosp::worker
