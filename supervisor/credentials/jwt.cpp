#include "supervisor/credentials/jwt.h"

#include <array>

#include "common/json/json_parser.h"
#include "common/json/json_value.h"
#include "supervisor/credentials/credential_types.h"

namespace cosp::supervisor {

namespace {

constexpr int64_t kMillisThreshold = 9'999'999'999;

std::array<int8_t, 256> makeDecodeTable() {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  // Accept the standard alphabet too: some tools emit '+' and '/' in JWT-like strings.
  table[static_cast<unsigned char>('+')] = 62;
  table[static_cast<unsigned char>('/')] = 63;
  return table;
}

}  // namespace

std::optional<std::string> base64UrlDecode(std::string_view in) {
  static const std::array<int8_t, 256> table = makeDecodeTable();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;  // cannot encode a whole number of bytes
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::optional<JwtClaims> parseJwtClaims(std::string_view token) {
  size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto payload = base64UrlDecode(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  std::optional<common::JsonValue> obj = common::parseJsonObject(*payload, kCredentialJsonOptions);
  if (!obj) return std::nullopt;
  JwtClaims claims;
  // exp may be an integer or an integral double; jsonInt accepts both (docs/ARCHITECTURE.md §6.18).
  claims.exp = common::jsonInt(*obj, "exp");
  if (const common::JsonValue* auth = common::jsonObjectValue(*obj, "https://api.openai.com/auth")) {
    std::string id = common::jsonStringOr(*auth, "chatgpt_account_id");
    if (!id.empty()) claims.chatgpt_account_id = std::move(id);
  }
  return claims;
}

std::string accountIdFromTokens(std::string_view id_token, std::string_view access_token) {
  for (std::string_view token : {id_token, access_token}) {
    if (token.empty()) continue;
    auto claims = parseJwtClaims(token);
    if (claims && claims->chatgpt_account_id) return *claims->chatgpt_account_id;
  }
  return {};
}

int64_t normalizeExpiresAtMs(int64_t raw) {
  if (raw <= 0) return 0;
  return raw > kMillisThreshold ? raw : raw * 1000;
}

}  // namespace cosp::supervisor
