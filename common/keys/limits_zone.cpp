#include "common/keys/limits_zone.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <type_traits>

namespace cosp::common::keys {

static_assert(std::atomic<std::int64_t>::is_always_lock_free, "the zone is shared between processes");
static_assert(std::atomic<std::int32_t>::is_always_lock_free, "the zone is shared between processes");
static_assert(std::is_standard_layout_v<KeySlot>, "placed in shared memory");
static_assert(std::is_standard_layout_v<ModelBucket>, "placed in shared memory");

struct LimitsZone::Header {
  std::uint64_t magic;
  std::uint32_t slots;
  std::uint32_t lease_rows;
  std::uint64_t slot_size;
  std::uint64_t reserved[5];
};

namespace {

constexpr std::uint64_t kMagic = 0x63737020'6b657973ull;  // "csp keys"

std::size_t alignUp(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

constexpr std::size_t slotsOffset() { return 64; }

std::size_t leasesOffset() { return alignUp(slotsOffset() + sizeof(KeySlot) * LimitsZone::kSlots, 4096); }

std::size_t zoneSize() {
  return alignUp(leasesOffset() + sizeof(std::atomic<std::int32_t>) * LimitsZone::kSlots * LimitsZone::kLeaseRows,
                 4096);
}

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Rolls a day/month counter to `current`: the CAS winner empties it.
std::int64_t rolledCount(std::atomic<std::int64_t>& period, std::atomic<std::int64_t>& count, std::int64_t current) {
  std::int64_t seen = period.load(std::memory_order_acquire);
  if (seen < current && period.compare_exchange_strong(seen, current, std::memory_order_acq_rel))
    count.exchange(0, std::memory_order_acq_rel);
  return count.load(std::memory_order_acquire);
}

}  // namespace

std::int64_t utcDayNumber(std::int64_t unix_seconds) {
  return unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;
}

std::int64_t utcMonthNumber(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return (static_cast<std::int64_t>(tm.tm_year) + 1900) * 12 + tm.tm_mon;
}

std::int64_t utcDayEnd(std::int64_t unix_seconds) { return (utcDayNumber(unix_seconds) + 1) * 86400; }

std::int64_t utcMonthEnd(std::int64_t unix_seconds) {
  std::int64_t next = utcMonthNumber(unix_seconds) + 1;
  std::tm tm{};
  tm.tm_year = static_cast<int>(next / 12 - 1900);
  tm.tm_mon = static_cast<int>(next % 12);
  tm.tm_mday = 1;
  return static_cast<std::int64_t>(::timegm(&tm));
}

LimitsZone::LimitsZone(LimitsZone&& other) noexcept { *this = std::move(other); }

LimitsZone& LimitsZone::operator=(LimitsZone&& other) noexcept {
  if (this != &other) {
    this->~LimitsZone();
    fd_ = other.fd_;
    base_ = other.base_;
    size_ = other.size_;
    other.fd_ = -1;
    other.base_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

LimitsZone::~LimitsZone() {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
  base_ = nullptr;
  fd_ = -1;
}

Result<LimitsZone, std::string> LimitsZone::create() {
  int fd = ::memfd_create("codex-sub-proxy-keys", MFD_CLOEXEC);
  if (fd < 0) return errnoText("memfd_create");
  // Raised to 16 or more: the spawner dup2s its sources onto 3, 4, 5…, which must not be one.
  if (int raised = ::fcntl(fd, F_DUPFD_CLOEXEC, 16); raised >= 0) {
    ::close(fd);
    fd = raised;
  }
  // ftruncate gives zero pages (a fresh zone is all zeros = every slot empty); they are only
  // backed by memory once touched, so the lease rows cost nothing until used.
  if (::ftruncate(fd, static_cast<off_t>(zoneSize())) != 0) {
    std::string message = errnoText("ftruncate of the keys zone");
    ::close(fd);
    return message;
  }
  auto zone = attach(fd);
  if (!zone) return zone;
  zone->header()->slots = kSlots;
  zone->header()->lease_rows = kLeaseRows;
  zone->header()->slot_size = sizeof(KeySlot);
  std::atomic_thread_fence(std::memory_order_release);
  zone->header()->magic = kMagic;
  return zone;
}

Result<LimitsZone, std::string> LimitsZone::attach(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string message = errnoText("fstat of the keys zone");
    ::close(fd);
    return message;
  }
  if (static_cast<std::size_t>(st.st_size) != zoneSize()) {
    ::close(fd);
    return std::string("the keys zone has the wrong size (supervisor and worker binaries differ?)");
  }
  void* base = ::mmap(nullptr, zoneSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    std::string message = errnoText("mmap of the keys zone");
    ::close(fd);
    return message;
  }
  LimitsZone zone;
  zone.fd_ = fd;
  zone.base_ = base;
  zone.size_ = zoneSize();
  const Header* h = zone.header();
  if (h->magic != 0 &&
      (h->magic != kMagic || h->slots != kSlots || h->lease_rows != kLeaseRows || h->slot_size != sizeof(KeySlot)))
    return std::string("the keys zone has another layout (supervisor and worker binaries differ?)");
  return zone;
}

LimitsZone::Header* LimitsZone::header() const { return static_cast<Header*>(base_); }

KeySlot& LimitsZone::slot(std::uint32_t index) {
  auto* slots = reinterpret_cast<KeySlot*>(static_cast<char*>(base_) + slotsOffset());
  return slots[index % kSlots];
}

std::atomic<std::int32_t>* LimitsZone::leaseRow(std::uint32_t row) const {
  auto* leases = reinterpret_cast<std::atomic<std::int32_t>*>(static_cast<char*>(base_) + leasesOffset());
  return leases + static_cast<std::size_t>(row % kLeaseRows) * kSlots;
}

void LimitsZone::resetSlot(std::uint32_t index, std::int64_t generation) {
  KeySlot& s = slot(index);
  // Invalidate first so no worker charges the old owner's calls to the new owner meanwhile.
  s.generation.store(-1, std::memory_order_release);
  s.requests.reset();
  s.tokens.reset();
  s.day.store(0);
  s.day_tokens.store(0);
  s.month.store(0);
  s.month_tokens.store(0);
  for (auto& c : s.requests_by_class) c.store(0);
  s.input_tokens.store(0);
  s.cached_tokens.store(0);
  s.output_tokens.store(0);
  s.reasoning_tokens.store(0);
  s.last_use.store(0);
  for (auto& m : s.models) {
    m.requests.store(0);
    m.state.store(0);
    std::memset(m.name, 0, sizeof m.name);
  }
  s.other_model_requests.store(0);
  // in_flight is left alone: leases out for the old owner are returned to this slot, and the
  // old owner's workers stop charging it once they see the new generation.
  s.generation.store(generation, std::memory_order_release);
}

bool LimitsZone::acquireLease(std::uint32_t row, std::uint32_t index, std::int64_t limit) {
  KeySlot& s = slot(index);
  // The worker's own row first: should the worker die between the two adds, the reaper takes
  // back one more lease than was counted, which errs towards admitting, never towards a key
  // locked out for good.
  leaseRow(row)[index % kSlots].fetch_add(1, std::memory_order_acq_rel);
  std::int64_t before = s.in_flight.fetch_add(1, std::memory_order_acq_rel);
  if (limit >= 0 && before >= limit) {
    s.in_flight.fetch_sub(1, std::memory_order_acq_rel);
    leaseRow(row)[index % kSlots].fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  return true;
}

void LimitsZone::releaseLease(std::uint32_t row, std::uint32_t index) {
  slot(index).in_flight.fetch_sub(1, std::memory_order_acq_rel);
  leaseRow(row)[index % kSlots].fetch_sub(1, std::memory_order_acq_rel);
}

void LimitsZone::reapLeases(std::uint32_t row) {
  std::atomic<std::int32_t>* leases = leaseRow(row);
  for (std::uint32_t i = 0; i < kSlots; ++i) {
    if (leases[i].load(std::memory_order_acquire) == 0) continue;
    std::int32_t held = leases[i].exchange(0, std::memory_order_acq_rel);
    if (held != 0) slot(i).in_flight.fetch_sub(held, std::memory_order_acq_rel);
  }
}

std::int32_t LimitsZone::leases(std::uint32_t row, std::uint32_t index) {
  return leaseRow(row)[index % kSlots].load(std::memory_order_acquire);
}

bool LimitsZone::tryAdmitRequest(std::uint32_t index, std::int64_t now, std::int64_t limit) {
  return slot(index).requests.tryAdd(now, limit);
}

void LimitsZone::addTokens(std::uint32_t index, std::int64_t now, const TokenUsage& usage) {
  KeySlot& s = slot(index);
  std::int64_t counted = std::max<std::int64_t>(0, usage.input) + std::max<std::int64_t>(0, usage.output);
  s.tokens.add(now, counted);
  rolledCount(s.day, s.day_tokens, utcDayNumber(now));
  s.day_tokens.fetch_add(counted, std::memory_order_acq_rel);
  rolledCount(s.month, s.month_tokens, utcMonthNumber(now));
  s.month_tokens.fetch_add(counted, std::memory_order_acq_rel);
  s.input_tokens.fetch_add(std::max<std::int64_t>(0, usage.input), std::memory_order_relaxed);
  s.cached_tokens.fetch_add(std::max<std::int64_t>(0, usage.cached), std::memory_order_relaxed);
  s.output_tokens.fetch_add(std::max<std::int64_t>(0, usage.output), std::memory_order_relaxed);
  s.reasoning_tokens.fetch_add(std::max<std::int64_t>(0, usage.reasoning), std::memory_order_relaxed);
}

void LimitsZone::recordRequest(std::uint32_t index, std::int64_t now, int status, std::string_view model) {
  KeySlot& s = slot(index);
  if (status >= 100 && status < 600) s.requests_by_class[status / 100 - 1].fetch_add(1, std::memory_order_relaxed);
  s.last_use.store(now, std::memory_order_relaxed);
  if (model.empty()) return;
  model = model.substr(0, ModelBucket::kNameSize - 1);
  for (ModelBucket& bucket : s.models) {
    std::int64_t state = bucket.state.load(std::memory_order_acquire);
    if (state == 0) {
      std::int64_t expected = 0;
      if (bucket.state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        std::memset(bucket.name, 0, sizeof bucket.name);
        std::memcpy(bucket.name, model.data(), model.size());
        bucket.state.store(2, std::memory_order_release);
        bucket.requests.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      state = bucket.state.load(std::memory_order_acquire);
    }
    if (state == 2 && std::string_view(bucket.name) == model) {
      bucket.requests.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // state 1: another process is naming it; look further rather than wait.
  }
  s.other_model_requests.fetch_add(1, std::memory_order_relaxed);
}

std::int64_t LimitsZone::dayTokens(std::uint32_t index, std::int64_t now) {
  KeySlot& s = slot(index);
  return rolledCount(s.day, s.day_tokens, utcDayNumber(now));
}

std::int64_t LimitsZone::monthTokens(std::uint32_t index, std::int64_t now) {
  KeySlot& s = slot(index);
  return rolledCount(s.month, s.month_tokens, utcMonthNumber(now));
}

}  // namespace cosp::common::keys
