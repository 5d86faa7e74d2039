// Supervisor <-> worker channel messages (common/ipc/messages.h): every decoder on arbitrary bytes.
//
// Invariants: whatever a decoder accepts, encoding it gives a message that decodes to the same
// value (so a peer always understands what we send back), with the right "type"; messageType and
// messageInt agree with what the encoders write; nothing throws out of a decoder.

#include <cstdint>
#include <string>

#include "common/ipc/messages.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace cosp::common;

bool sameCredentials(const WorkerCredentials& a, const WorkerCredentials& b) {
  return a.generation == b.generation && a.state == b.state && a.access_token == b.access_token &&
         a.account_id == b.account_id && a.expires_at_ms == b.expires_at_ms;
}

bool sameObservation(const UpstreamObservation& a, const UpstreamObservation& b) {
  return a.last_status == b.last_status && a.last_status_at == b.last_status_at &&
         a.last_success_at == b.last_success_at && a.rate_limits == b.rate_limits &&
         a.rate_limits_at == b.rate_limits_at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);

  if (const auto c = decodeCredentials(json)) {
    const std::string again = encodeCredentials(*c);
    FUZZ_CHECK(messageType(again) == msg::kCredentials);
    const auto back = decodeCredentials(again);
    FUZZ_CHECK(back && sameCredentials(*back, *c));
  }
  if (const auto beat = decodeHeartbeat(json)) {
    const std::string again = encodeHeartbeat(beat->counters, beat->upstream);
    FUZZ_CHECK(messageType(again) == msg::kHeartbeat);
    const auto back = decodeHeartbeat(again);
    FUZZ_CHECK(back && back->counters == beat->counters && sameObservation(back->upstream, beat->upstream));
  }
  if (const auto text = decodeMetrics(json)) {
    const std::string again = encodeMetrics(*text);
    FUZZ_CHECK(messageType(again) == msg::kMetrics);
    FUZZ_CHECK(decodeMetrics(again) == text);
  }
  // What the two generic readers say about any message must hold for our own encodings too.
  const std::string type = messageType(json);
  if (!type.empty()) FUZZ_CHECK(messageType(encodeSimple(type.c_str())) == type.c_str());
  if (const auto grace = messageInt(json, "grace_ms")) {
    FUZZ_CHECK(messageInt(encodeDrain(*grace), "grace_ms") == grace);
  }
  if (const auto generation = messageInt(json, "generation"); generation && *generation >= 0) {
    FUZZ_CHECK(messageInt(encodeUnauthorized(static_cast<std::uint64_t>(*generation)), "generation") == generation);
  }
  return 0;
}
