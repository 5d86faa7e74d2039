#include "worker/accounts/sticky_order.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cosp::worker::accounts {

namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

std::uint64_t splitMix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t rendezvousHash(std::string_view session_id, std::string_view account_name) {
  std::uint64_t h = fnv1a(kFnvOffset, session_id);
  h ^= 0xff;  // separator: a byte that never occurs in UTF-8 text
  h *= kFnvPrime;
  h = fnv1a(h, account_name);
  return splitMix64(h);
}

double rendezvousScore(std::uint64_t hash, double weight) {
  if (!(weight > 0)) return -std::numeric_limits<double>::infinity();
  // The top 53 bits give u in (0,1): (k + 0.5) / 2^53 is never 0 or 1, so ln(u) is finite and < 0.
  const double u = (static_cast<double>(hash >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  return -weight / std::log(u);
}

std::vector<size_t> stickyOrder(std::string_view session_id, const std::vector<AccountView>& accounts,
                                const std::vector<double>& weights) {
  std::vector<size_t> order(accounts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Scores are recomputed in the comparator instead of stored: that keeps the result vector the
  // only allocation, and for the usual 1–10 accounts a few extra hashes cost less than a buffer.
  auto score = [&](size_t i) {
    const double w = i < weights.size() ? weights[i] : 1.0;
    return rendezvousScore(rendezvousHash(session_id, accounts[i].name), w);
  };
  // Insertion sort: stable, no allocation, ties (equal scores) broken by index.
  for (size_t i = 1; i < order.size(); ++i) {
    const size_t cur = order[i];
    const double s = score(cur);
    size_t j = i;
    while (j > 0 && score(order[j - 1]) < s) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = cur;
  }
  return order;
}

}  // namespace cosp::worker::accounts
