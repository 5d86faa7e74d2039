#pragma once

// The messages of a Chat Completions request, for translateChatRequest: the instructions from
// system / developer messages, and the Responses `input` items of the others. Internal to the
// chat translation.

#include <optional>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "worker/translate/request_common.h"

namespace cosp::worker::detail {

// The content part types whose `text` is text: "text", and the Responses "input_text" and
// "output_text" that some clients mix in.
bool isTextPartType(std::string_view type);

// The first pass over `messages`: checks that each is an object with a known role, joins the text
// of system and developer messages into `instructions` ("\n\n" between messages) and points
// `first_user_content` at the `content` of the first user message (for the session id; null when
// there is none). Returns the 400 of the first invalid message.
std::optional<common::ApiError> readChatInstructions(const common::JsonArray& messages, std::string& instructions,
                                                     const common::JsonValue*& first_user_content);

// Names every prompt_cache_breakpoint of a message's content parts (the backend rejects the field)
// in `request`'s dropped fields, or returns the strict-mode 400 naming the first. writeChatInput
// leaves them out.
std::optional<common::ApiError> dropChatPartBreakpoints(const common::JsonArray& messages, FieldPolicy& policy,
                                                        UpstreamRequest& request);

// Writes the Responses input items of the user, assistant, tool and function messages (the items
// only: the caller opens and closes the array). Runs after readChatInstructions, which checked the
// roles. Image data URLs are normalised in place, so `messages` is not const.
std::optional<common::ApiError> writeChatInput(common::JsonArray& messages, common::JsonWriter& w);

}  // namespace cosp::worker::detail
