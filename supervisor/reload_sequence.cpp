#include "supervisor/reload_sequence.h"

namespace cosp::supervisor {

void ReloadSequence::begin(int slots) {
  clear();
  for (int i = 0; i < slots; ++i) queue_.push_back(i);
}

void ReloadSequence::clear() {
  queue_.clear();
  waiting_pid_ = -1;
}

std::optional<int> ReloadSequence::nextSlot() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.front();
}

void ReloadSequence::started(pid_t pid, TimePoint now) {
  waiting_pid_ = pid;
  deadline_ = now + ready_timeout_;
}

bool ReloadSequence::onReady(pid_t pid) {
  if (!waitingFor(pid)) return false;
  waiting_pid_ = -1;
  if (!queue_.empty()) queue_.erase(queue_.begin());
  return true;
}

std::optional<ReloadSequence::TimePoint> ReloadSequence::deadline() const {
  if (waiting_pid_ <= 0) return std::nullopt;
  return deadline_;
}

}  // namespace cosp::supervisor
