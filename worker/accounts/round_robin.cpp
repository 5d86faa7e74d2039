#include "worker/accounts/round_robin.h"

namespace cosp::worker::accounts {

std::vector<size_t> rotation(size_t n, size_t start) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = (start + i) % n;
  return order;
}

}  // namespace cosp::worker::accounts
