// How far an import has come, as DescribeImages shows it (catalog::Progress): kept by the threads
// doing the import — the download reports bytes fetched, the sandboxed reader bytes converted —
// and read by the heartbeat that records it in the catalog.
//
// The percent spans the import's disks (each disk its share, half for fetching and half for
// converting, as the two run together). The estimate of the time left is the disk's: its bytes
// still to fetch at the rate they have come so far, or its bytes still to convert at theirs,
// whichever ends later (the conversion follows the download). Later disks' sizes are unknown
// until they start, so they are not in it; Disk and Disks say how many remain.
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "catalog/catalog.h"

namespace ig::service {

class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ProgressMeter(std::int64_t disks) : disks_(disks) {}
  // Disk `n` (1-based) starts at `at`; it is the part [percent_from, percent_to) of the import.
  void start_disk(std::int64_t n, std::int64_t percent_from, std::int64_t percent_to, Clock::time_point at);
  // The disk's object: `done` of `total` bytes fetched (total 0 while its size is unknown).
  void fetched(std::uint64_t done, std::uint64_t total);
  // The disk's virtual disk: `done` of `total` bytes converted.
  void converted(std::uint64_t done, std::uint64_t total);
  catalog::Progress at(Clock::time_point now) const;
  // Bumped by every report: the heartbeat records the progress when it has changed.
  std::uint64_t version() const;

 private:
  mutable std::mutex m_;
  std::int64_t disks_;
  std::int64_t disk_ = 0;
  std::int64_t from_ = 0;
  std::int64_t to_ = 0;
  Clock::time_point started_{};
  std::uint64_t fetched_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t converted_ = 0;
  std::uint64_t virtual_bytes_ = 0;
  std::uint64_t version_ = 0;
};

}  // namespace ig::service
