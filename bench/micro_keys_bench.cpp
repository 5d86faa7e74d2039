// cosp-microbench: what a caller key from API_KEYS_FILE costs one model call (SPEC §10), piece
// by piece, so the load run's CPU per request can be read against it:
//   BM_KeyFind          the presented key to its entry: one SHA-256, one hash lookup (1,000 keys)
//   BM_KeyCall          the policy with rpm, tpm and max_concurrent on a real zone, then the
//                       accounting the exchange's end does (status, model, tokens)
//   BM_KeyUsageOfEvent  the tokens read from the terminal event, whose `response` echoes the
//                       call's instructions (1 KB and the Codex CLI's ~20 KB)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "common/keys/key_policy.h"
#include "common/keys/keys_file.h"
#include "common/keys/limits_zone.h"
#include "worker/front/caller_keys.h"

namespace {

namespace keys = cosp::common::keys;

std::vector<keys::KeyEntry> thousandKeys(const std::string& presented) {
  std::vector<keys::KeyEntry> entries(1000);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "caller-%05zu", i);
    entries[i].name = name;
    entries[i].sha256 = keys::sha256(std::string(name) + "-not-held");
  }
  entries[417].sha256 = keys::sha256(presented);
  return entries;
}

void BM_KeyFind(benchmark::State& state) {
  const std::string presented = "csp-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";  // 47 bytes, as generateKey()
  const keys::KeyTable table(thousandKeys(presented));
  for (auto _ : state) {
    auto found = table.find(presented);
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_KeyFind);

void BM_KeyCall(benchmark::State& state) {
  auto zone = keys::LimitsZone::create();
  if (!zone) {
    state.SkipWithError("no memfd zone");
    return;
  }
  keys::KeyEntry key;
  key.name = "bench";
  key.rpm = 100000000;
  key.tpm = 1000000000000;
  key.max_concurrent = 100000;
  zone.value().resetSlot(7, 1);
  const keys::TokenUsage usage{1200, 1024, 300, 64};
  for (auto _ : state) {
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    keys::KeyDecision decision =
        keys::decideKeyCall(keys::KeyCall{&key, "gpt-5.5", "gpt-5.5", now, 7, 3}, zone.value());
    benchmark::DoNotOptimize(decision.headers.data());
    zone.value().recordRequest(7, now, 200, "gpt-5.5");
    zone.value().addTokens(7, now, usage);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_KeyCall);

void BM_KeyUsageOfEvent(benchmark::State& state) {
  const std::string instructions(static_cast<std::size_t>(state.range(0)), 'x');
  const std::string event =
      R"({"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response",)"
      R"("status":"completed","model":"gpt-5.5","instructions":")" +
      instructions +
      R"(","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant",)"
      R"("content":[{"type":"output_text","text":"Hello there, how can I help?","annotations":[]}]}],)"
      R"("usage":{"input_tokens":1200,"input_tokens_details":{"cached_tokens":1024},)"
      R"("output_tokens":300,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":1500}}})";
  for (auto _ : state) {
    auto usage = cosp::worker::usageOfTerminalEvent(event);
    benchmark::DoNotOptimize(usage);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * event.size()));
}
BENCHMARK(BM_KeyUsageOfEvent)->Arg(1 << 10)->Arg(20 << 10);

}  // namespace
