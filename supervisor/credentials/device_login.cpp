#include "supervisor/credentials/device_login.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <ostream>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "common/json/json_writer.h"
#include "common/net/url.h"
#include "common/os/exit_codes.h"
#include "supervisor/credentials/credential_seed.h"
#include "supervisor/credentials/credential_store.h"
#include "supervisor/credentials/oauth_client.h"

namespace cosp::supervisor {

namespace {

using common::kExitConfig;
using common::kExitFailure;
using common::kExitOk;
constexpr int64_t kDefaultIntervalS = 5;

std::string jsonBody(std::initializer_list<std::pair<const char*, std::string>> fields) {
  common::JsonWriter w;
  w.beginObject();
  for (const auto& [key, value] : fields) w.member(key, value);
  w.endObject();
  return w.take();
}

std::optional<common::JsonValue> parseBody(const std::string& body) {
  return common::parseJsonObject(body, kCredentialJsonOptions);
}

std::string stringField(const std::optional<common::JsonValue>& obj, const char* key) {
  return obj ? common::jsonStringOr(*obj, key) : std::string();
}

struct DeviceCode {
  std::string device_auth_id;
  std::string user_code;
  int64_t interval_s = kDefaultIntervalS;
};

// The server sends interval as a string ("5") today; accept a number as well, and fall back to
// a sane default for anything else (a 0 would turn polling into a busy loop).
int64_t parseInterval(const std::optional<common::JsonValue>& obj) {
  const common::JsonValue* value = obj ? obj->find("interval") : nullptr;
  if (value == nullptr) return kDefaultIntervalS;
  std::optional<int64_t> seconds;
  if (auto text = value->stringView()) {
    int64_t parsed = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), parsed);
    if (ec == std::errc() && end == text->data() + text->size()) seconds = parsed;
  } else if (auto number = value->getDouble()) {
    if (*number > -1e15 && *number < 1e15) seconds = static_cast<int64_t>(*number);
  }
  return seconds ? std::clamp<int64_t>(*seconds, 1, 60) : kDefaultIntervalS;
}

struct Authorization {
  std::string code;
  std::string code_verifier;
};

// One step of the flow: its result, or the process exit code it ended with (the message is
// already on `err`).
template <typename T>
using Step = common::Result<T, int>;

// 1. Ask for a user code.
Step<DeviceCode> requestDeviceCode(HttpTransport& http, const std::string& issuer, std::ostream& err) {
  auto reply = http.post(issuer + "/api/accounts/deviceauth/usercode", "application/json",
                         jsonBody({{"client_id", kCodexClientId}}));
  if (!reply.ok()) {
    err << "codex-sub-proxy login: cannot reach " << issuer << ": " << reply.error() << "\n";
    return kExitFailure;
  }
  if (reply->status == 404) {
    err << "codex-sub-proxy login: device code login is not enabled at " << issuer << "\n";
    return kExitFailure;
  }
  if (reply->status < 200 || reply->status > 299) {
    err << "codex-sub-proxy login: device code request failed with HTTP " << reply->status << "\n";
    return kExitFailure;
  }
  std::optional<common::JsonValue> obj = parseBody(reply->body);
  DeviceCode device;
  device.device_auth_id = stringField(obj, "device_auth_id");
  device.user_code = stringField(obj, "user_code");
  if (device.user_code.empty()) device.user_code = stringField(obj, "usercode");
  if (device.device_auth_id.empty() || device.user_code.empty()) {
    err << "codex-sub-proxy login: unexpected device code response (no device_auth_id / user_code)\n";
    return kExitFailure;
  }
  device.interval_s = parseInterval(obj);
  return device;
}

// 3. Poll until approved or the deadline passes.
Step<Authorization> awaitApproval(HttpTransport& http, const std::string& issuer, const DeviceCode& device,
                                  Clock& clock, std::chrono::seconds patience, std::ostream& err) {
  const auto deadline = clock.steadyNow() + patience;
  const std::string poll_body = jsonBody({{"device_auth_id", device.device_auth_id}, {"user_code", device.user_code}});
  bool reported_trouble = false;
  for (;;) {
    auto reply = http.post(issuer + "/api/accounts/deviceauth/token", "application/json", poll_body);
    if (reply.ok() && reply->status >= 200 && reply->status <= 299) {
      std::optional<common::JsonValue> obj = parseBody(reply->body);
      Authorization auth{stringField(obj, "authorization_code"), stringField(obj, "code_verifier")};
      if (auth.code.empty() || auth.code_verifier.empty()) {
        err << "codex-sub-proxy login: unexpected authorization response (no authorization_code / code_verifier)\n";
        return kExitFailure;
      }
      return auth;
    }
    const bool pending = reply.ok() && (reply->status == 403 || reply->status == 404);
    const bool retryable = !reply.ok() || reply->status == 429 || reply->status >= 500;
    if (!pending && !retryable) {
      err << "codex-sub-proxy login: device authorization failed with HTTP " << reply->status << "\n";
      return kExitFailure;
    }
    if (retryable && !reported_trouble) {
      err << "codex-sub-proxy login: "
          << (reply.ok() ? "server answered HTTP " + std::to_string(reply->status) : reply.error())
          << "; still waiting\n";
      reported_trouble = true;
    }
    const auto now = clock.steadyNow();
    if (now >= deadline) {
      err << "codex-sub-proxy login: timed out after " << patience.count() / 60 << " minutes waiting for approval\n";
      return kExitFailure;
    }
    auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(device.interval_s), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    clock.sleepFor(wait);
  }
}

