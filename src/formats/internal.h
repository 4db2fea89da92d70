// Pieces shared by the format readers; not part of the formats layer's interface.
//
// - The per-format openers that open_image() dispatches to.
// - Bounded decompression: output never exceeds the caller's buffer, whatever the input claims.
// - TableCache: an LRU of decoded metadata tables (qcow2 L2, VMDK grain tables) bounded in bytes
//   and safe for concurrent readers.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/limits.h"
#include "formats/disk_image.h"

namespace ig {

namespace raw {
Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits);
}
namespace qcow2 {
Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits);
}
namespace vhd {
Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits);
}
namespace vmdk {
Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits);
// Refusal message for a text descriptor file, naming the extents it would have opened.
std::string describe_descriptor_file(std::string_view text);
}  // namespace vmdk

// Inflates a deflate stream into `out`. `zlib_wrapper` selects RFC 1950 (zlib header, VMDK)
// over raw RFC 1951 (qcow2). Returns the number of bytes produced; fails with kCorrupt on a
// malformed stream. Never writes past `out`.
Result<std::size_t> inflate_into(std::span<const std::byte> in, std::span<std::byte> out, bool zlib_wrapper);
// Decompresses zstd frames into `out`; same contract.
Result<std::size_t> zstd_into(std::span<const std::byte> in, std::span<std::byte> out);

// The output budget of a format without reference counts (VHD blocks, VMDK grains): converting
// the image writes `output_per_unit` bytes for each entry of `host_offsets` (the file offsets the
// allocated entries map), and may write no more than the distinct file bytes they cover would
// give: the union of [offset, offset + span_bytes) over the entries, scaled by
// output_per_unit / span_bytes, at most `max_output_bytes`. Entries sharing or overlapping file
// bytes (which no writer of these formats produces) would multiply a small file into a large
// disk: kLimitExceeded, naming `format` and `unit`. Sorts `host_offsets`.
Result<void> check_output_budget(std::vector<std::uint64_t>& host_offsets, std::uint64_t span_bytes,
                                 std::uint64_t output_per_unit, std::uint64_t max_output_bytes, std::string_view format,
                                 std::string_view unit);

// The memory kept for compressed clusters (qcow2) and grains (streamOptimized VMDK) inflated
// for reads of part of one: a check reads a file system's blocks a few KiB at a time, and each
// such read used to inflate its whole cluster again (one inode-table cluster 340 times in a check,
// docs/performance.md). Whole-cluster reads (a conversion's) inflate in place and skip it.
inline constexpr std::uint64_t kInflatedCacheBytes = std::uint64_t{8} << 20;

// An LRU of decoded tables (or inflated clusters) by file offset, within a byte budget.
template <class Entry>
class TableCache {
 public:
  using Table = std::shared_ptr<const std::vector<Entry>>;
  explicit TableCache(std::uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  // Returns the table stored at `key`, calling `load` on a miss.
  Result<Table> get(std::uint64_t key, const std::function<Result<std::vector<Entry>>()>& load) const {
    {
      std::lock_guard lock(mu_);
      auto it = map_.find(key);
      if (it != map_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.second);
        return it->second.first;
      }
    }
    auto table = std::make_shared<const std::vector<Entry>>(IG_TRY(load()));
    const std::uint64_t bytes = table->size() * sizeof(Entry);
    std::lock_guard lock(mu_);
    if (map_.find(key) == map_.end()) {
      lru_.push_front(key);
      map_.emplace(key, std::make_pair(Table(table), lru_.begin()));
      used_bytes_ += bytes;
      // Keep at least the table just loaded, whatever the budget.
      while (used_bytes_ > budget_bytes_ && map_.size() > 1) {
        auto victim = map_.find(lru_.back());
        used_bytes_ -= victim->second.first->size() * sizeof(Entry);
        map_.erase(victim);
        lru_.pop_back();
      }
    }
    return Table(table);
  }

 private:
  std::uint64_t budget_bytes_;
  mutable std::mutex mu_;
  mutable std::list<std::uint64_t> lru_;
  mutable std::unordered_map<std::uint64_t, std::pair<Table, std::list<std::uint64_t>::iterator>> map_;
  mutable std::uint64_t used_bytes_ = 0;
};

}  // namespace ig
