// Chat Completions -> Codex Responses translation (translateChatRequest) on arbitrary bodies,
// with the default options, strict options and each REASONING_COMPAT mode.
//
// Invariants: errors are 400s (500 only for out of memory) with a message; an accepted body gives
// a valid upstream body (translate_checks.h); strict agrees with the default; REASONING_COMPAT
// only changes the reasoning member, never whether a request is accepted or what is dropped; the
// translation is deterministic.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/json/json_parser.h"
#include "tests/fuzz/translate_checks.h"
#include "worker/translate/chat_request.h"

namespace {

using cosp::worker::ReasoningCompat;
using cosp::worker::TranslateOptions;

// Names a dropped field may share with a member of the upstream body: the translator's own members
// that are not Chat Completions fields, and keys the client duplicated (chat reports every removed
// occurrence, so an earlier "service_tier":"auto" is dropped while a later "flex" is forwarded).
std::set<std::string> exemptions(std::string_view body) {
  std::set<std::string> out = {"instructions", "input", "text", "include"};
  auto parsed = cosp::common::parseJson(body);
  if (!parsed.ok() || !parsed.value().isObject()) return out;
  std::set<std::string_view> seen;
  for (const cosp::common::JsonMember& m : *parsed.value().getObject()) {
    if (!seen.insert(m.key).second) out.insert(m.key);
  }
  return out;
}

void check(std::string_view body, const cosp::worker::UpstreamRequest& req) {
  cosp::fuzz::checkUpstream(body, req, exemptions(body));
}

TranslateOptions optionsWith(bool strict, ReasoningCompat compat) {
  TranslateOptions o;
  o.strict = strict;
  o.reasoning_compat = compat;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  static const TranslateOptions kDefault = optionsWith(false, ReasoningCompat::None);
  static const TranslateOptions kStrict = optionsWith(true, ReasoningCompat::None);
  static const TranslateOptions kContent = optionsWith(false, ReasoningCompat::ReasoningContent);
  static const TranslateOptions kThink = optionsWith(false, ReasoningCompat::ThinkTags);

  const auto normal = cosp::worker::translateChatRequest(body, kDefault);
  if (normal.ok()) {
    check(body, normal.value());
  } else {
    cosp::fuzz::checkError(normal.error());
  }
  cosp::fuzz::checkStrictAgreesWithDefault(normal, cosp::worker::translateChatRequest(body, kStrict));

  // Alternate the compat modes between inputs: each costs a whole translation.
  const TranslateOptions& compat_options = size % 2 == 0 ? kContent : kThink;
  const auto compat = cosp::worker::translateChatRequest(body, compat_options);
  FUZZ_CHECK(compat.ok() == normal.ok());
  if (compat.ok()) {
    check(body, compat.value());
    FUZZ_CHECK(compat.value().dropped == normal.value().dropped);
    FUZZ_CHECK(compat.value().session_id == normal.value().session_id);
  } else {
    FUZZ_CHECK(compat.error().message == normal.error().message);
  }
  // Deterministic: the same body gives the same upstream body.
  const auto again = cosp::worker::translateChatRequest(body, kDefault);
  FUZZ_CHECK(again.ok() == normal.ok());
  if (again.ok()) FUZZ_CHECK(again.value().body == normal.value().body);
  return 0;
}
