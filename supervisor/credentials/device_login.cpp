#include "supervisor/credentials/device_login.h"

#include <Poco/JSON/Object.h>

#include <algorithm>
#include <ostream>
#include <sstream>

#include "common/json/json_util.h"
#include "common/net/url.h"
#include "supervisor/credentials/credential_seed.h"
#include "supervisor/credentials/credential_store.h"
#include "supervisor/credentials/json_object.h"
#include "supervisor/credentials/oauth_client.h"

namespace cosp::supervisor {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitConfig = 78;
constexpr int64_t kDefaultIntervalS = 5;

std::string stringField(const Poco::JSON::Object::Ptr& obj, const char* key) {
  return obj ? common::pocoOptString(*obj, key).value_or(std::string()) : std::string();
}

std::string jsonBody(std::initializer_list<std::pair<const char*, std::string>> fields) {
  Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [key, value] : fields) obj.set(key, value);
  std::ostringstream out;
  obj.stringify(out);
  return out.str();
}

struct DeviceCode {
  std::string device_auth_id;
  std::string user_code;
  int64_t interval_s = kDefaultIntervalS;
};

// The server sends interval as a string ("5") today; accept a number as well, and fall back to
// a sane default for anything else (a 0 would turn polling into a busy loop).
int64_t parseInterval(const Poco::JSON::Object::Ptr& obj) {
  if (!obj || !obj->has("interval") || obj->isNull("interval")) return kDefaultIntervalS;
  try {
    int64_t v = obj->get("interval").convert<int64_t>();
    return std::clamp<int64_t>(v, 1, 60);
  } catch (const Poco::Exception&) {
    return kDefaultIntervalS;
  }
}

struct Authorization {
  std::string code;
  std::string code_verifier;
};

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

  // 1. Ask for a user code.
  DeviceCode device;
  {
    auto reply = http->post(issuer + "/api/accounts/deviceauth/usercode", "application/json",
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
    Poco::JSON::Object::Ptr obj = parseJsonObject(reply->body);
    device.device_auth_id = stringField(obj, "device_auth_id");
    device.user_code = stringField(obj, "user_code");
    if (device.user_code.empty()) device.user_code = stringField(obj, "usercode");
    if (device.device_auth_id.empty() || device.user_code.empty()) {
      err << "codex-sub-proxy login: unexpected device code response (no device_auth_id / user_code)\n";
      return kExitFailure;
    }
    device.interval_s = parseInterval(obj);
  }

  // 2. Tell the human. The user code is meant to be shown; it is not a credential by itself.
  err << "\nTo sign in with ChatGPT, open this page in a browser:\n  " << issuer << "/codex/device\n"
      << "and enter this one-time code (it expires in " << hooks.deadline.count() / 60 << " minutes):\n  "
      << device.user_code << "\n"
      << "Never share the code with anyone.\nWaiting for approval...\n";
  err.flush();

  // 3. Poll until approved or the deadline passes.
  Authorization auth;
  const auto started = clock.steadyNow();
  const auto deadline = started + hooks.deadline;
  const std::string poll_body = jsonBody({{"device_auth_id", device.device_auth_id}, {"user_code", device.user_code}});
  bool reported_trouble = false;
  for (;;) {
    auto reply = http->post(issuer + "/api/accounts/deviceauth/token", "application/json", poll_body);
    if (reply.ok() && reply->status >= 200 && reply->status <= 299) {
      Poco::JSON::Object::Ptr obj = parseJsonObject(reply->body);
      auth.code = stringField(obj, "authorization_code");
      auth.code_verifier = stringField(obj, "code_verifier");
      if (auth.code.empty() || auth.code_verifier.empty()) {
        err << "codex-sub-proxy login: unexpected authorization response (no authorization_code / code_verifier)\n";
        return kExitFailure;
      }
      break;
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
      err << "codex-sub-proxy login: timed out after " << hooks.deadline.count() / 60
          << " minutes waiting for approval\n";
      return kExitFailure;
    }
    auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(device.interval_s), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    clock.sleepFor(wait);
  }

  // 4. Exchange the authorization code for tokens.
  auto tokens = exchangeAuthorizationCode(*http, issuer, auth.code, auth.code_verifier);
  if (!tokens.ok()) {
    err << "codex-sub-proxy login: token exchange failed: " << tokens.error().message << "\n";
    return kExitFailure;
  }
  if (tokens->refresh_token.empty()) {
    err << "codex-sub-proxy login: token exchange returned no refresh_token\n";
    return kExitFailure;
  }

  // Record the configured seed's hash: the fresh file must win over a stale OPENAI_REFRESH_TOKEN
  // at the next start (SPEC §7 start-up rule).
  StoredCredentials base;
  if (auto seed = loadCredentialSeed(settings); seed.ok()) base.seed_hash = seed->creds.seed_hash;
  StoredCredentials creds = applyTokens(base, tokens.value(), clock.unixMillis(), settings.account_id);

  // 5. Hand the result over.
  if (print_json) {
    Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
    obj.set("refresh_token", creds.refresh_token);
    obj.set("access_token", creds.access_token);
    obj.set("expires_at", creds.expires_at_ms > 0
                              ? Poco::Dynamic::Var(static_cast<Poco::Int64>(creds.expires_at_ms / 1000))
                              : Poco::Dynamic::Var());
    obj.stringify(out, 2);
    out << "\n";
    out.flush();
    err << "Signed in.\n";
    return kExitOk;
  }
  CredentialStore store(settings.state_dir);
  if (auto write_error = store.save(creds)) {
    err << "codex-sub-proxy login: " << *write_error << "\n";
    return kExitFailure;
  }
  err << "Signed in; credentials saved to " << store.path() << "\n";
  return kExitOk;
}

}  // namespace cosp::supervisor
