#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "worker/accounts/account_view.h"

namespace cosp::worker::accounts {

// 64-bit hash of (session id, account name): FNV-1a over the bytes (with a separator byte so
// ("ab","c") and ("a","bc") differ) then the SplitMix64 finaliser, which FNV-1a alone lacks: its
// high bits mix poorly for short keys that differ in the last byte ("acct-1" vs "acct-2").
std::uint64_t rendezvousHash(std::string_view session_id, std::string_view account_name);

// Weighted rendezvous (Highest Random Weight) score, the logarithmic method: -weight / ln(u) with
// u in (0,1) from the hash. An account's share of sessions is proportional to its weight, and a
// weight of 0 (or below) never wins over a positive one.
double rendezvousScore(std::uint64_t hash, double weight);

// ALL accounts' indices, best first, for this session. Pure function of (session id, names,
// weights), so every worker process computes the same order without shared state, and removing
// one account only moves the sessions that had it first. weights[i] belongs to accounts[i]
// (missing weights count as 1.0). Allocates only the result.
std::vector<size_t> stickyOrder(std::string_view session_id, const std::vector<AccountView>& accounts,
                                const std::vector<double>& weights);

}  // namespace cosp::worker::accounts
