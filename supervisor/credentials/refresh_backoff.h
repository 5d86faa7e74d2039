#pragma once

#include <chrono>

namespace cosp::supervisor {

// base * 2^(failures-1), at most cap (failures below 1 count as 1): the un-jittered delay before
// retry number `failures`. No overflow for any failure count.
std::chrono::milliseconds doublingDelay(int failures, std::chrono::milliseconds base, std::chrono::milliseconds cap);

// Delay before retry number `failures` (1 = first retry) after transient refresh failures:
// capped exponential (base * 2^(failures-1), at most cap) with "equal jitter": the result lies
// in [d/2, d] for the capped value d, so retries from many proxies sharing an account spread
// out while the wait still grows. random01 is a sample in [0, 1).
std::chrono::milliseconds backoffDelay(int failures, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                       double random01);

}  // namespace cosp::supervisor
