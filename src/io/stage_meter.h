// StageMeter: where one pass over an image (a check) spends its time and its reads, per stage —
// open, measure, partitions, file systems, kernels, initramfs, rules — so that the slowest stage
// is visible (bench/check_bench.sh, `imagegate check --stages`).
//
// The pass marks its stages with StageScope; a CountingSource over the uploaded file adds every
// read to the stage running when it happens. Bytes are those read from the file itself, under
// any format decoding: what pread returns, the same count strace gives. A stage's time runs from
// its scope's start to its end, less the nested scopes (a stage is never counted twice), so the
// stages add up to the whole pass.
//
// Cheap: a scope is two clock reads; a read, two relaxed atomic additions. A pass without a meter
// (the worker, the tests) passes nullptr and pays one branch per scope.
// Thread safety: scopes are entered and left by one thread (the pass); reads may be counted from
// any thread. totals() is read after the pass.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "io/byte_source.h"

namespace ig {

enum class Stage : int { kOpen, kMeasure, kPartitions, kFileSystems, kKernels, kInitramfs, kRules };
inline constexpr int kStageCount = 7;

std::string_view stage_name(Stage stage);  // "open", "measure", "partitions", "file systems", ...

struct StageTotals {
  double seconds = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t reads = 0;
};

class StageMeter {
 public:
  StageMeter() = default;
  StageMeter(const StageMeter&) = delete;
  StageMeter& operator=(const StageMeter&) = delete;

  // Counts a read of `bytes` to the running stage (to none before the first scope).
  void add_read(std::uint64_t bytes) {
    const int s = current_.load(std::memory_order_relaxed);
    if (s < 0) return;
    bytes_[static_cast<std::size_t>(s)].fetch_add(bytes, std::memory_order_relaxed);
    reads_[static_cast<std::size_t>(s)].fetch_add(1, std::memory_order_relaxed);
  }
  std::array<StageTotals, kStageCount> totals() const;

 private:
  friend class StageScope;
  // Makes `next` the running stage (-1: none), charging the time since the last switch to the
  // stage that was running; returns that stage.
  int enter(int next);

  std::atomic<int> current_{-1};
  std::chrono::steady_clock::time_point since_{};
  std::array<double, kStageCount> seconds_{};
  std::array<std::atomic<std::uint64_t>, kStageCount> bytes_{};
  std::array<std::atomic<std::uint64_t>, kStageCount> reads_{};
};

// Runs `stage` on `meter` (when not null) until destroyed, then resumes the stage it interrupted.
class StageScope {
 public:
  StageScope(StageMeter* meter, Stage stage)
      : meter_(meter), previous_(meter != nullptr ? meter->enter(static_cast<int>(stage)) : -1) {}
  ~StageScope() {
    if (meter_ != nullptr) meter_->enter(previous_);
  }
  StageScope(const StageScope&) = delete;
  StageScope& operator=(const StageScope&) = delete;

 private:
  StageMeter* meter_;
  int previous_;
};

// A decorator that counts every read of its parent to `meter` (which must outlive it).
class CountingSource final : public ByteSource {
 public:
  CountingSource(SourcePtr parent, StageMeter& meter) : parent_(std::move(parent)), meter_(meter) {}
  std::uint64_t size() const override { return parent_->size(); }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    IG_TRY(parent_->read_at(offset, out));
    meter_.add_read(out.size());
    return ok();
  }
  Result<Extent> extent_at(std::uint64_t offset) const override { return parent_->extent_at(offset); }
  std::string name() const override { return parent_->name(); }
  std::optional<std::uint64_t> stored_bytes() const override { return parent_->stored_bytes(); }

 private:
  SourcePtr parent_;
  StageMeter& meter_;
};

}  // namespace ig
