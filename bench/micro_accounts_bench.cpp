// cosp-microbench: the sticky account order (worker/accounts/sticky_order.h), computed once per
// model call: weighted rendezvous hashing over 3 and 10 accounts, one fresh session id per
// iteration (a long-lived conversation would hit the same cost, there is no cache).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "worker/accounts/sticky_order.h"

namespace {

using cosp::worker::accounts::AccountView;

void BM_StickyOrder(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<AccountView> accounts(n);
  std::vector<double> weights(n);
  for (size_t i = 0; i < n; ++i) {
    accounts[i].name = "account-" + std::to_string(i);
    accounts[i].logged_in = true;
    weights[i] = i % 3 == 0 ? 0.45 : 1.0;
  }
  // A Codex CLI session id is a UUID: 36 bytes.
  std::string session = "019a7c3e-5f1b-7d20-9c4e-000000000000";
  std::uint64_t counter = 0;
  for (auto _ : state) {
    const std::string digits = std::to_string(counter++);
    session.replace(session.size() - digits.size(), digits.size(), digits);
    auto order = cosp::worker::accounts::stickyOrder(session, accounts, weights);
    benchmark::DoNotOptimize(order.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_StickyOrder)->Arg(3)->Arg(10);

}  // namespace
