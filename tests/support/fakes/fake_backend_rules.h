#pragma once

#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cosp::test {

// What the real Codex backend refuses before it streams anything (docs: ../shared/BACKEND.md,
// summarised in tests/README.md). Each rule is on by default, as on the real backend, and can be
// turned off one by one (FakeBackendOptions::rules, the program's flags, POST /__fake/options).
struct BackendRules {
  // A gated model asked for by a client whose Codex version is below `min_codex_version` (or
  // unknown) gets 400 "The '<model>' model requires a newer version of Codex...". The version is
  // the `version` header, else the one in a Codex-shaped User-Agent (`codex_cli_rs/0.169.0 (...)`).
  bool version_gate = true;
  std::string min_codex_version = "0.150.0";
  // Exact slugs, or prefixes ending in '*'.
  std::vector<std::string> gated_models = {"gpt-5.5", "gpt-5.6-*", "gpt-6-*"};
  // An input item with role "system" gets 400 "System messages are not allowed".
  bool reject_system_role = true;
  // `stream` must be true, `store` false, `instructions` present (unless the Responses-Lite header
  // is set), no rejected top-level field (kRejectedFields; `service_tier` only as "priority"), no
  // `prompt_cache_breakpoint` in an input content part.
  bool body_checks = true;
  // A model missing from the catalog gets 400 "The '<model>' model is not supported when using
  // Codex with a ChatGPT account." (as retired models and gpt-5.5-pro do).
  bool reject_unknown_models = true;
  // Every answer sets a Cloudflare `__cf_bm` cookie and a `_puid` one (which a client must not
  // keep: it is not on the Cloudflare allow-list).
  bool cookies = true;
  // A `session-id` header seen before makes `response.completed` report the whole input as cached;
  // its first request reports 0 cached tokens (the backend derives prompt-cache affinity from it).
  bool session_cache = true;
  // GET {base}/models serves the catalog (else 404, as a backend without the endpoint).
  bool catalog = true;
  // Model streams carry `x-models-etag` (the catalog's ETag; only while `catalog` is on).
  bool models_etag_header = true;
  // Remote compaction v2 (fake_backend_compaction.h): an input ending with a `compaction_trigger`
  // item is answered with one `compaction` item, whatever scenario the body's marker names.
  bool remote_compaction = true;

  // Everything off: the fake replays whatever it is sent, as it did before these rules.
  static BackendRules none();
};

// The on/off rules of BackendRules, one row each: the key that sets it in POST /__fake/options
// and the program's flag that turns it off. BackendRules::none(), {"all":...} and the flags all
// go through this table, so a new switch is added here once.
struct RuleSwitch {
  std::string_view key;       // "version_gate"
  std::string_view off_flag;  // "--no-version-gate"
  bool BackendRules::*rule;
};
extern const std::array<RuleSwitch, 9> kRuleSwitches;

// Top-level body fields the backend answers with 400 "Unsupported parameter: <name>"
// (`service_tier` apart: refused unless "priority"). It repeats the proxy's own list
// (TranslateOptions::defaultDroppedFields(), worker/translate/request_common.cpp) ON PURPOSE: the
// fake is ground truth independent of the code under test, so a field the proxy forgets to drop
// is refused here instead of passing because both read one list. Follow the backend
// (../shared/BACKEND.md) when changing it, not the proxy.
extern const std::vector<std::string_view> kRejectedFields;

// A refusal: status and the JSON body, plus which rule refused (recorded for tests).
struct Rejection {
  int status = 400;
  std::string body;
  std::string rule;  // "body", "system_role", "version_gate", "unknown_model"
};

// "0.169.0" < "0.170.0"; missing components count as 0; a non-numeric tail ("0.169.0-alpha.2")
// is ignored. Returns <0, 0, >0.
int compareVersions(std::string_view a, std::string_view b);

// The client's Codex version: the `version` header when it looks like a version, else the
// version of a User-Agent whose product starts with "codex" (`codex_cli_rs/0.169.0 (Linux ...)`,
// `codex_exec/0.169.0 ...`); nullopt when neither says.
std::optional<std::string> codexVersionOf(const std::optional<std::string>& version_header,
                                          const std::optional<std::string>& user_agent);

bool modelIsGated(const BackendRules& rules, std::string_view model);

// The request as the rules see it.
struct RuleInput {
  std::string_view body;
  std::optional<std::string> version_header;
  std::optional<std::string> user_agent;
  bool responses_lite = false;  // x-openai-internal-codex-responses-lite: true
  const std::set<std::string>* catalog_slugs = nullptr;
};

// The first rule the request breaks, or nullopt when the backend would serve it. A body that is
// not a JSON object is refused by body_checks only (the other rules need its fields).
std::optional<Rejection> checkRequest(const BackendRules& rules, const RuleInput& in);

// `{"detail":"<message>"}`, the backend's FastAPI-style error body.
std::string detailBody(std::string_view message);

// Applies a JSON object of rule settings ({"version_gate":false,"min_codex_version":"0.1.0",
// "gated_models":[...],...}); unknown keys and wrong types are an error (the message), empty
// when applied.
std::string applyRulesJson(BackendRules& rules, std::string_view json);

}  // namespace cosp::test
