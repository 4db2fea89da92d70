#include "io/stage_meter.h"

namespace ig {

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kOpen: return "open";
    case Stage::kMeasure: return "measure";
    case Stage::kPartitions: return "partitions";
    case Stage::kFileSystems: return "file systems";
    case Stage::kKernels: return "kernels";
    case Stage::kInitramfs: return "initramfs";
    case Stage::kRules: return "rules";
  }
  return "?";
}

int StageMeter::enter(int next) {
  const auto now = std::chrono::steady_clock::now();
  const int was = current_.load(std::memory_order_relaxed);
  if (was >= 0) seconds_[static_cast<std::size_t>(was)] += std::chrono::duration<double>(now - since_).count();
  since_ = now;
  current_.store(next, std::memory_order_relaxed);
  return was;
}

std::array<StageTotals, kStageCount> StageMeter::totals() const {
  std::array<StageTotals, kStageCount> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].seconds = seconds_[i];
    out[i].bytes_read = bytes_[i].load(std::memory_order_relaxed);
    out[i].reads = reads_[i].load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace ig
