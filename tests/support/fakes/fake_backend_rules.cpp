#include "tests/support/fakes/fake_backend_rules.h"

#include <cctype>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"

namespace cosp::test {

namespace {

using common::JsonValue;

bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// "0.169.0" -> {0, 169, 0}; stops at the first character that is neither a digit nor a dot.
std::vector<long> versionParts(std::string_view v) {
  std::vector<long> parts;
  long current = 0;
  bool any = false;
  for (char c : v) {
    if (isDigit(c)) {
      if (current < 100000000) current = current * 10 + (c - '0');
      any = true;
    } else if (c == '.' && any) {
      parts.push_back(current);
      current = 0;
      any = false;
    } else {
      break;
    }
  }
  if (any) parts.push_back(current);
  return parts;
}

bool looksLikeVersion(std::string_view v) { return !v.empty() && isDigit(v.front()) && !versionParts(v).empty(); }

Rejection reject(std::string rule, std::string_view message) {
  return Rejection{400, detailBody(message), std::move(rule)};
}

std::optional<Rejection> checkBody(const JsonValue& body, bool responses_lite) {
  const auto stream = common::jsonBool(body, "stream");
  if (!stream || !*stream) return reject("body", "Stream must be set to true");
  const auto store = common::jsonBool(body, "store");
  if (!store || *store) return reject("body", "Store must be set to false");
  const JsonValue* instructions = common::jsonMember(body, "instructions");
  if (!responses_lite) {
    // The Responses-Lite shape carries the system prompt as developer messages instead.
    if (!instructions || instructions->isNull()) return reject("body", "Instructions are required");
  }
  if (instructions && !instructions->isNull() && !instructions->isString()) {
    return reject("body", "Invalid type for 'instructions': expected a string");
  }
  for (const auto& member : *body.getObject()) {
    if (member.key == "service_tier") {
      if (member.value.isNull() || member.value.stringView() == std::optional<std::string_view>("priority")) continue;
      return reject("body", "Unsupported parameter: service_tier");
    }
    for (std::string_view rejected : kRejectedFields) {
      if (member.key == rejected) return reject("body", "Unsupported parameter: " + member.key);
    }
  }
  if (const auto* input = common::jsonArray(body, "input")) {
    for (const auto& item : *input) {
      const auto* content = common::jsonArray(item, "content");
      if (!content) continue;
      for (const auto& part : *content) {
        if (common::jsonMember(part, "prompt_cache_breakpoint")) {
          return reject("body", "Unsupported parameter: prompt_cache_breakpoint");
        }
      }
    }
  }
  return std::nullopt;
}

bool hasSystemItem(const JsonValue& body) {
  const auto* input = common::jsonArray(body, "input");
  if (!input) return false;
  for (const auto& item : *input) {
    if (common::jsonString(item, "role") == std::optional<std::string_view>("system")) return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string_view> kRejectedFields = {"max_output_tokens",
                                                       "max_tokens",
                                                       "max_completion_tokens",
                                                       "temperature",
                                                       "top_p",
                                                       "metadata",
                                                       "user",
                                                       "safety_identifier",
                                                       "prompt_cache_retention",
                                                       "truncation",
                                                       "stream_options",
                                                       "frequency_penalty",
                                                       "presence_penalty",
                                                       "seed",
                                                       "logprobs",
                                                       "top_logprobs",
                                                       "logit_bias",
                                                       "context_management",
                                                       "prompt_cache_options"};

const std::array<RuleSwitch, 9> kRuleSwitches = {{
    {"version_gate", "--no-version-gate", &BackendRules::version_gate},
    {"reject_system_role", "--allow-system-role", &BackendRules::reject_system_role},
    {"body_checks", "--no-body-checks", &BackendRules::body_checks},
    {"reject_unknown_models", "--allow-unknown-models", &BackendRules::reject_unknown_models},
    {"cookies", "--no-cookies", &BackendRules::cookies},
    {"session_cache", "--no-session-cache", &BackendRules::session_cache},
    {"catalog", "--no-catalog", &BackendRules::catalog},
    {"models_etag_header", "--no-models-etag-header", &BackendRules::models_etag_header},
    {"remote_compaction", "--no-remote-compaction", &BackendRules::remote_compaction},
}};

BackendRules BackendRules::none() {
  BackendRules r;
  for (const RuleSwitch& s : kRuleSwitches) r.*s.rule = false;
  return r;
}

int compareVersions(std::string_view a, std::string_view b) {
  const auto pa = versionParts(a);
  const auto pb = versionParts(b);
  for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    const long x = i < pa.size() ? pa[i] : 0;
    const long y = i < pb.size() ? pb[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::optional<std::string> codexVersionOf(const std::optional<std::string>& version_header,
                                          const std::optional<std::string>& user_agent) {
  if (version_header && looksLikeVersion(*version_header)) return *version_header;
  if (!user_agent) return std::nullopt;
  std::string_view ua = *user_agent;
  const auto space = ua.find(' ');
  const std::string_view product = ua.substr(0, space);
  const auto slash = product.find('/');
  if (slash == std::string_view::npos || product.substr(0, 5) != "codex") return std::nullopt;
  const std::string_view version = product.substr(slash + 1);
  if (!looksLikeVersion(version)) return std::nullopt;
  return std::string(version);
}

bool modelIsGated(const BackendRules& rules, std::string_view model) {
  for (const auto& pattern : rules.gated_models) {
    if (!pattern.empty() && pattern.back() == '*') {
      if (model.substr(0, pattern.size() - 1) == std::string_view(pattern).substr(0, pattern.size() - 1)) return true;
    } else if (model == pattern) {
      return true;
    }
  }
  return false;
}

std::optional<Rejection> checkRequest(const BackendRules& rules, const RuleInput& in) {
  const bool any = rules.body_checks || rules.reject_system_role || rules.version_gate || rules.reject_unknown_models;
  if (!any) return std::nullopt;
  auto body = common::parseJsonObject(in.body);
  if (!body) {
    if (rules.body_checks) return reject("body", "We could not parse the JSON body of your request.");
    return std::nullopt;
  }
  if (rules.body_checks) {
    if (auto r = checkBody(*body, in.responses_lite)) return r;
  }
  if (rules.reject_system_role && hasSystemItem(*body)) return reject("system_role", "System messages are not allowed");
  const std::string model(common::jsonString(*body, "model").value_or(""));
  if (rules.reject_unknown_models && in.catalog_slugs && !in.catalog_slugs->empty() &&
      in.catalog_slugs->count(model) == 0) {
    return reject("unknown_model",
                  "The '" + model + "' model is not supported when using Codex with a ChatGPT account.");
  }
  if (rules.version_gate && modelIsGated(rules, model)) {
    const auto version = codexVersionOf(in.version_header, in.user_agent);
    if (!version || compareVersions(*version, rules.min_codex_version) < 0) {
      return reject("version_gate", "The '" + model +
                                        "' model requires a newer version of Codex. Please upgrade to the latest "
                                        "app or CLI and try again.");
    }
  }
  return std::nullopt;
}

std::string detailBody(std::string_view message) {
  common::JsonWriter w;
  w.beginObject().member("detail", message).endObject();
  return w.take();
}

std::string applyRulesJson(BackendRules& rules, std::string_view json) {
  auto parsed = common::parseJsonObject(json);
  if (!parsed) return "options: the body must be a JSON object";
  BackendRules next = rules;
  for (const auto& m : *parsed->getObject()) {
    bool* flag = nullptr;
    for (const RuleSwitch& s : kRuleSwitches) {
      if (m.key == s.key) flag = &(next.*s.rule);
    }
    if (flag) {
      if (!m.value.getBool()) return "options: '" + m.key + "' must be true or false";
      *flag = *m.value.getBool();
    } else if (m.key == "min_codex_version") {
      const auto v = m.value.stringView();
      if (!v || !looksLikeVersion(*v)) return "options: 'min_codex_version' must be a version like 0.150.0";
      next.min_codex_version = std::string(*v);
    } else if (m.key == "gated_models") {
      const auto* list = m.value.getArray();
      if (!list) return "options: 'gated_models' must be an array of strings";
      next.gated_models.clear();
      for (const auto& e : *list) {
        const auto s = e.stringView();
        if (!s) return "options: 'gated_models' must be an array of strings";
        next.gated_models.emplace_back(*s);
      }
    } else if (m.key == "all") {
      if (!m.value.getBool()) return "options: 'all' must be true or false";
      for (const RuleSwitch& s : kRuleSwitches) next.*s.rule = *m.value.getBool();
    } else {
      return "options: unknown key '" + m.key + "'";
    }
  }
  rules = std::move(next);
  return {};
}

}  // namespace cosp::test
