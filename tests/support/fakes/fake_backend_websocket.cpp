#include "tests/support/fakes/fake_backend_websocket.h"

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "tests/support/fakes/fake_backend_wire.h"
#include "tests/support/fakes/fake_codex_backend.h"

namespace cosp::test {

std::optional<std::string> sseEventJson(std::string_view event) {
  std::optional<std::string> data;
  while (!event.empty()) {
    const std::size_t end = event.find('\n');
    std::string_view line = event.substr(0, end);
    event = end == std::string_view::npos ? std::string_view() : event.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.rfind("data:", 0) != 0) continue;
    line.remove_prefix(5);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (data)
      *data += '\n';
    else
      data.emplace();
    *data += line;
  }
  return data;
}

std::optional<std::string> responseIdOf(std::string_view event_json) {
  auto parsed = common::parseJsonObject(event_json);
  if (!parsed) return std::nullopt;
  const common::JsonValue* response = common::jsonObjectValue(*parsed, "response");
  if (!response) return std::nullopt;
  auto id = common::jsonString(*response, "id");
  return id ? std::optional<std::string>(std::string(*id)) : std::nullopt;
}

std::string websocketErrorEvent(int status, std::string_view code, std::string_view message, std::string_view param) {
  std::string out = "{\"type\":\"error\",\"status\":" + std::to_string(status) +
                    ",\"error\":{\"type\":\"invalid_request_error\",\"code\":\"" + jsonEscape(code) +
                    "\",\"message\":\"" + jsonEscape(message) + "\",\"param\":";
  out += param.empty() ? std::string("null") : "\"" + jsonEscape(param) + "\"";
  out += "}}";
  return out;
}

namespace {

constexpr int kMaxMessageBytes = 64 * 1024 * 1024;
// POCO's flags and opcodes are separate enums; or-ing them directly is deprecated in C++20.
constexpr int kFin = Poco::Net::WebSocket::FRAME_FLAG_FIN;

// Sends a text message; false when the client is gone.
bool sendText(Poco::Net::WebSocket& ws, const std::string& text) {
  try {
    return ws.sendFrame(text.data(), static_cast<int>(text.size()), Poco::Net::WebSocket::FRAME_TEXT) ==
           static_cast<int>(text.size());
  } catch (const Poco::Exception&) {
    return false;
  }
}

}  // namespace

