// btrfs open, then a bounded walk (fuzz_fs_common.h), then subvolumes by path and id.
//
// A btrfs file system is never smaller than its chunks, which mkfs places megabytes apart, yet a
// small one holds about thirty 4 KiB blocks that are not zeros. The input is therefore a block map
// of a 32 MiB device (block_map.py writes one from an image):
//
//   u16 n (little-endian) | n × u16 device block number | the n blocks, 4 KiB each
//
// Block i of the data lands at device block number[i] (the first mapping of a number wins; numbers
// past the device and blocks past the input's end are ignored); the rest of the device reads as
// zeros. Seeds are ~120 KiB instead of the ~5 MiB the same images take cut after their last
// non-zero byte, and a run no longer spends its time copying megabytes of zeros.
#include <array>
#include <cstring>

#include "fs/btrfs.h"
#include "fuzz/fuzz_fs_common.h"

namespace {

constexpr std::size_t kBlock = 4096;
constexpr std::size_t kDeviceBlocks = 8192;  // 32 MiB

class BlockMappedInput final : public ig::ByteSource {
 public:
  BlockMappedInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {
    location_.fill(kUnmapped);
    if (size < 2) return;
    const std::size_t n = data[0] | std::size_t{data[1]} << 8;
    const std::size_t header = 2 + 2 * n;
    for (std::size_t i = 0; i < n && 2 + 2 * i + 1 < size; ++i) {
      const std::size_t block = data[2 + 2 * i] | std::size_t{data[3 + 2 * i]} << 8;
      const std::size_t at = header + i * kBlock;
      if (block < kDeviceBlocks && at < size && location_[block] == kUnmapped) location_[block] = at;
    }
  }
  std::uint64_t size() const override { return kDeviceBlocks * kBlock; }
  std::string name() const override { return "fuzz input, block-mapped"; }
  ig::Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = offset + done;
      const std::size_t in_block = static_cast<std::size_t>(at % kBlock);
      const std::size_t n = std::min(kBlock - in_block, out.size() - done);
      const std::size_t from = location_[static_cast<std::size_t>(at / kBlock)];
      std::size_t copied = 0;
      if (from != kUnmapped && from + in_block < size_) {
        copied = std::min(n, size_ - (from + in_block));
        std::memcpy(out.data() + done, data_ + from + in_block, copied);
      }
      std::memset(out.data() + done + copied, 0, n - copied);
      done += n;
    }
    return ig::ok();
  }

 private:
  static constexpr std::size_t kUnmapped = ~std::size_t{0};
  const std::uint8_t* data_;
  std::size_t size_;
  std::array<std::size_t, kDeviceBlocks> location_;  // the input offset of each device block
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ig::fuzz::run_fs(std::make_shared<BlockMappedInput>(data, size), [](ig::SourcePtr dev, const ig::FsLimits& l) {
    auto fs = ig::btrfs::open(std::move(dev), l);
    if (fs) {
      (void)(*fs)->open_subvolume("@");
      (void)(*fs)->open_subvolume(std::uint64_t{256});
    }
    return fs;
  });
}
