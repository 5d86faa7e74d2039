#include "worker/ws/ws_handshake.h"

#include <Poco/Base64Encoder.h>
#include <Poco/SHA1Engine.h>

#include <array>
#include <random>
#include <sstream>

#include "common/util/strings.h"

namespace cosp::worker::ws {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) { return common::toLower(a) == common::toLower(b); }

// True when any header called `name` lists `token` (comma-separated, case-insensitive).
bool headerListsToken(const HeaderList& headers, std::string_view name, std::string_view token) {
  for (const auto& [n, v] : headers) {
    if (!equalsIgnoreCase(n, name)) continue;
    for (const std::string& item : common::splitList(v)) {
      // An extension item carries parameters after ';' (permessage-deflate; client_max_window_bits).
      const std::string_view bare = common::trimView(std::string_view(item).substr(0, item.find(';')));
      if (equalsIgnoreCase(bare, token)) return true;
    }
  }
  return false;
}

std::vector<std::string_view> headerValues(const HeaderList& headers, std::string_view name) {
  std::vector<std::string_view> values;
  for (const auto& [n, v] : headers)
    if (equalsIgnoreCase(n, name)) values.push_back(v);
  return values;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);  // one line: a header value
  encoder.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  encoder.close();
  return out.str();
}

bool isBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::string acceptKey(std::string_view client_key) {
  Poco::SHA1Engine sha1;
  sha1.update(client_key.data(), static_cast<unsigned>(client_key.size()));
  sha1.update(kWebSocketGuid.data(), static_cast<unsigned>(kWebSocketGuid.size()));
  const Poco::DigestEngine::Digest& digest = sha1.digest();
  return base64(digest.data(), digest.size());
}

bool isValidClientKey(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i)
    if (!isBase64Char(key[i])) return false;
  // The 22nd character carries 2 bits of the 16th byte and 4 padding bits, which must be zero.
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

std::string makeClientKey() {
  std::random_device device;
  std::array<unsigned char, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const unsigned value = device();
    for (std::size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<unsigned char>(value >> (8 * j));
  }
  return base64(bytes.data(), bytes.size());
}

bool asksForWebSocket(const HeaderList& headers) { return headerListsToken(headers, "upgrade", "websocket"); }

common::Result<UpgradeOffer> checkUpgrade(std::string_view method, int http_minor_version, const HeaderList& headers) {
  if (method != "GET") {
    common::ApiError error{405,
                           "invalid_request_error",
                           "A WebSocket upgrade must use GET.",
                           std::nullopt,
                           std::nullopt,
                           std::make_pair(std::string("Allow"), std::string("GET"))};
    return error;
  }
  if (http_minor_version < 1) return common::ApiError::invalidRequest("A WebSocket upgrade needs HTTP/1.1.");
  if (!headerListsToken(headers, "connection", "upgrade"))
    return common::ApiError::invalidRequest("A WebSocket upgrade needs `Connection: Upgrade`.");
  const auto versions = headerValues(headers, "sec-websocket-version");
  if (versions.size() != 1 || common::trimView(versions.front()) != "13") {
    common::ApiError error{426,
                           "invalid_request_error",
                           "Only WebSocket version 13 is supported.",
                           std::nullopt,
                           std::nullopt,
                           std::make_pair(std::string("Sec-WebSocket-Version"), std::string("13"))};
    return error;
  }
  const auto keys = headerValues(headers, "sec-websocket-key");
  if (keys.size() != 1 || !isValidClientKey(common::trimView(keys.front())))
    return common::ApiError::invalidRequest("A WebSocket upgrade needs one valid `Sec-WebSocket-Key`.");

  UpgradeOffer offer;
  offer.key = std::string(common::trimView(keys.front()));
  offer.deflate_offered = headerListsToken(headers, "sec-websocket-extensions", "permessage-deflate");
  for (std::string_view value : headerValues(headers, "sec-websocket-extensions")) {
    if (!offer.extensions_offered.empty()) offer.extensions_offered += ", ";
    offer.extensions_offered += common::trimView(value);
  }
  return offer;
}

std::string switchingProtocolsHead(const UpgradeOffer& offer, const HeaderList& extra) {
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  head += acceptKey(offer.key);
  head += "\r\n";
  for (const auto& [name, value] : extra) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

std::string checkServerHandshake(int status, const HeaderList& headers, std::string_view sent_key,
                                 bool deflate_offered) {
  if (status != 101) return "status is not 101";
  if (!headerListsToken(headers, "upgrade", "websocket")) return "no `Upgrade: websocket`";
  if (!headerListsToken(headers, "connection", "upgrade")) return "no `Connection: Upgrade`";
  const auto accepts = headerValues(headers, "sec-websocket-accept");
  if (accepts.size() != 1 || common::trimView(accepts.front()) != acceptKey(sent_key))
    return "wrong `Sec-WebSocket-Accept`";
  for (std::string_view value : headerValues(headers, "sec-websocket-extensions")) {
    for (const std::string& item : common::splitList(value)) {
      const std::string_view bare = common::trimView(std::string_view(item).substr(0, item.find(';')));
      if (!deflate_offered || !equalsIgnoreCase(bare, "permessage-deflate")) return "an extension not offered";
    }
  }
  if (!headerValues(headers, "sec-websocket-protocol").empty()) return "a subprotocol not offered";
  return {};
}

}  // namespace cosp::worker::ws
