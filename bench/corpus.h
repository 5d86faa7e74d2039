#pragma once

#include <cstddef>
#include <string>

namespace cosp::bench {

// Deterministic, realistic request bodies of about `target_bytes`: a long multi-turn agent
// conversation (system prompt, user questions with quotes, escapes and non-ASCII text,
// assistant tool calls whose arguments are JSON inside a string, tool results, answers) plus a
// base64 PNG data URL in the last user message. The image takes ~20% of a small body, ~40% of
// a 100 KB one and ~90% of a 10 MB one (a screenshot dominates real large bodies).
std::string chatRequestBody(std::size_t target_bytes);
// The same conversation as a /v1/responses body (input items: message, function_call with the
// item ids the AI SDK sends, function_call_output, input_image), flat tools, instructions.
std::string responsesRequestBody(std::size_t target_bytes);

// Text-heavy bodies (issue 17), like a long Codex session: no image, hundreds of turns of user
// text 1-4 KB, assistant tool calls whose arguments are JSON inside a string, tool outputs of
// code (escapes \n \t \" \\ and \u2014), answers with non-ASCII text; the responses shape
// also carries reasoning items (summary text and encrypted content).
std::string chatRequestTextBody(std::size_t target_bytes);
std::string responsesRequestTextBody(std::size_t target_bytes);

// A Codex backend SSE transcript: created, in_progress, a reasoning item, `text_deltas` text
// deltas of a message, then `tool_calls` function calls streamed as `arg_deltas` argument
// fragments each, the done events and response.completed with usage.
std::string responsesTranscript(int text_deltas, int tool_calls, int arg_deltas);

}  // namespace cosp::bench
