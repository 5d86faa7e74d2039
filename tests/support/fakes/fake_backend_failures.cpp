#include "tests/support/fakes/fake_backend_failures.h"

#include "common/json/json_writer.h"

namespace cosp::test {

namespace {

using common::JsonWriter;

// The messages are written for these tests after the shapes peers report; the proxy under test
// must relay whatever text the backend gives, so only the codes and types matter to it.
struct KnownFailure {
  std::string_view name;  // as in fail:<name>
  const char* code;       // the error's code; nullptr: the backend sends none
  const char* message;
  const char* type = nullptr;
  const char* param = nullptr;
  bool resets = false;
};

constexpr const char* kAtCapacity = "Selected model is at capacity. Please try a different model.";

constexpr KnownFailure kKnownFailures[] = {
    {"server_is_overloaded", "server_is_overloaded", "Our servers are currently overloaded. Please try again later."},
    {"context_length_exceeded", "context_length_exceeded",
     "Your input exceeds the context window of this model. Please adjust your input and try again.", nullptr, "input"},
    {"usage_limit_reached", "usage_limit_reached", "The usage limit has been reached", "usage_limit_reached", nullptr,
     true},
    {"rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1.5s."},
    {"insufficient_quota", "insufficient_quota",
     "You exceeded your current quota, please check your plan and billing details."},
    {"usage_not_included", "usage_not_included",
     "Codex is not included in your ChatGPT plan. Upgrade your plan to use Codex.", "usage_not_included"},
    {"cyber_policy", "cyber_policy", "This request was blocked under our cybersecurity usage policy."},
    {"server_error", "server_error",
     "An error occurred while processing your request. You can retry your request, or contact us through our help "
     "center at help.openai.com if the error persists."},
    {"at_capacity", "server_error", kAtCapacity},
    {"at_capacity_no_code", nullptr, kAtCapacity},
};

std::optional<std::string> optionalString(const char* s) { return s ? std::optional<std::string>(s) : std::nullopt; }

FailureBody bodyFor(std::string_view code) {
  for (const KnownFailure& k : kKnownFailures) {
    if (k.name != code) continue;
    FailureBody b;
    b.code = optionalString(k.code);
    b.message = k.message;
    b.type = optionalString(k.type);
    b.param = optionalString(k.param);
    b.resets = k.resets;
    return b;
  }
  FailureBody b;
  b.code = std::string(code);
  b.message = "fake failure: " + std::string(code);
  return b;
}

void writeErrorFields(JsonWriter& w, const FailureBody& b, std::int64_t now_s) {
  if (b.type) w.member("type", *b.type);
  if (b.code) w.member("code", *b.code);
  w.member("message", b.message);
  if (b.param) w.member("param", *b.param);
  if (b.resets) {
    w.member("plan_type", "plus");
    w.member("resets_at", now_s + kFakeResetsInSeconds);
    w.member("resets_in_seconds", kFakeResetsInSeconds);
  }
}

// A response object as the backend streams it in lifecycle events (trimmed to what clients read).
void writeResponse(JsonWriter& w, std::string_view id, std::string_view model, std::int64_t now_s, bool failed,
                   const FailureBody* error) {
  w.key("response").beginObject();
  w.member("id", id).member("object", "response").member("created_at", now_s);
  w.member("status", failed ? "failed" : "in_progress").member("background", false);
  w.key("error");
  if (error) {
    w.beginObject();
    writeErrorFields(w, *error, now_s);
    w.endObject();
  } else {
    w.null();
  }
  w.key("incomplete_details").null();
  w.member("model", model);
  w.key("output").beginArray().endArray();
  w.member("parallel_tool_calls", true).member("store", false).member("tool_choice", "auto");
  w.key("usage").null();
  w.endObject();
}

void appendEvent(std::string& out, std::string_view type, const std::string& data) {
  out += "event: ";
  out += type;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
}

}  // namespace

FailureBody failureBody(std::string_view code) { return bodyFor(code); }

std::string failureTranscript(const FailureSpec& spec, std::string_view model, std::int64_t now_s) {
  const FailureBody body = bodyFor(spec.code);
  const std::string id = "resp_fa11ed0000000000000000000000" + std::to_string(now_s % 100);
  std::string out;
  int seq = 0;
  for (const char* type : {"response.created", "response.in_progress"}) {
    JsonWriter w;
    w.beginObject().member("type", type).member("sequence_number", seq++);
    writeResponse(w, id, model, now_s, false, nullptr);
    appendEvent(out, type, w.endObject().take());
  }
  {
    // The real backend reports the quota in band before any output.
    const double used = body.resets ? 100.0 : 7.0;
    JsonWriter w;
    w.beginObject().member("type", "codex.rate_limits").member("plan_type", "plus");
    w.key("rate_limits").beginObject();
    w.key("primary").beginObject().member("used_percent", used).member("window_minutes", 300);
    w.member("reset_at", now_s + kFakeResetsInSeconds).endObject();
    w.key("secondary").beginObject().member("used_percent", 31.0).member("window_minutes", 10080);
    w.member("reset_at", now_s + 400000).endObject();
    w.endObject();
    w.key("credits").beginObject().member("has_credits", false).member("unlimited", false);
    w.key("balance").null().endObject();
    appendEvent(out, "codex.rate_limits", w.endObject().take());
  }
  if (spec.after_output) {
    const std::string item = "msg_fa11ed00000000001";
    {
      JsonWriter w;
      w.beginObject().member("type", "response.output_item.added").member("sequence_number", seq++);
      w.member("output_index", 0).key("item").beginObject().member("id", item).member("type", "message");
      w.member("status", "in_progress").key("content").beginArray().endArray().member("role", "assistant");
      appendEvent(out, "response.output_item.added", w.endObject().endObject().take());
    }
    {
      JsonWriter w;
      w.beginObject().member("type", "response.content_part.added").member("sequence_number", seq++);
      w.member("item_id", item).member("output_index", 0).member("content_index", 0);
      w.key("part").beginObject().member("type", "output_text").key("annotations").beginArray().endArray();
      w.member("text", "").endObject();
      appendEvent(out, "response.content_part.added", w.endObject().take());
    }
    {
      JsonWriter w;
      w.beginObject().member("type", "response.output_text.delta").member("sequence_number", seq++);
      w.member("item_id", item).member("output_index", 0).member("content_index", 0);
      w.member("delta", "Partial answer");
      appendEvent(out, "response.output_text.delta", w.endObject().take());
    }
  }
  JsonWriter w;
  if (spec.kind == FailureSpec::Kind::ErrorEvent) {
    w.beginObject().member("type", "error").member("sequence_number", seq++);
    // The event's own "type" is "error": a usage-limit type cannot sit beside it.
    FailureBody flat = body;
    flat.type.reset();
    writeErrorFields(w, flat, now_s);
    if (spec.status) w.member("status", *spec.status);
    appendEvent(out, "error", w.endObject().take());
  } else {
    w.beginObject().member("type", "response.failed").member("sequence_number", seq++);
    if (spec.status) w.member("status", *spec.status);
    writeResponse(w, id, model, now_s, true, &body);
    appendEvent(out, "response.failed", w.endObject().take());
  }
  return out;
}

}  // namespace cosp::test
