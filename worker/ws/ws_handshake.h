#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error/api_error.h"
#include "common/util/result.h"

namespace cosp::worker::ws {

// The RFC 6455 opening handshake as pure functions over header lists (the worker's RequestHead
// and the upstream response parser both keep headers as name/value pairs in arrival order).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// base64(SHA-1(key + GUID)): the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
std::string acceptKey(std::string_view client_key);

// A Sec-WebSocket-Key must be the base64 of 16 bytes (§4.1): 22 characters and "==".
bool isValidClientKey(std::string_view key);

// A fresh Sec-WebSocket-Key from 16 random bytes (for the proxy's own upgrade to the backend).
std::string makeClientKey();

// True when some Upgrade header lists the token "websocket" (case-insensitive): the request asks
// for a WebSocket, so it is judged by checkUpgrade instead of being served as plain HTTP.
bool asksForWebSocket(const HeaderList& headers);

// What a valid upgrade request offered.
struct UpgradeOffer {
  std::string key;                 // Sec-WebSocket-Key
  bool deflate_offered = false;    // Sec-WebSocket-Extensions lists permessage-deflate
  std::string extensions_offered;  // every Sec-WebSocket-Extensions value, joined by ", "
};

// Checks a request that asks for a WebSocket (§4.2.1): GET over HTTP/1.1, Connection listing
// "upgrade", one valid Sec-WebSocket-Key, Sec-WebSocket-Version 13. Refusals are 400, except a
// missing or other version: 426 with `Sec-WebSocket-Version: 13` (§4.4), and a method other than
// GET: 405 with `Allow: GET`. Messages never quote header values.
common::Result<UpgradeOffer> checkUpgrade(std::string_view method, int http_minor_version, const HeaderList& headers);

// The 101 head the server sends for `offer` (no extension accepted), with extra headers (each
// "Name: value", e.g. x-request-id) after the fixed ones.
std::string switchingProtocolsHead(const UpgradeOffer& offer, const HeaderList& extra = {});

// Checks the backend's answer to our upgrade: status 101, Upgrade websocket, Connection upgrade,
// the Sec-WebSocket-Accept that matches `sent_key`, and no extension we did not offer
// (`deflate_offered`). Returns an empty string when it is acceptable, else what was wrong.
std::string checkServerHandshake(int status, const HeaderList& headers, std::string_view sent_key,
                                 bool deflate_offered);

}  // namespace cosp::worker::ws
