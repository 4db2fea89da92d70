// VHD reader (Microsoft "Virtual Hard Disk Image Format Specification" 1.0), fixed and dynamic.
// See docs/formats/vhd.md. All fields are big-endian.
//
// Checked: the footer cookie and checksum; for dynamic disks the copy of the footer at offset 0
// against the one at the end (a missing end footer means a truncated upload), the dynamic header
// cookie and checksum, block size, BAT bounds. Differencing disks are refused and their parent is
// never opened. The virtual size follows qemu's rule per creator application (CHS geometry for
// Virtual PC and old qemu, current_size for Hyper-V, Disk2vhd, XenServer, qemu's "qem2").
#include <algorithm>
#include <array>
#include <cstring>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "formats/internal.h"

namespace ig::vhd {
namespace {

constexpr std::size_t kFooterSize = 512;
constexpr std::size_t kDynHeaderSize = 1024;

// Footer layout ("Hard Disk Footer Format").
constexpr std::size_t kFeatures = 8;
constexpr std::size_t kFileFormatVersion = 12;
constexpr std::size_t kDataOffset = 16;
constexpr std::size_t kCreatorApp = 28;
constexpr std::size_t kCreatorVersion = 32;
constexpr std::size_t kCurrentSize = 48;
constexpr std::size_t kCylinders = 56;
constexpr std::size_t kHeads = 58;
constexpr std::size_t kSectorsPerTrack = 59;
constexpr std::size_t kDiskType = 60;
constexpr std::size_t kChecksum = 64;

// Dynamic disk header layout ("Dynamic Disk Header Format").
constexpr std::size_t kDhTableOffset = 16;
constexpr std::size_t kDhMaxTableEntries = 28;
constexpr std::size_t kDhBlockSize = 32;
constexpr std::size_t kDhChecksum = 36;
constexpr std::size_t kDhParentName = 64;

constexpr std::uint32_t kDiskFixed = 2;
constexpr std::uint32_t kDiskDynamic = 3;
constexpr std::uint32_t kDiskDifferencing = 4;
constexpr std::uint32_t kBatUnused = 0xffffffff;

constexpr std::uint64_t kMaxGeometrySectors = 65535ULL * 16 * 255;
constexpr std::uint64_t kMaxSectors = 0xff000000ULL;  // 2040 GiB, the format's own limit

// The sector bitmap before each block's data: one bit per sector, padded to whole sectors.
constexpr std::uint64_t bitmap_bytes(std::uint32_t block_size) {
  return align_up(block_size / 512 / 8, 512);
}

template <std::size_t N>
std::uint32_t vhd_checksum(const std::array<std::byte, N>& b, std::size_t checksum_at) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < N; ++i) {
    if (i >= checksum_at && i < checksum_at + 4) continue;
    sum += std::to_integer<std::uint32_t>(b[i]);
  }
  return ~sum;
}

struct Footer {
  std::array<std::byte, kFooterSize> raw{};
  std::uint64_t data_offset = 0;
  std::string creator_app;
  std::uint32_t creator_version = 0;
  std::uint64_t current_size = 0;
  std::uint64_t chs_sectors = 0;
  std::uint32_t disk_type = 0;
};

Result<Footer> parse_footer(const std::array<std::byte, kFooterSize>& b, std::string_view where) {
  if (text_at<0, 8>(b) != "conectix") return Error::corrupt(fmt::format("vhd footer {}: bad cookie", where));
  const std::uint32_t stored = load_be<std::uint32_t, kChecksum>(b);
  const std::uint32_t computed = vhd_checksum(b, kChecksum);
  if (checksum_refuses(stored != computed)) {
    return Error::corrupt(fmt::format("vhd footer {}: checksum {:#010x}, computed {:#010x}", where, stored, computed));
  }
  Footer f;
  f.raw = b;
  f.data_offset = load_be<std::uint64_t, kDataOffset>(b);
  f.creator_app = std::string(text_at<kCreatorApp, 4>(b));
  f.creator_version = load_be<std::uint32_t, kCreatorVersion>(b);
  f.current_size = load_be<std::uint64_t, kCurrentSize>(b);
  f.chs_sectors = std::uint64_t{load_be<std::uint16_t, kCylinders>(b)} * load_le<std::uint8_t, kHeads>(b) *
                  load_le<std::uint8_t, kSectorsPerTrack>(b);
  f.disk_type = load_be<std::uint32_t, kDiskType>(b);
  (void)load_be<std::uint32_t, kFeatures>(b);
  (void)load_be<std::uint32_t, kFileFormatVersion>(b);
  return f;
}