void FakeCodexBackend::serveWebSocket(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  // The real backend authenticates the upgrade itself: a refused token never gets a socket.
  const std::string authorization = request.get("Authorization", "");
  if (authorization.rfind("Bearer ", 0) != 0 || authorization.size() <= 7 || isRejectedBearer(authorization)) {
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
    const std::string body = resolveBody("unauthorized_401.json").value_or("{\"detail\":\"Unauthorized\"}");
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
    return;
  }
  std::vector<std::pair<std::string, std::string>> upgrade_headers;
  for (const auto& [k, v] : request) upgrade_headers.emplace_back(k, v);
  const std::optional<std::string> header_spec =
      request.has("x-fake-scenario") ? std::optional<std::string>(request.get("x-fake-scenario")) : std::nullopt;
  const std::string peer = request.clientAddress().toString();
  const std::string uri = request.getURI();
  // A `status:` scenario (from the header, else the default) refuses the upgrade itself, as the
  // real backend does for an exhausted quota or an overload: the proxy's mapping of a refusal
  // before 101 is tested with it.
  {
    std::string upgrade_spec;
    if (header_spec) {
      upgrade_spec = *header_spec;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      upgrade_spec = default_scenario_;
    }
    auto upgrade_scenario = parseScenario(upgrade_spec);
    if (upgrade_scenario && upgrade_scenario->status) {
      std::string body = "{\"error\":{\"message\":\"fake status " + std::to_string(*upgrade_scenario->status) + "\"}}";
      if (!upgrade_scenario->status_body.empty()) body = resolveBody(upgrade_scenario->status_body).value_or(body);
      response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(*upgrade_scenario->status));
      response.setContentType("application/json");
      response.setContentLength(static_cast<std::streamsize>(body.size()));
      response.send() << body;
      return;
    }
  }

  // POCO's server-side WebSocket (handshake, framing) on purpose: the proxy's own codec
  // (worker/ws) is then tested against an independent implementation.
  Poco::Net::WebSocket ws(request, response);
  ws.setMaxPayloadSize(kMaxMessageBytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++websocket_upgrades_;
  }
  cv_.notify_all();

  std::set<std::string> connection_responses;  // previous_response_id is scoped to the connection
  std::string message;
  Poco::Buffer<char> buffer(0);
  while (!stopping_.load()) {
    int flags = 0;
    int n = 0;
    buffer.resize(0);
    try {
      // Short polls so that stop() is seen; a poll never interrupts a frame half-read.
      if (!ws.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR))
        continue;
      n = ws.receiveFrame(buffer, flags);
    } catch (const Poco::Exception&) {
      break;
    }
    const int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
    if (n == 0 && flags == 0) break;  // the peer closed the TCP connection
    if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
      ws.sendFrame(buffer.begin(), n, kFin | Poco::Net::WebSocket::FRAME_OP_PONG);
      continue;
    }
    if (opcode == Poco::Net::WebSocket::FRAME_OP_PONG) continue;
    if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
      try {
        ws.sendFrame(buffer.begin(), n, kFin | Poco::Net::WebSocket::FRAME_OP_CLOSE);
      } catch (const Poco::Exception&) {
      }
      break;
    }
    if (opcode == Poco::Net::WebSocket::FRAME_OP_BINARY) {
      ws.shutdown(Poco::Net::WebSocket::WS_PAYLOAD_NOT_ACCEPTABLE, "binary messages are not supported");
      break;
    }
    message.append(buffer.begin(), static_cast<std::size_t>(n));
    if ((flags & Poco::Net::WebSocket::FRAME_FLAG_FIN) == 0) continue;
    const std::string text = std::move(message);
    message.clear();

    auto parsed = common::parseJsonObject(text);
    const std::string type = parsed ? common::jsonStringOr(*parsed, "type") : std::string();
    // The CLI acknowledges a finished response with response.processed; the backend answers none.
    if (type == "response.processed") continue;
    if (type != "response.create" && type != "response.append") {
      if (!sendText(ws,
                    websocketErrorEvent(400, "invalid_message", "Unsupported message type '" + type + "'.", "type")))
        break;
      continue;
    }

    std::string spec;
    if (header_spec) {
      spec = *header_spec;
    } else if (auto marked = scenarioFromBody(text)) {
      spec = *marked;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      spec = default_scenario_;
    }
    RecordedRequest rec;
    rec.method = "GET";
    rec.uri = uri;
    rec.path = options_.path;
    rec.headers = upgrade_headers;
    rec.body = text;
    rec.connection = peer;
    rec.scenario = spec;
    rec.websocket = true;
    rec.received_at = Clock::now();
    const std::size_t index = recordCall(std::move(rec));

    const std::string previous = parsed ? common::jsonStringOr(*parsed, "previous_response_id") : std::string();
    if (!previous.empty() && connection_responses.count(previous) == 0) {
      const bool ok = sendText(
          ws, websocketErrorEvent(400, "previous_response_not_found",
                                  "Previous response with id '" + previous + "' not found.", "previous_response_id"));
      markCompleted(index, ok ? 1 : 0);
      if (!ok) break;
      continue;
    }

    auto scenario = parseScenario(spec);
    std::optional<std::string> transcript;
    if (scenario && scenario->failure) {
      const auto now_s =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      transcript = failureTranscript(*scenario->failure, modelOf(text).value_or("gpt-5.5"), now_s);
    } else if (scenario && !scenario->status) {
      transcript = resolveTranscript(scenario->transcript.empty() ? "text" : scenario->transcript);
    }
    if (!transcript) {
      const bool ok =
          sendText(ws, websocketErrorEvent(400, "fake_unsupported_scenario",
                                           "The fake serves transcripts and fail:/error-event: over WebSocket only."));
      markCompleted(index, ok ? 1 : 0);
      if (!ok) break;
      continue;
    }
    int sent = 0;
    bool gone = false;
    for (const std::string& event : splitSseEvents(*transcript)) {
      auto json = sseEventJson(event);
      if (!json) continue;
      // delay:<ms> paces the events as over HTTP (a call stays in flight that long: drain tests).
      if (sent > 0 && scenario && scenario->delay.count() > 0) std::this_thread::sleep_for(scenario->delay);
      if (auto id = responseIdOf(*json)) connection_responses.insert(*id);
      if (!sendText(ws, *json)) {
        gone = true;
        break;
      }
      setEvents(index, ++sent);
    }
    if (gone) {
      markClosed(index);
      break;
    }
    markCompleted(index, sent);
  }
}

}  // namespace cosp::test
