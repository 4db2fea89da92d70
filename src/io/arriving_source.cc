#include "io/arriving_source.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "io/sources.h"

namespace ig {

void ArrivalFront::finish(bool complete) {
  if (complete && size.load(std::memory_order_acquire) == kUnknown) {
    size.store(arrived.load(std::memory_order_acquire), std::memory_order_release);
  }
  state.store(complete ? kComplete : kFailed, std::memory_order_release);
}

Result<SharedArrivalFront> SharedArrivalFront::create() {
  const int fd = ::memfd_create("imagegate-arrival-front", MFD_CLOEXEC);
  if (fd < 0) return Error::from_errno("memfd_create for the download's shared front", errno);
  if (::ftruncate(fd, sizeof(ArrivalFront)) != 0) {
    const int err = errno;
    ::close(fd);
    return Error::from_errno("ftruncate of the download's shared front", err);
  }
  void* page = ::mmap(nullptr, sizeof(ArrivalFront), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    return Error::from_errno("mmap of the download's shared front", err);
  }
  return SharedArrivalFront(new (page) ArrivalFront(), fd);
}

Result<SharedArrivalFront> SharedArrivalFront::map(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno("fstat of the download's shared front", errno);
  if (st.st_size < static_cast<off_t>(sizeof(ArrivalFront))) {
    return Error::invalid_argument(
        fmt::format("the download's shared front is {} bytes, not {}", st.st_size, sizeof(ArrivalFront)));
  }
  void* page = ::mmap(nullptr, sizeof(ArrivalFront), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED) return Error::from_errno("mmap of the download's shared front", errno);
  return SharedArrivalFront(static_cast<ArrivalFront*>(page), -1);
}

SharedArrivalFront::~SharedArrivalFront() {
  if (front_ == nullptr) return;
  if (fd_ >= 0) front_->~ArrivalFront();
  ::munmap(front_, sizeof(ArrivalFront));
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Sleeps a little longer each time, from 50 µs up to 2 ms: a reader close behind the front wakes
// soon, one waiting on a slow download costs next to nothing.
void pause(int& round) {
  const long ns = std::min<long>(50'000L << std::min(round, 6), 2'000'000L);
  ++round;
  const timespec t{0, ns};
  ::nanosleep(&t, nullptr);
}

}  // namespace

Result<std::unique_ptr<ArrivingSource>> ArrivingSource::open(int fd, const ArrivalFront& front, std::string name) {
  for (int round = 0;; pause(round)) {
    const std::uint64_t size = front.size.load(std::memory_order_acquire);
    if (size != ArrivalFront::kUnknown) {
      return std::unique_ptr<ArrivingSource>(new ArrivingSource(fd, front, std::move(name), size));
    }
    if (front.state.load(std::memory_order_acquire) == ArrivalFront::kFailed) {
      return Error::io(fmt::format("{}: the download failed before its size was known", name));
    }
  }
}

Result<void> ArrivingSource::wait_for(std::uint64_t end) const {
  for (int round = 0;; pause(round)) {
    // The state is read before the front: a download that completes between the two loads is
    // seen with everything it wrote.
    const std::uint32_t state = front_.state.load(std::memory_order_acquire);
    const std::uint64_t arrived = front_.arrived.load(std::memory_order_acquire);
    if (arrived >= end) return ok();
    if (state == ArrivalFront::kFailed) {
      return Error::io(
          fmt::format("{}: the download failed after {} bytes, before byte {} arrived", name_, arrived, end));
    }
    if (state == ArrivalFront::kComplete) {
      return Error::truncated(
          fmt::format("{}: the download ended after {} bytes of the {} announced", name_, arrived, size_));
    }
  }
}

Result<void> ArrivingSource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  if (out.empty()) return ok();
  const std::uint64_t end = offset + out.size();
  if (guessing_.load(std::memory_order_acquire) && offset >= size_ - std::min(size_, kGuessedTailBytes) &&
      front_.arrived.load(std::memory_order_acquire) < end &&
      front_.state.load(std::memory_order_acquire) == ArrivalFront::kArriving) {
    // Not there yet, and within the last bytes: zeros, and the guess is remembered.
    std::memset(out.data(), 0, out.size());
    std::uint64_t from = guessed_from_.load(std::memory_order_relaxed);
    while (offset < from && !guessed_from_.compare_exchange_weak(from, offset, std::memory_order_acq_rel)) {
    }
    return ok();
  }
  IG_TRY(wait_for(end));
  return pread_exact(fd_, offset, out, name_);
}

Result<bool> ArrivingSource::guesses_held() const {
  const std::uint64_t from = guessed_from_.load(std::memory_order_acquire);
  if (from >= size_) return true;
  std::vector<std::byte> real(static_cast<std::size_t>(size_ - from));
  IG_TRY(wait_for(size_));
  IG_TRY(pread_exact(fd_, from, real, name_));
  return std::all_of(real.begin(), real.end(), [](std::byte b) { return b == std::byte{0}; });
}

Result<Extent> ArrivingSource::extent_at(std::uint64_t offset) const {
  if (offset >= size_) return out_of_range(offset, 1);
  IG_TRY(wait_for(offset + 1));
  const std::uint64_t arrived = std::min(front_.arrived.load(std::memory_order_acquire), size_);
  return file_extent_at(fd_, offset, arrived);
}

}  // namespace ig
