#include "tests/support/fakes/fake_oauth_server.h"

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

namespace cosp::test {

namespace {

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string base64Url(const std::string& data) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder.rdbuf()->setLineLength(0);
  encoder << data;
  encoder.close();
  return out.str();
}

std::string stringify(const Poco::JSON::Object& obj) {
  std::ostringstream out;
  obj.stringify(out);
  return out.str();
}

std::string randomHex(size_t bytes) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto v = static_cast<unsigned>(rng() & 0xFF);
    out.push_back(digits[v >> 4]);
    out.push_back(digits[v & 0xF]);
  }
  return out;
}

// OpenAI's error envelope, the shape the real token endpoint uses for refresh-token errors.
std::string openAiError(const std::string& message, const std::string& type, const std::string& code) {
  Poco::JSON::Object::Ptr inner = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  inner->set("message", message);
  inner->set("type", type);
  inner->set("param", Poco::Dynamic::Var());
  inner->set("code", code.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(code));
  Poco::JSON::Object outer;
  outer.set("error", inner);
  return stringify(outer);
}

// RFC 6749 §5.2 error shape (invalid_grant, invalid_client, ...).
std::string oauthError(const std::string& error, const std::string& description) {
  Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
  obj.set("error", error);
  obj.set("error_description", description);
  return stringify(obj);
}

std::map<std::string, std::string> parseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  std::istringstream in(body);
  std::string pair;
  while (std::getline(in, pair, '&')) {
    size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    std::string value = eq == std::string::npos ? std::string() : pair.substr(eq + 1);
    for (char& c : value) {
      if (c == '+') c = ' ';
    }
    std::string decoded_key, decoded_value;
    Poco::URI::decode(key, decoded_key);
    Poco::URI::decode(value, decoded_value);
    out[decoded_key] = decoded_value;
  }
  return out;
}

std::map<std::string, std::string> parseJsonStrings(const std::string& body) {
  std::map<std::string, std::string> out;
  try {
    Poco::JSON::Parser parser;
    Poco::JSON::Object::Ptr obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    for (const auto& [key, value] : *obj) {
      if (value.isString()) out[key] = value.toString();
    }
  } catch (const Poco::Exception&) {
  }
  return out;
}

const char* modeName(FakeOAuthServer::Mode mode) {
  switch (mode) {
    case FakeOAuthServer::Mode::Ok:
      return "ok";
    case FakeOAuthServer::Mode::Fail500:
      return "fail_500";
    case FakeOAuthServer::Mode::Fail429:
      return "fail_429";
    case FakeOAuthServer::Mode::InvalidGrant:
      return "invalid_grant";
    case FakeOAuthServer::Mode::Hang:
      return "hang";
  }
  return "ok";
}

struct Reply {
  int status = 200;
  std::string body;
  std::string retry_after;
};

}  // namespace

struct FakeOAuthServer::State {
  explicit State(Options o) : options(std::move(o)) {}

  Options options;
  std::string base_url;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  Mode mode = Mode::Ok;
  int mode_remaining = -1;
  std::chrono::milliseconds hang{0};
  std::chrono::milliseconds delay{0};  // before every /oauth/token answer, whatever the mode

  std::string current_refresh_token;
  std::set<std::string> retired_refresh_tokens;
  std::vector<std::string> issued_access_tokens;
  std::vector<std::string> received_refresh_tokens;
  std::vector<std::string> received_content_types;
  int serial = 0;
  Counts counts;

  // Device flow (one pending authorization at a time is plenty for tests).
  std::string device_auth_id, user_code, authorization_code, code_verifier;
  int device_polls = 0;

  // Takes the failure mode for one /oauth/token request (mu held).
  Mode takeMode() {
    Mode m = mode;
    if (mode != Mode::Ok && mode_remaining > 0 && --mode_remaining == 0) mode = Mode::Ok;
    return m;
  }

