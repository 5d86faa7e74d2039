#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cosp::test {

// Remote compaction v2, as the real backend answers the Codex CLI (docs: ../shared/BACKEND.md,
// "Compaction"): an ordinary /responses stream whose `input` ends with
// `{"type":"compaction_trigger"}` is answered with exactly one
// `{"type":"compaction","encrypted_content":…}` output item, which the CLI sends back in its next
// input in place of the history it compacted.

// The scenario a compaction request is recorded with (RecordedRequest::scenario).
inline constexpr const char* kCompactionScenario = "compaction";

// True when the body is a JSON object whose `input` array ends with a `compaction_trigger` item.
bool endsWithCompactionTrigger(std::string_view body);

// The encrypted_content of the compaction answered to request `index`. The real one is an opaque
// summary of the conversation; the fake's carries the conversation's current scenario marker
// (`[[scenario:…]]`, the last one in the compacted input) when there is one, so that the turn
// after the compaction, whose history no longer holds that marker, goes on with the same
// scenario instead of starting over.
std::string compactionContent(std::size_t index, const std::optional<std::string>& carried_scenario);

// The SSE transcript (events separated by blank lines): response.created, response.in_progress,
// output_item.added and output_item.done of the one compaction item, response.completed with a
// small usage (the compacted history is short).
std::string compactionTranscript(std::string_view model, std::size_t index, std::string_view encrypted_content);

}  // namespace cosp::test
