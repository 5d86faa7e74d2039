// /v1/responses normalisation (normalizeResponsesRequest) on arbitrary bodies, default and strict,
// and as Responses-Lite.
//
// Invariants: errors are 400s (500 only for out of memory) with a message; an accepted body gives
// a valid upstream body (translate_checks.h); strict agrees with the default; input items carry no
// "id", no "system" role, and no item_reference survives; previous_response_id never reaches the
// backend; and every other top-level member is the client's own value, untouched (normalisation
// only passes through). Responses-Lite accepts what the default accepts, and every top-level
// member it sends but input, store, stream, model, reasoning and prompt_cache_key is the client's.

#include <cstdint>
#include <string_view>

#include "common/json/json_parser.h"
#include "tests/fuzz/translate_checks.h"
#include "worker/translate/responses_request.h"

namespace {

using cosp::common::JsonMember;
using cosp::common::JsonValue;

bool rewrittenKey(std::string_view key) {
  return key == "model" || key == "instructions" || key == "input" || key == "store" || key == "stream" ||
         key == "reasoning" || key == "prompt_cache_key" || key == "include" || key == "tools" || key == "tool_choice";
}

void checkItems(const JsonValue& body) {
  for (const JsonValue& item : *cosp::common::jsonArray(body, "input")) {
    FUZZ_CHECK(item.isObject());
    FUZZ_CHECK(item.find("id") == nullptr);
    FUZZ_CHECK(cosp::common::jsonString(item, "type") != std::string_view("item_reference"));
    const auto type = cosp::common::jsonString(item, "type");
    if (!type || *type == "message") FUZZ_CHECK(cosp::common::jsonString(item, "role") != std::string_view("system"));
  }
}

// Responses-Lite: the client's shape, but for what the backend needs.
void checkLite(std::string_view request, const cosp::worker::UpstreamRequest& req) {
  const JsonValue body = cosp::fuzz::parseOutput(req.body);
  FUZZ_CHECK(cosp::common::jsonBool(body, "store") == false);
  FUZZ_CHECK(cosp::common::jsonBool(body, "stream") == true);
  cosp::fuzz::checkSessionId(request, req);
  FUZZ_CHECK(cosp::common::jsonString(body, "prompt_cache_key") == std::string_view(req.session_id));
  checkItems(body);
  auto client = cosp::common::parseJson(request);
  FUZZ_CHECK(client.ok());
  for (const JsonMember& m : *body.getObject()) {
    if (m.key == "model" || m.key == "input" || m.key == "store" || m.key == "stream" || m.key == "reasoning" ||
        m.key == "prompt_cache_key") {
      continue;
    }
    const JsonValue* original = client.value().find(m.key);
    FUZZ_CHECK(original != nullptr);
    FUZZ_CHECK(*original == m.value);
  }
}

void checkNormalized(std::string_view request, const cosp::worker::UpstreamRequest& req) {
  const JsonValue body = cosp::fuzz::checkUpstream(request, req);
  FUZZ_CHECK(body.find("previous_response_id") == nullptr);
  checkItems(body);
  // The request parsed once already, so it parses again; the last duplicate is the one kept.
  auto client = cosp::common::parseJson(request);
  FUZZ_CHECK(client.ok());
  for (const JsonMember& m : *body.getObject()) {
    if (rewrittenKey(m.key)) continue;
    const JsonValue* original = client.value().find(m.key);
    FUZZ_CHECK(original != nullptr);
    FUZZ_CHECK(*original == m.value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  static const cosp::worker::TranslateOptions kDefault;
  static const cosp::worker::TranslateOptions kStrict = [] {
    cosp::worker::TranslateOptions o;
    o.strict = true;
    return o;
  }();

  const auto normal = cosp::worker::normalizeResponsesRequest(body, kDefault);
  if (normal.ok()) {
    checkNormalized(body, normal.value());
  } else {
    cosp::fuzz::checkError(normal.error());
  }
  cosp::fuzz::checkStrictAgreesWithDefault(normal, cosp::worker::normalizeResponsesRequest(body, kStrict));
  cosp::worker::CallHints lite;
  lite.responses_lite = true;
  const auto lite_result = cosp::worker::normalizeResponsesRequest(body, kDefault, lite);
  if (lite_result.ok()) {
    checkLite(body, lite_result.value());
  } else {
    cosp::fuzz::checkError(lite_result.error());
  }
  return 0;
}
