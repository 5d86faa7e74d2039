#include "worker/accounts/sticky_order.h"

#include <algorithm>
#include <array>
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
  const size_t n = accounts.size();
  std::vector<size_t> order(n);
  // Each score is hashed once into a buffer on the stack (the usual 1-10 accounts); only an
  // unusual deployment of more than kStackScores accounts pays for a heap buffer.
  constexpr size_t kStackScores = 32;
  std::array<double, kStackScores> stack_scores;
  std::vector<double> heap_scores;
  double* scores = stack_scores.data();
  if (n > kStackScores) {
    heap_scores.resize(n);
    scores = heap_scores.data();
  }
  for (size_t i = 0; i < n; ++i) {
    const double w = i < weights.size() ? weights[i] : 1.0;
    scores[i] = rendezvousScore(rendezvousHash(session_id, accounts[i].name), w);
  }
  // Insertion sort: no allocation, stable (equal scores keep index order), and for a handful of
  // accounts faster than std::sort's setup.
  for (size_t i = 0; i < n; ++i) {
    size_t j = i;
    while (j > 0 && scores[order[j - 1]] < scores[i]) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = i;
  }
  return order;
}

}  // namespace cosp::worker::accounts