class Image final : public DiskImage {
 public:
  Image(SourcePtr file, std::uint64_t virtual_size, std::uint64_t data_end, ImageInfo info)
      : file_(std::move(file)), virtual_size_(virtual_size), data_end_(data_end), info_(std::move(info)) {}

  // Dynamic disks only.
  void set_bat(std::vector<std::uint32_t> bat, std::uint32_t block_size) {
    bat_ = std::move(bat);
    block_size_ = block_size;
    bitmap_size_ = bitmap_bytes(block_size);
  }

  std::uint64_t size() const override { return virtual_size_; }
  std::string name() const override { return "vhd guest disk of " + file_->name(); }
  const ImageInfo& info() const override { return info_; }

  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    if (block_size_ == 0) return read_fixed(offset, out);
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t pos = offset + done;
      const std::uint64_t in_block = pos % block_size_;
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(block_size_ - in_block, out.size() - done));
      auto dst = out.subspan(done, n);
      const std::optional<std::uint64_t> host = IG_TRY(block_data(pos / block_size_));
      if (!host) {
        std::memset(dst.data(), 0, n);
      } else {
        // Like qemu, an allocated block is read whole; its sector bitmap is not consulted
        // (see docs/formats/vhd.md).
        IG_TRY_CTX(file_->read_at(*host + in_block, dst), "vhd: block {}", pos / block_size_);
      }
      done += n;
    }
    return ok();
  }

  Result<Extent> extent_at(std::uint64_t offset) const override {
    if (offset >= virtual_size_) return out_of_range(offset, 1);
    if (block_size_ == 0) {
      // Fixed: the guest disk is the file's first virtual_size bytes; ask the file.
      Extent e = IG_TRY(file_->extent_at(offset));
      e.length = std::min(e.length, virtual_size_ - offset);
      return e;
    }
    std::uint64_t block = offset / block_size_;
    const bool allocated = IG_TRY(block_data(block)).has_value();
    std::uint64_t end = (block + 1) * block_size_;
    for (int i = 0; i < 65536 && end < virtual_size_; ++i) {
      if (IG_TRY(block_data(end / block_size_)).has_value() != allocated) break;
      end += block_size_;
    }
    return Extent{std::min(end, virtual_size_) - offset, allocated ? ExtentKind::kData : ExtentKind::kUnallocated};
  }

 private:
  Result<void> read_fixed(std::uint64_t offset, std::span<std::byte> out) const {
    // The virtual size may exceed the data before the footer (CHS rounding); that tail is zeros.
    const std::uint64_t stored = std::min(data_end_, virtual_size_);
    std::size_t n =
        offset < stored ? static_cast<std::size_t>(std::min<std::uint64_t>(stored - offset, out.size())) : 0;
    if (n > 0) IG_TRY(file_->read_at(offset, out.first(n)));
    std::memset(out.data() + n, 0, out.size() - n);
    return ok();
  }

  // The file offset of block `index`'s data, or nothing when it is not allocated.
  Result<std::optional<std::uint64_t>> block_data(std::uint64_t index) const {
    if (index >= bat_.size() || bat_[index] == kBatUnused) return std::optional<std::uint64_t>{};
    const std::uint64_t start = std::uint64_t{bat_[index]} * 512 + bitmap_size_;
    if (!range_within(start, block_size_, data_end_)) {
      // The last block may be cut short where the virtual size ends inside it.
      const std::uint64_t needed = std::min<std::uint64_t>(block_size_, virtual_size_ - index * block_size_);
      if (!range_within(start, needed, data_end_)) {
        return Error::truncated(
            fmt::format("vhd: BAT entry {} points at sector {}, past the data end ({} bytes): "
                        "truncated image?",
                        index, bat_[index], data_end_));
      }
    }
    return std::optional<std::uint64_t>(start);
  }

  SourcePtr file_;
  std::uint64_t virtual_size_;
  std::uint64_t data_end_;  // where the end footer starts
  std::vector<std::uint32_t> bat_;
  std::uint32_t block_size_ = 0;
  std::uint64_t bitmap_size_ = 0;
  ImageInfo info_;
};

