// btrfs open, then a bounded walk (fuzz_fs_common.h), then subvolumes by path and id.
//
// A btrfs file system is never smaller than its chunks, which mkfs places megabytes apart; the
// input is the start of the device and the rest reads as zeros up to kDeviceBytes, so that seeds
// (make-seeds.sh) are images cut after their last non-zero byte, not whole images.
#include <cstring>

#include "fs/btrfs.h"
#include "fuzz/fuzz_fs_common.h"

namespace {

constexpr std::uint64_t kDeviceBytes = std::uint64_t{32} << 20;

class ZeroPadded final : public ig::ByteSource {
 public:
  explicit ZeroPadded(ig::SourcePtr input) : input_(std::move(input)) {}
  std::uint64_t size() const override { return std::max(kDeviceBytes, input_->size()); }
  std::string name() const override { return "fuzz input, zero-padded"; }
  ig::Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    std::memset(out.data(), 0, out.size());
    if (offset < input_->size()) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(input_->size() - offset, out.size()));
      IG_TRY(input_->read_at(offset, out.first(n)));
    }
    return ig::ok();
  }

 private:
  ig::SourcePtr input_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ig::fuzz::run_fs(data, size, [](ig::SourcePtr dev, const ig::FsLimits& l) {
    auto fs = ig::btrfs::open(std::make_shared<ZeroPadded>(std::move(dev)), l);
    if (fs) {
      (void)(*fs)->open_subvolume("@");
      (void)(*fs)->open_subvolume(std::uint64_t{256});
    }
    return fs;
  });
}
