#include "tests/support/fakes/fake_backend_compaction.h"

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::test {

namespace {

std::string quoted(std::string_view s) {
  std::string out;
  common::appendJsonString(out, s);
  return out;
}

}  // namespace

bool endsWithCompactionTrigger(std::string_view body) {
  const auto parsed = common::parseJsonObject(body);
  if (!parsed) return false;
  const auto* input = common::jsonArray(*parsed, "input");
  if (!input || input->empty()) return false;
  return common::jsonString(input->back(), "type") == std::optional<std::string_view>("compaction_trigger");
}

std::string compactionContent(std::size_t index, const std::optional<std::string>& carried_scenario) {
  std::string content = "gAAAAABfake-compaction-" + std::to_string(index);
  if (carried_scenario) content += " [[scenario:" + *carried_scenario + "]]";
  return content;
}

std::string compactionTranscript(std::string_view model, std::size_t index, std::string_view encrypted_content) {
  const std::string id = "resp_fake_compaction_" + std::to_string(index);
  const std::string item_id = "cmp_fake_" + std::to_string(index);
  const std::string model_json = quoted(model);
  const std::string item =
      R"({"id":")" + item_id + R"(","type":"compaction","encrypted_content":)" + quoted(encrypted_content) + "}";
  auto response = [&](std::string_view status, std::string_view usage) {
    return R"({"id":")" + id + R"(","object":"response","status":")" + std::string(status) + R"(","model":)" +
           model_json + R"(,"output":[],"usage":)" + std::string(usage) + "}";
  };
  auto event = [](std::string_view type, const std::string& data) {
    return "event: " + std::string(type) + "\ndata: " + data + "\n\n";
  };
  std::string sse;
  sse += event("response.created",
               R"({"type":"response.created","sequence_number":0,"response":)" + response("in_progress", "null") + "}");
  sse += event("response.in_progress", R"({"type":"response.in_progress","sequence_number":1,"response":)" +
                                           response("in_progress", "null") + "}");
  sse += event("response.output_item.added",
               R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":)" + item + "}");
  sse += event("response.output_item.done",
               R"({"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":)" + item + "}");
  sse += event(
      "response.completed",
      R"({"type":"response.completed","sequence_number":4,"response":)" +
          response("completed", R"({"input_tokens":1200,"input_tokens_details":{"cached_tokens":0},"output_tokens":80,)"
                                R"("output_tokens_details":{"reasoning_tokens":0},"total_tokens":1280})") +
          "}");
  return sse;
}

}  // namespace cosp::test