  // mu held.
  Reply issueTokens() {
    ++serial;
    const int64_t now = unixNow();
    const int64_t exp = now + options.access_ttl_s;
    std::string access = makeJwt(exp, options.account_id, "access-" + std::to_string(serial));
    std::string id = makeJwt(exp, options.account_id, "id-" + std::to_string(serial));
    std::string refresh = "rt_fake_" + std::to_string(serial) + "-" + randomHex(8);
    if (!current_refresh_token.empty()) retired_refresh_tokens.insert(current_refresh_token);
    current_refresh_token = refresh;
    issued_access_tokens.push_back(access);
    Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
    obj.set("access_token", access);
    obj.set("refresh_token", refresh);
    obj.set("id_token", id);
    obj.set("token_type", "Bearer");
    obj.set("expires_in", static_cast<Poco::Int64>(options.access_ttl_s));
    obj.set("scope", "openid profile email offline_access");
    return Reply{200, stringify(obj), {}};
  }

  Reply token(const std::string& content_type, const std::string& body) {
    std::unique_lock<std::mutex> lock(mu);
    ++counts.token_calls;
    received_content_types.push_back(content_type);
    const bool form = content_type.find("application/x-www-form-urlencoded") != std::string::npos;
    auto fields = form ? parseForm(body) : parseJsonStrings(body);
    const std::string grant = fields["grant_type"];
    if (grant == "refresh_token") {
      ++counts.refresh_calls;
      received_refresh_tokens.push_back(fields["refresh_token"]);
    } else if (grant == "authorization_code") {
      ++counts.exchange_calls;
    }

    Mode m = takeMode();
    if (delay.count() > 0) {
      cv.wait_for(lock, delay, [&] { return stopping; });
      if (stopping) return Reply{503, openAiError("shutting down", "server_error", ""), {}};
    }
    if (m == Mode::Hang) {
      cv.wait_for(lock, hang, [&] { return stopping; });
      if (stopping) return Reply{503, openAiError("shutting down", "server_error", ""), {}};
    }
    if (m == Mode::Fail500) return Reply{500, openAiError("internal error", "server_error", ""), {}};
    if (m == Mode::Fail429)
      return Reply{429, openAiError("rate limited", "rate_limit_error", "rate_limit_exceeded"), "1"};
    if (m == Mode::InvalidGrant) return Reply{400, oauthError("invalid_grant", "Invalid refresh token"), {}};

    if (fields["client_id"] != kClientId) return Reply{400, oauthError("invalid_client", "unknown client_id"), {}};
    if (grant == "refresh_token") {
      const std::string& presented = fields["refresh_token"];
      if (presented.empty() || presented != current_refresh_token) {
        ++counts.refresh_rejected;
        return Reply{401,
                     openAiError("Your refresh token has already been used or is not valid. Please sign in again.",
                                 "invalid_request_error", "refresh_token_reused"),
                     {}};
      }
      ++counts.refresh_ok;
      return issueTokens();
    }
    if (grant == "authorization_code") {
      const bool ok = !authorization_code.empty() && fields["code"] == authorization_code &&
                      fields["code_verifier"] == code_verifier &&
                      fields["redirect_uri"] == base_url + "/deviceauth/callback";
      if (!ok) return Reply{400, oauthError("invalid_grant", "bad authorization code, verifier or redirect_uri"), {}};
      authorization_code.clear();  // single use
      return issueTokens();
    }
    return Reply{400, oauthError("unsupported_grant_type", "unsupported grant_type"), {}};
  }

  Reply usercode(const std::string& body) {
    std::lock_guard<std::mutex> lock(mu);
    ++counts.usercode_calls;
    auto fields = parseJsonStrings(body);
    if (fields["client_id"] != kClientId) return Reply{400, oauthError("invalid_client", "unknown client_id"), {}};
    device_auth_id = "deviceauth-" + randomHex(6);
    user_code = "FAKE-" + randomHex(2);
    device_polls = 0;
    authorization_code.clear();
    Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
    obj.set("device_auth_id", device_auth_id);
    obj.set(options.legacy_usercode_field ? "usercode" : "user_code", user_code);
    obj.set("interval", options.device_interval);
    return Reply{200, stringify(obj), {}};
  }

  Reply devicePoll(const std::string& body) {
    std::lock_guard<std::mutex> lock(mu);
    ++counts.device_poll_calls;
    auto fields = parseJsonStrings(body);
    if (device_auth_id.empty() || fields["device_auth_id"] != device_auth_id || fields["user_code"] != user_code) {
      return Reply{
          400, openAiError("unknown device authorization", "invalid_request_error", "invalid_device_auth"), {}};
    }
    if (++device_polls <= options.device_pending_polls) {
      return Reply{
          403, openAiError("authorization pending", "invalid_request_error", "deviceauth_authorization_pending"), {}};
    }
    authorization_code = "ac-" + randomHex(8);
    code_verifier = "cv-" + randomHex(16);
    Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
    obj.set("authorization_code", authorization_code);
    obj.set("code_challenge", "challenge-" + randomHex(8));
    obj.set("code_verifier", code_verifier);
    return Reply{200, stringify(obj), {}};
  }

