#pragma once

#include <cstdint>
#include <vector>

#include "common/error/api_error.h"
#include "worker/accounts/account_view.h"

namespace cosp::worker::accounts {

// The answer when a call has no usable account (SPEC §9):
//   some logged-in, not paused account is cooling -> 429 usage_limit_reached (type and code),
//                                                    Retry-After = seconds to the EARLIEST
//                                                    cooling end (at least 1)
//   none logged in                                -> 503 credentials_expired
//   every logged-in account paused                -> 503 accounts_paused
// `allowed` limits the accounts considered as AccountSelector::order does (empty = all).
// The Retry-After rides in ApiError::header, as the error writer expects.
common::ApiError noUsableAccountError(const std::vector<AccountView>& views, std::int64_t now_ms,
                                      const std::vector<std::string>& allowed = {});

}  // namespace cosp::worker::accounts