std::string parent_name(const std::array<std::byte, kDynHeaderSize>& dh) {
  // parent_unicode_name: UTF-16BE, up to 256 code units; ASCII shown, the rest as '?'.
  std::string out;
  for (std::size_t i = 0; i + 1 < 512; i += 2) {
    const std::uint16_t c = load_be_ptr<std::uint16_t>(dh.data() + kDhParentName + i);
    if (c == 0) break;
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits) {
  const std::uint64_t file_size = file->size();
  if (file_size < kFooterSize) {
    return Error::corrupt(fmt::format("vhd: file has {} bytes, a footer needs 512", file_size));
  }
  std::array<std::byte, kFooterSize> head{};
  IG_TRY(file->read_at(0, head));
  std::array<std::byte, kFooterSize> tail{};
  IG_TRY(file->read_at(file_size - kFooterSize, tail));

  const bool head_cookie = text_at<0, 8>(head) == "conectix";
  const bool tail_cookie = text_at<0, 8>(tail) == "conectix";
  Footer footer;
  if (head_cookie) {
    // Dynamic or differencing: the copy at offset 0 must match the footer at the end.
    footer = IG_TRY(parse_footer(head, "copy at offset 0"));
    if (footer.disk_type == kDiskFixed && file_size == kFooterSize) {
      // A fixed disk of zero bytes is only its footer.
    }
  } else {
    footer = IG_TRY(parse_footer(tail, "at the end"));
  }

  ImageInfo info;
  info.format = Format::kVhd;
  info.creator = printable(footer.creator_app);
  info.compression = "none";

  // Virtual size, as qemu's vpc driver computes it.
  const std::string& app = footer.creator_app;
  const bool use_chs =
      app != "win " && app != "qem2" && app != "d2v " && app != "CTXS" && app != std::string("tap\0", 4);
  std::uint64_t sectors = footer.chs_sectors;
  if (!use_chs || sectors == kMaxGeometrySectors) sectors = footer.current_size / 512;
  if (sectors > kMaxSectors) {
    return Error::unsupported(
        fmt::format("vhd: virtual size {} bytes exceeds the VHD limit of 2040 GiB", sectors * 512));
  }
  const std::uint64_t virtual_size = sectors * 512;
  if (virtual_size > limits.max_virtual_size_bytes) {
    return Error::limit_exceeded(
        fmt::format("vhd: virtual size {} exceeds the limit {}", virtual_size, limits.max_virtual_size_bytes));
  }
  info.virtual_size = virtual_size;
  info.format_specific.push_back({"creator-app", info.creator});
  info.format_specific.push_back(
      {"size-source",
       std::string(use_chs && footer.chs_sectors != kMaxGeometrySectors ? "chs-geometry" : "current-size")});

  if (footer.disk_type == kDiskFixed) {
    if (head_cookie && file_size > kFooterSize) {
      return Error::corrupt("vhd: a fixed disk with a footer copy at offset 0 (its data would start there)");
    }
    info.subformat = "fixed";
    return std::unique_ptr<DiskImage>(
        new Image(std::move(file), virtual_size, file_size - kFooterSize, std::move(info)));
  }
  if (footer.disk_type != kDiskDynamic && footer.disk_type != kDiskDifferencing) {
    return Error::unsupported(
        fmt::format("vhd footer: disk type {} (2 fixed, 3 dynamic, 4 differencing)", footer.disk_type));
  }
  if (!head_cookie) return Error::corrupt("vhd: dynamic disk without the footer copy at offset 0");

  // Dynamic disk header.
  if (!range_within(footer.data_offset, kDynHeaderSize, file_size)) {
    return Error::corrupt(fmt::format("vhd footer: data_offset {:#x} past the end of the file", footer.data_offset));
  }
  std::array<std::byte, kDynHeaderSize> dh{};
  IG_TRY(file->read_at(footer.data_offset, dh));
  if (text_at<0, 8>(dh) != "cxsparse") return Error::corrupt("vhd dynamic header: bad cookie");
  if (footer.disk_type == kDiskDifferencing) {
    return Error::unsupported(fmt::format(
        "vhd: differencing disk refused: its parent '{}' is never opened; merge it into a standalone VHD first",
        parent_name(dh)));
  }
  const std::uint64_t table_offset = load_be<std::uint64_t, kDhTableOffset>(dh);
  const std::uint32_t max_table_entries = load_be<std::uint32_t, kDhMaxTableEntries>(dh);
  const std::uint32_t block_size = load_be<std::uint32_t, kDhBlockSize>(dh);
  if (!is_power_of_two(block_size) || block_size < 512 || block_size > (1u << 28)) {
    return Error::corrupt(
        fmt::format("vhd dynamic header: block_size {} (must be a power of two in [512, 256 MiB])", block_size));
  }
  if (std::uint64_t{max_table_entries} * 4 > limits.max_table_bytes) {
    return Error::limit_exceeded(
        fmt::format("vhd dynamic header: max_table_entries {} too large (BAT of {} bytes, "
                    "limit {})",
                    max_table_entries, std::uint64_t{max_table_entries} * 4, limits.max_table_bytes));
  }
  if (std::uint64_t{max_table_entries} * block_size < virtual_size) {
    return Error::corrupt(fmt::format("vhd dynamic header: {} BAT entries of {} bytes cannot cover {} bytes",
                                      max_table_entries, block_size, virtual_size));
  }
  const std::uint32_t stored = load_be<std::uint32_t, kDhChecksum>(dh);
  const std::uint32_t computed = vhd_checksum(dh, kDhChecksum);
  if (checksum_refuses(stored != computed)) {
    return Error::corrupt(fmt::format("vhd dynamic header: checksum {:#010x}, computed {:#010x}", stored, computed));
  }
  // The header's own fields are judged first (as qemu reports them); then the end footer, whose
  // absence means the upload was cut short.
  if (!tail_cookie) {
    return Error::truncated(
        "vhd: the footer at the end of the file is missing (the copy at offset 0 is intact): "
        "truncated upload?");
  }
  if (Footer end = IG_TRY(parse_footer(tail, "at the end")); end.raw != footer.raw) {
    return Error::corrupt("vhd: the footer at the end differs from its copy at offset 0");
  }
  const std::uint64_t bat_entries = div_round_up(virtual_size, block_size);  // only those the disk uses
  if (!range_within(table_offset, bat_entries * 4, file_size)) {
    return Error::truncated(fmt::format("vhd: BAT [{:#x}, +{}) lies past the end of the file ({} bytes)", table_offset,
                                        bat_entries * 4, file_size));
  }
  std::vector<std::byte> raw = IG_TRY(read_vector(*file, table_offset, static_cast<std::size_t>(bat_entries * 4)));
  std::vector<std::uint32_t> bat(static_cast<std::size_t>(bat_entries));
  for (std::size_t i = 0; i < bat.size(); ++i) bat[i] = load_be_ptr<std::uint32_t>(raw.data() + i * 4);

  // The output budget: allocated blocks that share file bytes (no VHD writer makes them) would
  // turn a small file into a large disk.
  std::vector<std::uint64_t> blocks;
  for (const std::uint32_t e : bat) {
    if (e != kBatUnused) blocks.push_back(std::uint64_t{e} * 512 + bitmap_bytes(block_size));
  }
  IG_TRY(check_output_budget(blocks, block_size, block_size, limits.max_output_bytes, "vhd", "block"));

  info.subformat = "dynamic";
  info.cluster_size = block_size;
  auto image = std::make_unique<Image>(std::move(file), virtual_size, file_size - kFooterSize, std::move(info));
  image->set_bat(std::move(bat), block_size);
  return std::unique_ptr<DiskImage>(std::move(image));
}

}  // namespace ig::vhd