  std::string stateJson() const {
    std::lock_guard<std::mutex> lock(mu);
    Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
    Poco::JSON::Object::Ptr c = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    c->set("token_calls", counts.token_calls);
    c->set("refresh_calls", counts.refresh_calls);
    c->set("refresh_ok", counts.refresh_ok);
    c->set("refresh_rejected", counts.refresh_rejected);
    c->set("exchange_calls", counts.exchange_calls);
    c->set("usercode_calls", counts.usercode_calls);
    c->set("device_poll_calls", counts.device_poll_calls);
    obj.set("counts", c);
    obj.set("current_refresh_token", current_refresh_token);
    Poco::JSON::Array::Ptr issued = new Poco::JSON::Array;
    for (const auto& t : issued_access_tokens) issued->add(t);
    obj.set("issued_access_tokens", issued);
    Poco::JSON::Array::Ptr received = new Poco::JSON::Array;
    for (const auto& t : received_refresh_tokens) received->add(t);
    obj.set("received_refresh_tokens", received);
    obj.set("mode", modeName(mode));
    obj.set("mode_remaining", mode_remaining);
    obj.set("device_pending_polls", options.device_pending_polls);
    return stringify(obj);
  }
};

namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<FakeOAuthServer::State> state, FakeOAuthServer* owner)
      : state_(std::move(state)), owner_(owner) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    // docs/ARCHITECTURE.md §6.5: only Poco::Exception is caught by POCO itself; nothing may escape.
    Reply reply;
    try {
      std::string body;
      Poco::StreamCopier::copyToString(request.stream(), body);
      reply = route(request.getMethod(), Poco::URI(request.getURI()).getPath(), request.getContentType(), body);
    } catch (const std::exception& e) {
      reply = Reply{500, openAiError(std::string("fake server error: ") + e.what(), "server_error", ""), {}};
    } catch (...) {
      reply = Reply{500, openAiError("fake server error", "server_error", ""), {}};
    }
    try {
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
      response.setContentType("application/json");
      if (!reply.retry_after.empty()) response.set("Retry-After", reply.retry_after);
      response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
      response.send() << reply.body;
    } catch (...) {
      // The client went away (e.g. it gave up on a hanging request): nothing to do.
    }
  }

 private:
  Reply route(const std::string& method, const std::string& path, const std::string& content_type,
              const std::string& body) {
    if (path == "/oauth/token" && method == "POST") return state_->token(content_type, body);
    if (path == "/api/accounts/deviceauth/usercode" && method == "POST") return state_->usercode(body);
    if (path == "/api/accounts/deviceauth/token" && method == "POST") return state_->devicePoll(body);
    if (path == "/__fake/state" && method == "GET") return Reply{200, state_->stateJson(), {}};
    if (path == "/__fake/mode" && method == "POST") {
      std::string error = owner_->applyModeJson(body);
      if (!error.empty()) return Reply{400, oauthError("invalid_request", error), {}};
      return Reply{200, state_->stateJson(), {}};
    }
    return Reply{404, openAiError("not found", "invalid_request_error", ""), {}};
  }

  std::shared_ptr<FakeOAuthServer::State> state_;
  FakeOAuthServer* owner_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(std::shared_ptr<FakeOAuthServer::State> state, FakeOAuthServer* owner)
      : state_(std::move(state)), owner_(owner) {}
  // POCO 1.11 returns a raw pointer; the server deletes it after the request.
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(state_, owner_);
  }

 private:
  std::shared_ptr<FakeOAuthServer::State> state_;
  FakeOAuthServer* owner_;
};

}  // namespace

FakeOAuthServer::FakeOAuthServer() : FakeOAuthServer(Options()) {}

