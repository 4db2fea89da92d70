// FaultySource: a decorator that injects failures, for tests of the broken path.
//
// It can fail the Nth read (counting from 1) with kIo, pretend the data ends early (reads past
// `visible_bytes` fail with kIo "short read" while size() still reports the parent's size, like a
// file truncated after open), fail the reads touching a range, and flip bytes at chosen offsets.
// Reads are counted atomically, so it is safe for concurrent reads like every ByteSource.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "io/byte_source.h"

namespace ig {

struct FaultPlan {
  std::optional<std::uint64_t> fail_read_number;  // 1-based
  std::optional<std::uint64_t> visible_bytes;     // reads reaching past this fail
  std::vector<std::uint64_t> flip_offsets;        // each byte at these offsets is XORed with 0xFF
  // Reads touching [first, second) fail with kIo, like a bad stretch of the medium.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> unreadable;
};

class FaultySource final : public ByteSource {
 public:
  FaultySource(SourcePtr parent, FaultPlan plan) : parent_(std::move(parent)), plan_(std::move(plan)) {}
  std::uint64_t size() const override { return parent_->size(); }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  std::string name() const override { return "faulty(" + parent_->name() + ")"; }
  std::uint64_t reads() const { return reads_.load(); }

 private:
  SourcePtr parent_;
  FaultPlan plan_;
  mutable std::atomic<std::uint64_t> reads_{0};
};

}  // namespace ig
