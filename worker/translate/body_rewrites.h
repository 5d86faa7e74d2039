#pragma once

// Rewrites of request body parts that both routes apply (README.md, Model calls: body
// normalisation): the tool types the backend no longer knows, content parts without
// prompt_cache_breakpoint, and `include` asking for encrypted reasoning. Internal to the
// translation; each writes straight into the upstream body, so no part of a large body is copied
// twice.

#include <string_view>

#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::worker::detail {

// The `include` entry that keeps reasoning across turns under store:false.
inline constexpr std::string_view kEncryptedReasoning = "reasoning.encrypted_content";
// A content-part field the backend rejects ("Unsupported parameter").
inline constexpr std::string_view kPromptCacheBreakpoint = "prompt_cache_breakpoint";

// Writes a tool, or a tool_choice value, with every web_search_preview* type
// ("web_search_preview", "web_search_preview_2025_03_11", ...: types the backend rejects; its
// "web_search" takes the same options), also inside an allowed_tools choice, written as
// "web_search"; the rest as it is.
void writeToolRenamingPreview(const common::JsonValue& tool, common::JsonWriter& w);

// Writes an object without the member `key` (every occurrence).
void writeObjectWithout(const common::JsonValue& object, std::string_view key, common::JsonWriter& w);

// Writes the member "include": the client's entries (`include` may be null: none) plus
// kEncryptedReasoning unless one of them already is it.
void writeIncludeWithEncryptedReasoning(const common::JsonValue* include, common::JsonWriter& w);

}  // namespace cosp::worker::detail
