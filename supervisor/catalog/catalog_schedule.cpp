#include "supervisor/catalog/catalog_schedule.h"

#include <algorithm>

#include "supervisor/credentials/refresh_backoff.h"

namespace cosp::supervisor {

void CatalogSchedule::onCredentials(bool usable, uint64_t generation, const std::string& account_id, TimePoint now) {
  usable_ = usable;
  generation_ = generation;
  account_ = account_id;
  if (!usable) return;
  if (refused_generation_ && generation > *refused_generation_) {
    refused_generation_.reset();  // the token the backend refused was replaced: try the new one
    next_ = std::min(next_, now);
  }
  if (fetched_account_ && !account_id.empty() && account_id != *fetched_account_) next_ = std::min(next_, now);
}

std::optional<CatalogSchedule::TimePoint> CatalogSchedule::nextFetch() const {
  if (in_flight_ || !usable_) return std::nullopt;
  return next_;
}

void CatalogSchedule::onStarted(uint64_t generation, const std::string& account_id) {
  in_flight_ = true;
  started_generation_ = generation;
  started_account_ = account_id;
}

void CatalogSchedule::onFinished(Outcome outcome, TimePoint now) {
  in_flight_ = false;
  fetched_account_ = started_account_;
  if (outcome == Outcome::Fetched) {
    failures_ = 0;
    refused_generation_.reset();
    next_ = now + timing_.interval;
  } else {
    ++failures_;
    if (outcome == Outcome::Unauthorized) refused_generation_ = started_generation_;
    // No jitter, unlike the token refresh: one fetch an hour per proxy needs no spreading.
    next_ = now + doublingDelay(failures_, timing_.retry_base, timing_.interval);
  }
  // What changed while the fetch was out counts as if it had come after it.
  const bool newer_token = refused_generation_ && generation_ > *refused_generation_;
  const bool other_account = !account_.empty() && account_ != started_account_;
  if (newer_token || other_account) {
    refused_generation_.reset();
    next_ = now;
  }
}

}  // namespace cosp::supervisor