FakeOAuthServer::FakeOAuthServer(Options options) : state_(std::make_shared<State>(std::move(options))) {
  state_->current_refresh_token = state_->options.initial_refresh_token;
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", state_->options.port));
  port_ = socket.address().port();
  state_->base_url = baseUrl();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(16);
  params->setMaxQueued(64);
  params->setKeepAliveTimeout(Poco::Timespan(2, 0));
  // Own pool (docs/ARCHITECTURE.md §6.7): never the default pool, which dies at static destruction.
  pool_ = std::make_unique<Poco::ThreadPool>(2, 16, 5);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_, this), *pool_, socket, params);
  server_->start();
}

FakeOAuthServer::~FakeOAuthServer() { stop(); }

void FakeOAuthServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  server_->stopAll(true);
  // Destroying the server closes the listening socket: a stopped TCPServer still holds it, and
  // the kernel would keep completing handshakes nobody accepts (clients would hang, not fail).
  server_.reset();
  pool_->joinAll();
}

std::string FakeOAuthServer::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeOAuthServer::setMode(Mode mode, int times, std::chrono::milliseconds hang) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->mode = mode;
  state_->mode_remaining = mode == Mode::Ok ? -1 : times;
  state_->hang = hang;
}

void FakeOAuthServer::setDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->delay = delay;
}

void FakeOAuthServer::setDevicePendingPolls(int polls) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->options.device_pending_polls = polls;
}

void FakeOAuthServer::setCurrentRefreshToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->current_refresh_token = token;
}

std::string FakeOAuthServer::currentRefreshToken() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->current_refresh_token;
}

FakeOAuthServer::Counts FakeOAuthServer::counts() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->counts;
}

std::vector<std::string> FakeOAuthServer::issuedAccessTokens() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->issued_access_tokens;
}

std::vector<std::string> FakeOAuthServer::receivedRefreshTokens() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->received_refresh_tokens;
}

std::vector<std::string> FakeOAuthServer::receivedContentTypes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->received_content_types;
}

std::string FakeOAuthServer::stateJson() const { return state_->stateJson(); }

std::string FakeOAuthServer::applyModeJson(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    Poco::JSON::Object::Ptr obj = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    std::lock_guard<std::mutex> lock(state_->mu);
    if (obj->has("mode")) {
      static const std::map<std::string, Mode> kModes = {{"ok", Mode::Ok},
                                                         {"fail_500", Mode::Fail500},
                                                         {"fail_429", Mode::Fail429},
                                                         {"invalid_grant", Mode::InvalidGrant},
                                                         {"hang", Mode::Hang}};
      auto it = kModes.find(obj->getValue<std::string>("mode"));
      if (it == kModes.end()) return "unknown mode";
      state_->mode = it->second;
      state_->mode_remaining = it->second == Mode::Ok ? -1 : obj->optValue<int>("times", -1);
      state_->hang = std::chrono::milliseconds(obj->optValue<Poco::Int64>("hang_ms", 0));
    }
    if (obj->has("delay_ms")) state_->delay = std::chrono::milliseconds(obj->getValue<Poco::Int64>("delay_ms"));
    if (obj->has("pending_polls")) state_->options.device_pending_polls = obj->getValue<int>("pending_polls");
    if (obj->has("access_ttl_s")) state_->options.access_ttl_s = obj->getValue<Poco::Int64>("access_ttl_s");
    if (obj->has("refresh_token")) state_->current_refresh_token = obj->getValue<std::string>("refresh_token");
    return {};
  } catch (const Poco::Exception& e) {
    return "bad mode request: " + e.displayText();
  }
}

std::string FakeOAuthServer::makeJwt(int64_t exp, const std::string& account_id, const std::string& subject) {
  Poco::JSON::Object header(Poco::JSON_PRESERVE_KEY_ORDER);
  header.set("alg", "RS256");
  header.set("typ", "JWT");
  header.set("kid", "fake-oauth");
  Poco::JSON::Object payload(Poco::JSON_PRESERVE_KEY_ORDER);
  payload.set("iss", "https://auth.openai.com");
  payload.set("sub", subject);
  payload.set("iat", static_cast<Poco::Int64>(unixNow()));
  payload.set("exp", static_cast<Poco::Int64>(exp));
  if (!account_id.empty()) {
    Poco::JSON::Object::Ptr auth = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    auth->set("chatgpt_account_id", account_id);
    auth->set("chatgpt_plan_type", "pro");
    payload.set("https://api.openai.com/auth", auth);
  }
  return base64Url(stringify(header)) + "." + base64Url(stringify(payload)) + "." + base64Url("fake-signature");
}

}  // namespace cosp::test