// 5. Hand the result over: on `out` (print_json) or into STATE_DIR/credentials.json.
int handOver(const StoredCredentials& creds, const CredentialSettings& settings, bool print_json, std::ostream& err,
             std::ostream& out) {
  if (print_json) {
    // The original project's shape and key order.
    common::JsonValue obj = common::JsonValue::object();
    obj.set("refresh_token", creds.refresh_token);
    obj.set("access_token", creds.access_token);
    obj.set("expires_at",
            creds.expires_at_ms > 0 ? common::JsonValue(creds.expires_at_ms / 1000) : common::JsonValue());
    out << common::toPrettyJson(obj) << "\n";
    out.flush();
    err << "Signed in.\n";
    return kExitOk;
  }
  CredentialStore store(settings.state_dir, settings.store_file);
  if (auto write_error = store.save(creds)) {
    err << "codex-sub-proxy login: " << *write_error << "\n";
    return kExitFailure;
  }
  err << "Signed in; credentials saved to " << store.path() << "\n";
  return kExitOk;
}

}  // namespace

int runDeviceLogin(const CredentialSettings& settings, bool print_json, std::ostream& err, std::ostream& out,
                   const DeviceLoginHooks& hooks) {
  Clock& clock = hooks.clock ? *hooks.clock : RealClock::instance();
  if (auto issuer_url = common::parseUrl(settings.auth_base_url); !issuer_url.ok()) {
    err << "codex-sub-proxy login: OPENAI_AUTH_BASE_URL: " << issuer_url.error() << "\n";
    return kExitConfig;
  }
  if (!print_json && settings.state_dir.empty()) {
    err << "codex-sub-proxy login: no state directory (set STATE_DIR or use --print)\n";
    return kExitConfig;
  }
  std::shared_ptr<HttpTransport> http = hooks.transport;
  if (!http) {
    auto made = makeTransportFor(settings);
    if (!made.ok()) {
      err << "codex-sub-proxy login: " << made.error() << "\n";
      return kExitConfig;
    }
    http = made.value();
  }
  const std::string issuer = joinIssuerUrl(settings.auth_base_url, "");

  auto device = requestDeviceCode(*http, issuer, err);
  if (!device.ok()) return device.error();

  // 2. Tell the human. The user code is meant to be shown; it is not a credential by itself.
  err << "\nTo sign in with ChatGPT, open this page in a browser:\n  " << issuer << "/codex/device\n"
      << "and enter this one-time code (it expires in " << hooks.deadline.count() / 60 << " minutes):\n  "
      << device->user_code << "\n"
      << "Never share the code with anyone.\nWaiting for approval...\n";
  err.flush();

  auto auth = awaitApproval(*http, issuer, device.value(), clock, hooks.deadline, err);
  if (!auth.ok()) return auth.error();

  // 4. Exchange the authorization code for tokens.
  auto tokens = exchangeAuthorizationCode(*http, issuer, auth->code, auth->code_verifier);
  if (!tokens.ok()) {
    err << "codex-sub-proxy login: token exchange failed: " << tokens.error().message << "\n";
    return kExitFailure;
  }
  if (tokens->refresh_token.empty()) {
    err << "codex-sub-proxy login: token exchange returned no refresh_token\n";
    return kExitFailure;
  }

  // Record the configured seed's hash: the fresh file must win over a stale OPENAI_REFRESH_TOKEN
  // at the next start (README.md, "Which wins at start").
  StoredCredentials base;
  if (auto seed = loadCredentialSeed(settings); seed.ok()) base.seed_hash = seed->creds.seed_hash;
  return handOver(applyTokens(base, tokens.value(), clock.unixMillis(), settings.account_id), settings, print_json, err,
                  out);
}

}  // namespace cosp::supervisor
