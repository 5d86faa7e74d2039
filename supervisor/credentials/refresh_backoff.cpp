#include "supervisor/credentials/refresh_backoff.h"

#include <algorithm>

namespace cosp::supervisor {

std::chrono::milliseconds doublingDelay(int failures, std::chrono::milliseconds base, std::chrono::milliseconds cap) {
  // Double until the cap; stopping early avoids overflow for large failure counts.
  int64_t delay = base.count();
  for (int i = 1; i < failures && delay < cap.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(delay, cap.count()));
}

std::chrono::milliseconds backoffDelay(int failures, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                       double random01) {
  if (failures < 1) failures = 1;
  if (base.count() <= 0) base = std::chrono::milliseconds(1);
  if (cap < base) cap = base;
  const int64_t delay = doublingDelay(failures, base, cap).count();
  double r = std::clamp(random01, 0.0, 1.0);
  int64_t half = delay / 2;
  return std::chrono::milliseconds(half + static_cast<int64_t>(static_cast<double>(delay - half) * r));
}

}  // namespace cosp::supervisor
