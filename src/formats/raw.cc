// Raw images: the file is the disk. Like qemu, the virtual size is the file size rounded up to a
// whole 512-byte sector, and the missing tail reads as zeros. Allocation comes from the file's
// holes (SEEK_DATA / SEEK_HOLE) when the container is a local file.
#include <algorithm>
#include <cstring>

#include "base/checked.h"
#include "formats/internal.h"

namespace ig::raw {
namespace {

class Image final : public DiskImage {
 public:
  Image(SourcePtr file, ImageInfo info) : file_(std::move(file)), info_(std::move(info)) {}
  std::uint64_t size() const override { return info_.virtual_size; }
  std::string name() const override { return "raw disk " + file_->name(); }
  const ImageInfo& info() const override { return info_; }

  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    const std::uint64_t stored = file_->size();
    const std::size_t n =
        offset < stored ? static_cast<std::size_t>(std::min<std::uint64_t>(stored - offset, out.size())) : 0;
    if (n > 0) IG_TRY(file_->read_at(offset, out.first(n)));
    std::memset(out.data() + n, 0, out.size() - n);
    return ok();
  }

  Result<Extent> extent_at(std::uint64_t offset) const override {
    if (offset >= size()) return out_of_range(offset, 1);
    if (offset >= file_->size()) return Extent{size() - offset, ExtentKind::kZero};
    return file_->extent_at(offset);
  }

 private:
  SourcePtr file_;
  ImageInfo info_;
};

}  // namespace

Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits) {
  const std::uint64_t virtual_size = align_up(file->size(), 512);
  if (virtual_size > limits.max_virtual_size_bytes) {
    return Error::limit_exceeded(
        fmt::format("raw: size {} exceeds the limit {}", virtual_size, limits.max_virtual_size_bytes));
  }
  ImageInfo info;
  info.format = Format::kRaw;
  info.virtual_size = virtual_size;
  info.compression = "none";
  return std::unique_ptr<DiskImage>(new Image(std::move(file), std::move(info)));
}

}  // namespace ig::raw
