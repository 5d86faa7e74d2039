#include "worker/front/request_id.h"

#include <cctype>

#include "common/util/split_mix64.h"

namespace cosp::worker {

bool isSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string newRequestId() {
  thread_local common::SplitMix64 rng = common::SplitMix64::fromRandomDevice();
  static const char* hex = "0123456789abcdef";
  std::string id = "req_";
  for (int part = 0; part < 2; ++part) {
    uint64_t bits = rng();
    for (int i = 0; i < 12; ++i) {
      id.push_back(hex[bits & 15]);
      bits >>= 4;
    }
  }
  return id;
}

std::string chooseRequestId(std::optional<std::string_view> from_client) {
  if (from_client && isSaneRequestId(*from_client)) return std::string(*from_client);
  return newRequestId();
}

}  // namespace cosp::worker
