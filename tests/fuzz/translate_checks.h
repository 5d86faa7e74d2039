#pragma once

// Invariants shared by the request translation targets (chat_request, responses_request).

#include <cctype>
#include <set>
#include <string>
#include <string_view>

#include "common/error/api_error.h"
#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/util/result.h"
#include "tests/fuzz/fuzz_check.h"
#include "worker/translate/translate_types.h"

namespace cosp::fuzz {

// Upstream bodies nest client values a level or two deeper than the request did, so they are
// re-read with a higher depth limit: this checks that they are JSON, not the request limit.
inline common::JsonValue parseOutput(std::string_view text) {
  common::JsonParseOptions options;
  options.max_depth = 4096;
  auto parsed = common::parseJson(text, options);
  FUZZ_CHECK(parsed.ok());
  return std::move(parsed).value();
}

inline void checkError(const common::ApiError& e) {
  // 400 for anything the client sent; 500 only for running out of memory.
  FUZZ_CHECK(e.status == 400 || e.status == 500);
  FUZZ_CHECK(!e.type.empty());
  FUZZ_CHECK(!e.message.empty());
  FUZZ_CHECK(!e.param || !e.param->empty());
}

inline bool isSessionId(std::string_view id) {
  if (id.size() != 36 || id[14] != '5') return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (id[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

// The session id of a call without a session header (the targets send none): the client's
// non-empty prompt_cache_key (the last one, as the translators read duplicates), else the stable
// hash of instructions and first user message.
inline void checkSessionId(std::string_view request, const worker::UpstreamRequest& req) {
  auto client = common::parseJson(request);
  FUZZ_CHECK(client.ok());
  const auto key = common::jsonString(client.value(), "prompt_cache_key");
  if (key && !key->empty()) {
    FUZZ_CHECK(req.session_id == *key);
  } else {
    FUZZ_CHECK(isSessionId(req.session_id));
  }
}

// What every upstream body of `request` has, whatever the route: one JSON object, each top-level
// key once, model = the suffix-stripped model, instructions a string, input an array, store:false,
// stream:true, the session id of checkSessionId as prompt_cache_key, and none of the dropped
// fields. Exceptions: store is rewritten to false rather than removed, and `exempt` names members a
// dropped field may share a name with: ones the translator writes itself (chat has no "input"
// field, say, so a client's is dropped while the upstream body has its own), or a duplicated key
// of which only some occurrences were dropped.
inline common::JsonValue checkUpstream(std::string_view request, const worker::UpstreamRequest& req,
                                       const std::set<std::string>& exempt = {}) {
  common::JsonValue body = parseOutput(req.body);
  FUZZ_CHECK(body.isObject());
  std::set<std::string_view> keys;
  for (const common::JsonMember& m : *body.getObject()) FUZZ_CHECK(keys.insert(m.key).second);
  FUZZ_CHECK(!req.model.empty());
  FUZZ_CHECK(req.model.starts_with(req.upstream_model));
  FUZZ_CHECK(common::jsonString(body, "model") == std::string_view(req.upstream_model));
  FUZZ_CHECK(common::jsonString(body, "instructions").has_value());
  FUZZ_CHECK(common::jsonArray(body, "input") != nullptr);
  FUZZ_CHECK(common::jsonBool(body, "store") == false);
  FUZZ_CHECK(common::jsonBool(body, "stream") == true);
  std::set<std::string_view> dropped;
  for (const std::string& name : req.dropped) {
    FUZZ_CHECK(dropped.insert(name).second);
    FUZZ_CHECK(name == "store" || exempt.count(name) != 0 || body.find(name) == nullptr);
  }
  checkSessionId(request, req);
  FUZZ_CHECK(common::jsonString(body, "prompt_cache_key") == std::string_view(req.session_id));
  return body;
}

// Strict mode differs from the default only in refusing what the default drops, so: strict
// accepts exactly when the default accepts without dropping anything, and then says the same.
inline void checkStrictAgreesWithDefault(const common::Result<worker::UpstreamRequest>& normal,
                                         const common::Result<worker::UpstreamRequest>& strict) {
  const bool normal_clean = normal.ok() && normal.value().dropped.empty();
  FUZZ_CHECK(strict.ok() == normal_clean);
  if (!strict.ok()) return;
  const worker::UpstreamRequest& a = normal.value();
  const worker::UpstreamRequest& b = strict.value();
  FUZZ_CHECK(a.body == b.body);
  FUZZ_CHECK(a.model == b.model && a.upstream_model == b.upstream_model && a.session_id == b.session_id);
  FUZZ_CHECK(a.client_stream == b.client_stream && a.include_usage == b.include_usage &&
             a.json_output == b.json_output);
}

}  // namespace cosp::fuzz
