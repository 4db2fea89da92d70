// ext2 / ext3 / ext4 reader, after the kernel's Documentation/filesystems/ext4 and
// fs/ext4/ext4.h. See docs/formats/ext4.md. All fields are little-endian.
//
// Read: the superblock, group descriptors (32- and 64-bit, meta_bg), inodes of any size, extent
// trees (depth <= 5) and block maps (direct, indirect, double, triple), inline data (i_block and
// the in-inode "system.data" attribute), linear and htree directories (read linearly: htree
// interior blocks look like empty directory blocks), fast and slow symlinks. With
// metadata_csum, the superblock, group descriptor, inode and extent-block checksums are verified.
// Refused by name: encrypted files and directories, compressed inodes, journals that need
// recovery are reported (the on-disk state is read as it is).
#include "fs/ext.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "base/crc32c.h"
#include "base/text.h"
#include "fs/mapped_source.h"

namespace ig::ext {
namespace {

constexpr std::uint64_t kSuperblockOffset = 1024;
constexpr std::uint16_t kMagic = 0xef53;

// Superblock fields.
constexpr std::size_t kSInodesCount = 0x0;
constexpr std::size_t kSBlocksCountLo = 0x4;
constexpr std::size_t kSFirstDataBlock = 0x14;
constexpr std::size_t kSLogBlockSize = 0x18;
constexpr std::size_t kSBlocksPerGroup = 0x20;
constexpr std::size_t kSInodesPerGroup = 0x28;
constexpr std::size_t kSMagic = 0x38;
constexpr std::size_t kSState = 0x3a;
constexpr std::size_t kSRevLevel = 0x4c;
constexpr std::size_t kSInodeSize = 0x58;
constexpr std::size_t kSFeatureCompat = 0x5c;
constexpr std::size_t kSFeatureIncompat = 0x60;
constexpr std::size_t kSFeatureRoCompat = 0x64;
constexpr std::size_t kSUuid = 0x68;
constexpr std::size_t kSVolumeName = 0x78;
constexpr std::size_t kSDescSize = 0xfe;
constexpr std::size_t kSFirstMetaBg = 0x104;
constexpr std::size_t kSBlocksCountHi = 0x150;
constexpr std::size_t kSChecksumType = 0x175;
constexpr std::size_t kSChecksumSeed = 0x270;
constexpr std::size_t kSChecksum = 0x3fc;

constexpr std::uint32_t kCompatHasJournal = 0x4;
constexpr std::uint32_t kIncompatFiletype = 0x2;
constexpr std::uint32_t kIncompatRecover = 0x4;
constexpr std::uint32_t kIncompatJournalDev = 0x8;
constexpr std::uint32_t kIncompatMetaBg = 0x10;
constexpr std::uint32_t kIncompatExtents = 0x40;
constexpr std::uint32_t kIncompat64bit = 0x80;
constexpr std::uint32_t kIncompatMmp = 0x100;
constexpr std::uint32_t kIncompatFlexBg = 0x200;
constexpr std::uint32_t kIncompatEaInode = 0x400;
constexpr std::uint32_t kIncompatDirData = 0x1000;
constexpr std::uint32_t kIncompatCsumSeed = 0x2000;
constexpr std::uint32_t kIncompatLargeDir = 0x4000;
constexpr std::uint32_t kIncompatInlineData = 0x8000;
constexpr std::uint32_t kIncompatEncrypt = 0x10000;
constexpr std::uint32_t kIncompatCasefold = 0x20000;
constexpr std::uint32_t kIncompatCompression = 0x1;
constexpr std::uint32_t kIncompatKnown = kIncompatFiletype | kIncompatRecover | kIncompatMetaBg | kIncompatExtents |
                                         kIncompat64bit | kIncompatMmp | kIncompatFlexBg | kIncompatEaInode |
                                         kIncompatDirData | kIncompatCsumSeed | kIncompatLargeDir |
                                         kIncompatInlineData | kIncompatEncrypt | kIncompatCasefold;
constexpr std::uint32_t kRoCompatSparseSuper = 0x1;
constexpr std::uint32_t kRoCompatHugeFile = 0x8;
constexpr std::uint32_t kRoCompatMetadataCsum = 0x400;

// Inode fields.
constexpr std::size_t kIMode = 0x0;
constexpr std::size_t kIUid = 0x2;
constexpr std::size_t kISizeLo = 0x4;
constexpr std::size_t kIMtime = 0x10;
constexpr std::size_t kIGid = 0x18;
constexpr std::size_t kILinksCount = 0x1a;
constexpr std::size_t kIBlocksLo = 0x1c;
constexpr std::size_t kIFlags = 0x20;
constexpr std::size_t kIBlock = 0x28;  // 60 bytes
constexpr std::size_t kIGeneration = 0x64;
constexpr std::size_t kIFileAclLo = 0x68;
constexpr std::size_t kISizeHigh = 0x6c;
constexpr std::size_t kIUidHigh = 0x78;
constexpr std::size_t kIGidHigh = 0x7a;
constexpr std::size_t kIChecksumLo = 0x7c;
constexpr std::size_t kIExtraIsize = 0x80;
constexpr std::size_t kIChecksumHi = 0x82;
constexpr std::size_t kGoodOldInodeSize = 128;

constexpr std::uint32_t kFlagCompr = 0x4;
constexpr std::uint32_t kFlagEncrypt = 0x800;
constexpr std::uint32_t kFlagExtents = 0x80000;
constexpr std::uint32_t kFlagInlineData = 0x10000000;

constexpr std::uint16_t kExtentMagic = 0xf30a;
constexpr std::uint32_t kXattrMagic = 0xea020000;

struct Superblock {
  std::uint32_t inodes_count = 0;
  std::uint64_t blocks_count = 0;
  std::uint32_t first_data_block = 0;
  std::uint32_t log_block_size = 0;
  std::uint32_t blocks_per_group = 0;
  std::uint32_t inodes_per_group = 0;
  std::uint16_t state = 0;
  std::uint32_t rev_level = 0;
  std::uint16_t inode_size = kGoodOldInodeSize;
  std::uint32_t feature_compat = 0;
  std::uint32_t feature_incompat = 0;
  std::uint32_t feature_ro_compat = 0;
  std::array<std::byte, 16> uuid{};
  std::string volume_name;
  std::uint16_t desc_size = 32;
  std::uint32_t first_meta_bg = 0;
  std::uint32_t checksum_seed = 0;
};

std::span<const std::byte> le32_bytes(std::uint32_t v, std::array<std::byte, 4>& buf) {
  store_le_ptr(buf.data(), v);
  return buf;
}

struct Inode {
  std::uint64_t number = 0;
  std::vector<std::byte> raw;  // inode_size bytes
  std::uint16_t mode = 0;
  std::uint32_t flags = 0;
  std::uint64_t size = 0;
  std::uint32_t generation = 0;
  FileType type() const {
    switch (mode & 0xf000) {
      case 0x8000: return FileType::kRegular;
      case 0x4000: return FileType::kDirectory;
      case 0xa000: return FileType::kSymlink;
      default: return FileType::kOther;
    }
  }
  std::span<const std::byte, 60> i_block() const { return std::span<const std::byte, 60>(raw.data() + kIBlock, 60); }
};

class ExtFs final : public FileSystem {
 public:
  ExtFs(SourcePtr dev, Superblock sb, std::vector<std::uint64_t> inode_tables, const FsLimits& limits)
      : dev_(std::move(dev)),
        sb_(std::move(sb)),
        bs_(std::uint64_t{1024} << sb_.log_block_size),
        inode_tables_(std::move(inode_tables)),
        limits_(limits) {
    csum_ = (sb_.feature_ro_compat & kRoCompatMetadataCsum) != 0;
    if ((sb_.feature_incompat & kIncompatCsumSeed) != 0) {
      seed_ = sb_.checksum_seed;
    } else {
      seed_ = crc32c_update(~0u, sb_.uuid);
    }
  }

  std::string kind() const override {
    if ((sb_.feature_incompat & (kIncompatExtents | kIncompat64bit | kIncompatFlexBg)) != 0 ||
        (sb_.feature_ro_compat & (kRoCompatHugeFile | kRoCompatMetadataCsum)) != 0) {
      return "ext4";
    }
    return (sb_.feature_compat & kCompatHasJournal) != 0 ? "ext3" : "ext2";
  }
  std::uint64_t root_inode() const override { return 2; }
  std::string label() const override { return sb_.volume_name; }
  std::string uuid() const override { return uuid_string(sb_.uuid); }

  Result<FileStat> stat(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    FileStat st;
    st.inode = ino;
    st.type = in.type();
    st.mode = in.mode;
    st.size = in.size;
    st.uid = load_le_ptr<std::uint16_t>(in.raw.data() + kIUid) |
             (std::uint32_t{load_le_ptr<std::uint16_t>(in.raw.data() + kIUidHigh)} << 16);
    st.gid = load_le_ptr<std::uint16_t>(in.raw.data() + kIGid) |
             (std::uint32_t{load_le_ptr<std::uint16_t>(in.raw.data() + kIGidHigh)} << 16);
    st.mtime = static_cast<std::int32_t>(load_le_ptr<std::uint32_t>(in.raw.data() + kIMtime));
    return st;
  }

  Result<std::vector<DirEntry>> list(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    if (in.type() != FileType::kDirectory)
      return Error::invalid_argument(fmt::format("ext: inode {} is not a directory", ino));
    IG_TRY(refuse_encrypted(in));
    std::vector<DirEntry> out;
    if ((in.flags & kFlagInlineData) != 0) {
      // Inline directory: 4 bytes of parent inode, then entries; more in system.data.
      std::vector<std::byte> data = IG_TRY(inline_bytes(in));
      if (data.size() < 4) return Error::corrupt(fmt::format("ext: inode {}: inline directory too short", ino));
      IG_TRY(parse_dir_block(std::span<const std::byte>(data).subspan(4), ino, out, false));
      return out;
    }
    // Empty directory blocks add no entries, and runs may all map the same blocks: only the size
    // read bounds a listing (the loop audit of 2026-12-07).
    if (in.size > limits_.max_dir_bytes) {
      return Error::limit_exceeded(fmt::format("ext: directory inode {} of {} bytes, more than the {} read", ino,
                                               in.size, limits_.max_dir_bytes));
    }
    auto src = IG_TRY(open_inode(in));
    std::vector<std::byte> block(static_cast<std::size_t>(bs_));
    for (std::uint64_t off = 0; off + bs_ <= align_up(src->size(), bs_) && off < src->size(); off += bs_) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bs_, src->size() - off));
      std::fill(block.begin(), block.end(), std::byte{0});
      IG_TRY(src->read_at(off, std::span(block).first(n)));
      IG_TRY(parse_dir_block(std::span<const std::byte>(block).first(n), ino, out, true));
    }
    return out;
  }

  Result<std::unique_ptr<ByteSource>> open(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    return open_inode(in);
  }

  Result<std::string> read_link(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    if (in.type() != FileType::kSymlink)
      return Error::invalid_argument(fmt::format("ext: inode {} is not a symlink", ino));
    if (in.size > limits_.max_symlink_bytes) {
      return Error::limit_exceeded(fmt::format("ext: symlink inode {} is {} bytes long", ino, in.size));
    }
    IG_TRY(refuse_encrypted(in));
    // A fast symlink keeps its target in i_block: no extents, no inline data, and shorter than 60.
    if ((in.flags & (kFlagExtents | kFlagInlineData)) == 0 && in.size < 60) {
      return std::string(as_chars(in.i_block()).substr(0, static_cast<std::size_t>(in.size)));
    }
    auto src = IG_TRY(open_inode(in));
    std::string target(static_cast<std::size_t>(in.size), '\0');
    IG_TRY(src->read_at(0, std::span(reinterpret_cast<std::byte*>(target.data()), target.size())));
    return target;
  }

 private:
  Result<void> refuse_encrypted(const Inode& in) const {
    if ((in.flags & kFlagEncrypt) != 0) {
      return Error::unsupported(
          fmt::format("ext: inode {} is encrypted (fscrypt); its contents cannot be read", in.number));
    }
    if ((in.flags & kFlagCompr) != 0) {
      return Error::unsupported(fmt::format("ext: inode {} is compressed (an old e2compr patch)", in.number));
    }
    return ok();
  }

  std::uint32_t inode_seed(const Inode& in) const {
    std::array<std::byte, 4> b{};
    std::uint32_t c = crc32c_update(seed_, le32_bytes(static_cast<std::uint32_t>(in.number), b));
    return crc32c_update(c, le32_bytes(in.generation, b));
  }

  Result<Inode> read_inode(std::uint64_t ino) const {
    if (ino == 0 || ino > sb_.inodes_count) {
      return Error::corrupt(fmt::format("ext: inode {} out of range [1, {}]", ino, sb_.inodes_count));
    }
    const std::uint64_t group = (ino - 1) / sb_.inodes_per_group;
    const std::uint64_t index = (ino - 1) % sb_.inodes_per_group;
    // group < inode_tables_.size(): inodes_count <= groups * inodes_per_group was checked at open.
    const std::uint64_t at = inode_tables_[static_cast<std::size_t>(group)] * bs_ + index * sb_.inode_size;
    if (!range_within(at, sb_.inode_size, dev_->size())) {
      return Error::corrupt(fmt::format("ext: inode {} at byte {} lies past the end of the device", ino, at));
    }
    Inode in;
    in.number = ino;
    in.raw = IG_TRY(read_vector(*dev_, at, sb_.inode_size));
    const std::byte* r = in.raw.data();
    in.mode = load_le_ptr<std::uint16_t>(r + kIMode);
    in.flags = load_le_ptr<std::uint32_t>(r + kIFlags);
    in.size =
        load_le_ptr<std::uint32_t>(r + kISizeLo) | (std::uint64_t{load_le_ptr<std::uint32_t>(r + kISizeHigh)} << 32);
    in.generation = load_le_ptr<std::uint32_t>(r + kIGeneration);
    if (csum_ && sb_.inode_size > kGoodOldInodeSize) IG_TRY(verify_inode_checksum(in));
    (void)kILinksCount;
    (void)kIBlocksLo;
    (void)kIFileAclLo;
    return in;
  }

  Result<void> verify_inode_checksum(const Inode& in) const {
    const std::uint16_t extra = load_le_ptr<std::uint16_t>(in.raw.data() + kIExtraIsize);
    const bool has_hi = extra >= 4 && kGoodOldInodeSize + extra <= in.raw.size();
    std::vector<std::byte> copy = in.raw;
    store_le_ptr<std::uint16_t>(copy.data() + kIChecksumLo, 0);
    if (has_hi) store_le_ptr<std::uint16_t>(copy.data() + kIChecksumHi, 0);
    const std::uint32_t crc = crc32c_update(inode_seed(in), copy);
    std::uint32_t stored = load_le_ptr<std::uint16_t>(in.raw.data() + kIChecksumLo);
    std::uint32_t computed = crc & 0xffff;
    if (has_hi) {
      stored |= std::uint32_t{load_le_ptr<std::uint16_t>(in.raw.data() + kIChecksumHi)} << 16;
      computed = crc;
    }
    if (checksum_refuses(stored != computed)) {
      return Error::corrupt(fmt::format("ext: inode {} checksum {:#x}, computed {:#x}", in.number, stored, computed));
    }
    return ok();
  }

  // The bytes of an inline-data inode: i_block, then the in-inode "system.data" attribute.
  Result<std::vector<std::byte>> inline_bytes(const Inode& in) const {
    std::vector<std::byte> data(in.i_block().begin(), in.i_block().end());
    const std::uint16_t extra =
        in.raw.size() > kGoodOldInodeSize ? load_le_ptr<std::uint16_t>(in.raw.data() + kIExtraIsize) : 0;
    const std::size_t xattr_start = kGoodOldInodeSize + extra;
    if (xattr_start + 4 <= in.raw.size() && load_le_ptr<std::uint32_t>(in.raw.data() + xattr_start) == kXattrMagic) {
      const std::size_t first = xattr_start + 4;
      std::size_t pos = first;
      while (pos + 16 <= in.raw.size()) {
        const auto name_len = std::to_integer<std::uint8_t>(in.raw[pos]);
        const auto name_index = std::to_integer<std::uint8_t>(in.raw[pos + 1]);
        const std::uint16_t value_offs = load_le_ptr<std::uint16_t>(in.raw.data() + pos + 2);
        const std::uint32_t value_size = load_le_ptr<std::uint32_t>(in.raw.data() + pos + 8);
        if (name_len == 0 && name_index == 0 && value_offs == 0 && value_size == 0) break;  // end of entries
        if (pos + 16 + name_len > in.raw.size()) break;
        const std::string_view name = as_chars(std::span<const std::byte>(in.raw).subspan(pos + 16, name_len));
        if (name_index == 7 && name == "data") {
          if (!range_within(first + value_offs, value_size, in.raw.size())) {
            return Error::corrupt(fmt::format("ext: inode {}: system.data attribute out of bounds", in.number));
          }
          const auto v = std::span<const std::byte>(in.raw).subspan(first + value_offs, value_size);
          data.insert(data.end(), v.begin(), v.end());
          break;
        }
        pos += align_up(16 + name_len, 4);
      }
    }
    if (in.size > data.size()) {
      return Error::corrupt(
          fmt::format("ext: inode {}: inline size {} but only {} bytes stored", in.number, in.size, data.size()));
    }
    data.resize(static_cast<std::size_t>(in.size));
    return data;
  }

  Result<std::unique_ptr<ByteSource>> open_inode(const Inode& in) const {
    IG_TRY(refuse_encrypted(in));
    const std::string name = fmt::format("ext inode {}", in.number);
    if ((in.flags & kFlagInlineData) != 0) {
      return std::unique_ptr<ByteSource>(std::make_unique<MappedSource>(IG_TRY(inline_bytes(in)), name));
    }
    std::vector<FileRun> runs;
    const std::uint64_t blocks = div_round_up(in.size, bs_);
    // Map blocks read (extent index and leaf blocks, indirect blocks): many pointers at one shared
    // block add no runs, so only this bounds such a tree (the loop audit of 2026-12-07).
    std::uint64_t map_blocks = 0;
    if ((in.flags & kFlagExtents) != 0) {
      IG_TRY(walk_extents(in, in.i_block(), 0, blocks, runs, map_blocks));
    } else {
      IG_TRY(walk_block_map(in, blocks, runs, map_blocks));
    }
    std::sort(runs.begin(), runs.end(), [](const FileRun& a, const FileRun& b) { return a.logical < b.logical; });
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (runs[i - 1].logical + runs[i - 1].count > runs[i].logical) {
        return Error::corrupt(
            fmt::format("ext: inode {}: extents overlap at file block {}", in.number, runs[i].logical));
      }
    }
    return std::unique_ptr<ByteSource>(std::make_unique<MappedSource>(dev_, bs_, in.size, std::move(runs), name));
  }

  // Adds file blocks [logical, +count) stored at device block `physical` (0: not stored).
  Result<void> add_run(const Inode& in, std::vector<FileRun>& runs, std::uint64_t logical, std::uint64_t count,
                       std::uint64_t physical) const {
    if (runs.size() >= limits_.max_extents_per_file) {
      return Error::limit_exceeded(
          fmt::format("ext: inode {} has more than {} extents", in.number, limits_.max_extents_per_file));
    }
    if (physical != 0 && (physical >= sb_.blocks_count || count > sb_.blocks_count - physical)) {
      return Error::corrupt(fmt::format("ext: inode {}: blocks {}..+{} beyond the file system's {} blocks", in.number,
                                        physical, count, sb_.blocks_count));
    }
    const std::optional<std::uint64_t> at = physical == 0 ? std::nullopt : std::optional<std::uint64_t>(physical * bs_);
    if (!runs.empty() && runs.back().device_byte && at && runs.back().logical + runs.back().count == logical &&
        *runs.back().device_byte + runs.back().count * bs_ == *at) {
      runs.back().count += count;  // merge contiguous runs
    } else {
      runs.push_back(FileRun{logical, count, at});
    }
    return ok();
  }

  // An extent tree node (60 bytes of i_block, or a whole block below it).
  Result<void> walk_extents(const Inode& in, std::span<const std::byte> node, std::uint32_t depth_seen,
                            std::uint64_t file_blocks, std::vector<FileRun>& runs, std::uint64_t& map_blocks) const {
    if (node.size() < 12) return Error::corrupt(fmt::format("ext: inode {}: extent node too small", in.number));
    const std::uint16_t magic = load_le_ptr<std::uint16_t>(node.data());
    const std::uint16_t entries = load_le_ptr<std::uint16_t>(node.data() + 2);
    const std::uint16_t max = load_le_ptr<std::uint16_t>(node.data() + 4);
    const std::uint16_t depth = load_le_ptr<std::uint16_t>(node.data() + 6);
    if (magic != kExtentMagic) {
      return Error::corrupt(fmt::format("ext: inode {}: extent header magic {:#06x}", in.number, magic));
    }
    if (entries > max || 12 + std::size_t{max} * 12 > node.size()) {
      return Error::corrupt(fmt::format("ext: inode {}: extent node with {} of {} entries in {} bytes", in.number,
                                        entries, max, node.size()));
    }
    if (depth > limits_.max_extent_depth || depth_seen > limits_.max_extent_depth) {
      return Error::limit_exceeded(
          fmt::format("ext: inode {}: extent tree depth {} exceeds {}", in.number, depth, limits_.max_extent_depth));
    }
    for (std::uint16_t i = 0; i < entries; ++i) {
      const std::byte* e = node.data() + 12 + std::size_t{i} * 12;
      if (depth == 0) {
        const std::uint32_t logical = load_le_ptr<std::uint32_t>(e);
        std::uint16_t len = load_le_ptr<std::uint16_t>(e + 4);
        const bool uninit = len > 32768;
        if (uninit) len = static_cast<std::uint16_t>(len - 32768);
        const std::uint64_t start =
            (std::uint64_t{load_le_ptr<std::uint16_t>(e + 6)} << 32) | load_le_ptr<std::uint32_t>(e + 8);
        if (logical >= file_blocks || len == 0) continue;  // past EOF (preallocated): not part of the file
        const std::uint64_t count = std::min<std::uint64_t>(len, file_blocks - logical);
        IG_TRY(add_run(in, runs, logical, count, uninit ? 0 : start));
        if (!uninit && start == 0) {
          return Error::corrupt(
              fmt::format("ext: inode {}: extent at file block {} points at block 0", in.number, logical));
        }
      } else {
        const std::uint64_t leaf =
            (std::uint64_t{load_le_ptr<std::uint16_t>(e + 8)} << 32) | load_le_ptr<std::uint32_t>(e + 4);
        if (leaf == 0 || leaf >= sb_.blocks_count) {
          return Error::corrupt(fmt::format("ext: inode {}: extent index points at block {}", in.number, leaf));
        }
        IG_TRY(charge_map_block(in, map_blocks));
        std::vector<std::byte> child = IG_TRY(read_vector(*dev_, leaf * bs_, static_cast<std::size_t>(bs_)));
        if (csum_) IG_TRY(verify_extent_block(in, child));
        IG_TRY(walk_extents(in, child, depth_seen + 1, file_blocks, runs, map_blocks));
        if (load_le_ptr<std::uint16_t>(child.data() + 6) != depth - 1) {
          return Error::corrupt(fmt::format("ext: inode {}: extent block {} has depth {}, expected {}", in.number, leaf,
                                            load_le_ptr<std::uint16_t>(child.data() + 6), depth - 1));
        }
      }
    }
    return ok();
  }

  Result<void> charge_map_block(const Inode& in, std::uint64_t& map_blocks) const {
    if (++map_blocks > limits_.max_tree_nodes_per_walk) {
      return Error::limit_exceeded(fmt::format("ext: inode {}: more than {} extent or indirect blocks to map",
                                               in.number, limits_.max_tree_nodes_per_walk));
    }
    return ok();
  }

  Result<void> verify_extent_block(const Inode& in, std::span<const std::byte> block) const {
    const std::uint16_t max = load_le_ptr<std::uint16_t>(block.data() + 4);
    const std::size_t tail = 12 + std::size_t{max} * 12;
    if (tail + 4 > block.size())
      return Error::corrupt(fmt::format("ext: inode {}: extent block without room for its checksum", in.number));
    const std::uint32_t stored = load_le_ptr<std::uint32_t>(block.data() + tail);
    const std::uint32_t computed = crc32c_update(inode_seed(in), block.first(tail));
    if (checksum_refuses(stored != computed)) {
      return Error::corrupt(
          fmt::format("ext: inode {}: extent block checksum {:#x}, computed {:#x}", in.number, stored, computed));
    }
    return ok();
  }

  // Classic block map: 12 direct pointers, then single, double and triple indirect blocks.
  Result<void> walk_block_map(const Inode& in, std::uint64_t file_blocks, std::vector<FileRun>& runs,
                              std::uint64_t& map_blocks) const {
    const std::uint64_t per_block = bs_ / 4;
    std::uint64_t logical = 0;
    for (std::size_t i = 0; i < 12 && logical < file_blocks; ++i, ++logical) {
      const std::uint32_t b = load_le_ptr<std::uint32_t>(in.i_block().data() + i * 4);
      if (b != 0) IG_TRY(add_run(in, runs, logical, 1, b));
    }
    std::uint64_t span = per_block;
    for (int level = 1; level <= 3 && logical < file_blocks; ++level) {
      const std::uint32_t b = load_le_ptr<std::uint32_t>(in.i_block().data() + (11 + level) * 4);
      if (b != 0) IG_TRY(walk_indirect(in, b, level, logical, file_blocks, runs, map_blocks));
      logical += span;
      span *= per_block;
    }
    return ok();
  }

  Result<void> walk_indirect(const Inode& in, std::uint64_t block, int level, std::uint64_t first_logical,
                             std::uint64_t file_blocks, std::vector<FileRun>& runs, std::uint64_t& map_blocks) const {
    if (block >= sb_.blocks_count) {
      return Error::corrupt(fmt::format("ext: inode {}: indirect block {} beyond the file system", in.number, block));
    }
    IG_TRY(charge_map_block(in, map_blocks));
    const std::uint64_t per_block = bs_ / 4;
    std::uint64_t child_span = 1;
    for (int l = 1; l < level; ++l) child_span *= per_block;
    std::vector<std::byte> raw = IG_TRY(read_vector(*dev_, block * bs_, static_cast<std::size_t>(bs_)));
    for (std::uint64_t i = 0; i < per_block; ++i) {
      const std::uint64_t logical = first_logical + i * child_span;
      if (logical >= file_blocks) break;
      const std::uint32_t b = load_le_ptr<std::uint32_t>(raw.data() + i * 4);
      if (b == 0) continue;
      if (level == 1) {
        IG_TRY(add_run(in, runs, logical, 1, b));
      } else {
        IG_TRY(walk_indirect(in, b, level - 1, logical, file_blocks, runs, map_blocks));
      }
    }
    return ok();
  }

  Result<void> parse_dir_block(std::span<const std::byte> block, std::uint64_t dir, std::vector<DirEntry>& out,
                               bool whole_block) const {
    std::size_t pos = 0;
    while (pos + 8 <= block.size()) {
      const std::uint32_t ino = load_le_ptr<std::uint32_t>(block.data() + pos);
      const std::uint16_t rec_len = load_le_ptr<std::uint16_t>(block.data() + pos + 4);
      const auto name_len = std::to_integer<std::uint8_t>(block[pos + 6]);
      if (rec_len < 8 || rec_len % 4 != 0 || pos + rec_len > block.size() || 8u + name_len > rec_len) {
        if (!whole_block && ino == 0 && rec_len == 0) break;  // inline directories may end short
        return Error::corrupt(fmt::format("ext: directory inode {}: entry at {} has rec_len {} (name_len {})", dir, pos,
                                          rec_len, name_len));
      }
      if (ino != 0 && name_len > 0) {
        std::string name(as_chars(block.subspan(pos + 8, name_len)));
        if (name != "." && name != "..") {
          if (out.size() >= limits_.max_dir_entries) {
            return Error::limit_exceeded(
                fmt::format("ext: directory inode {} has more than {} entries", dir, limits_.max_dir_entries));
          }
          out.push_back(DirEntry{std::move(name), ino});
        }
      }
      pos += rec_len;
    }
    return ok();
  }

  SourcePtr dev_;
  Superblock sb_;
  std::uint64_t bs_;
  std::vector<std::uint64_t> inode_tables_;  // first block of each group's inode table
  FsLimits limits_;
  bool csum_ = false;
  std::uint32_t seed_ = 0;
};

bool group_has_super(const Superblock& sb, std::uint64_t group) {
  if (group == 0 || (sb.feature_ro_compat & kRoCompatSparseSuper) == 0) return true;
  if (group == 1) return true;
  for (std::uint64_t base : {3u, 5u, 7u}) {
    std::uint64_t p = base;
    while (p < group) p *= base;
    if (p == group) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits) {
  if (dev->size() < kSuperblockOffset + 1024) {
    return Error::corrupt(fmt::format("ext: device of {} bytes is too small for a superblock", dev->size()));
  }
  std::array<std::byte, 1024> s{};
  IG_TRY(dev->read_at(kSuperblockOffset, s));
  if (load_le<std::uint16_t, kSMagic>(s) != kMagic) return Error::corrupt("ext superblock: bad magic");
  Superblock sb;
  sb.inodes_count = load_le<std::uint32_t, kSInodesCount>(s);
  sb.first_data_block = load_le<std::uint32_t, kSFirstDataBlock>(s);
  sb.log_block_size = load_le<std::uint32_t, kSLogBlockSize>(s);
  sb.blocks_per_group = load_le<std::uint32_t, kSBlocksPerGroup>(s);
  sb.inodes_per_group = load_le<std::uint32_t, kSInodesPerGroup>(s);
  sb.state = load_le<std::uint16_t, kSState>(s);
  sb.rev_level = load_le<std::uint32_t, kSRevLevel>(s);
  if (sb.rev_level >= 1) sb.inode_size = load_le<std::uint16_t, kSInodeSize>(s);
  sb.feature_compat = load_le<std::uint32_t, kSFeatureCompat>(s);
  sb.feature_incompat = load_le<std::uint32_t, kSFeatureIncompat>(s);
  sb.feature_ro_compat = load_le<std::uint32_t, kSFeatureRoCompat>(s);
  std::copy_n(s.begin() + kSUuid, 16, sb.uuid.begin());
  const std::string_view name = as_chars(std::span<const std::byte>(s).subspan(kSVolumeName, 16));
  sb.volume_name = printable(name.substr(0, name.find('\0')));
  const bool is64 = (sb.feature_incompat & kIncompat64bit) != 0;
  sb.desc_size = is64 ? load_le<std::uint16_t, kSDescSize>(s) : 32;
  sb.first_meta_bg = load_le<std::uint32_t, kSFirstMetaBg>(s);
  sb.blocks_count = load_le<std::uint32_t, kSBlocksCountLo>(s);
  if (is64) sb.blocks_count |= std::uint64_t{load_le<std::uint32_t, kSBlocksCountHi>(s)} << 32;
  sb.checksum_seed = load_le<std::uint32_t, kSChecksumSeed>(s);

  // Validate everything later used as a divisor, shift, count or size.
  if (sb.log_block_size > 6)
    return Error::corrupt(fmt::format("ext superblock: s_log_block_size {} (1 KiB to 64 KiB)", sb.log_block_size));
  const std::uint64_t bs = std::uint64_t{1024} << sb.log_block_size;
  if (sb.blocks_per_group == 0 || sb.blocks_per_group > bs * 8) {
    return Error::corrupt(fmt::format("ext superblock: s_blocks_per_group {}", sb.blocks_per_group));
  }
  if (sb.inodes_per_group == 0 || sb.inodes_per_group > bs * 8) {
    return Error::corrupt(fmt::format("ext superblock: s_inodes_per_group {}", sb.inodes_per_group));
  }
  if (sb.inode_size < kGoodOldInodeSize || sb.inode_size > bs || !is_power_of_two(sb.inode_size)) {
    return Error::corrupt(fmt::format("ext superblock: s_inode_size {}", sb.inode_size));
  }
  if (is64 && (sb.desc_size < 64 || sb.desc_size > 1024 || !is_power_of_two(sb.desc_size))) {
    return Error::corrupt(fmt::format("ext superblock: s_desc_size {}", sb.desc_size));
  }
  if (sb.first_data_block >= sb.blocks_count) {
    return Error::corrupt(fmt::format("ext superblock: s_first_data_block {} >= s_blocks_count {}", sb.first_data_block,
                                      sb.blocks_count));
  }
  if ((sb.feature_incompat & kIncompatJournalDev) != 0) {
    return Error::unsupported("ext: this is an external journal device, not a file system");
  }
  if ((sb.feature_incompat & kIncompatCompression) != 0) {
    return Error::unsupported("ext: the compression feature (e2compr) is not read");
  }
  if (const std::uint32_t unknown = sb.feature_incompat & ~kIncompatKnown; unknown != 0) {
    return Error::unsupported(fmt::format("ext superblock: unknown incompatible features {:#x}", unknown));
  }
  if ((sb.feature_ro_compat & kRoCompatMetadataCsum) != 0) {
    if (std::to_integer<std::uint8_t>(s[kSChecksumType]) != 1) {
      return Error::corrupt(
          fmt::format("ext superblock: s_checksum_type {} (1 = crc32c)", std::to_integer<int>(s[kSChecksumType])));
    }
    const std::uint32_t stored = load_le<std::uint32_t, kSChecksum>(s);
    const std::uint32_t computed = crc32c_update(~0u, std::span<const std::byte>(s).first(kSChecksum));
    if (checksum_refuses(stored != computed)) {
      return Error::corrupt(fmt::format("ext superblock: checksum {:#x}, computed {:#x}", stored, computed));
    }
  }
  const std::uint64_t groups = div_round_up(sb.blocks_count - sb.first_data_block, sb.blocks_per_group);
  if (std::uint64_t{sb.inodes_count} > groups * sb.inodes_per_group) {
    return Error::corrupt(fmt::format("ext superblock: {} inodes do not fit {} groups of {}", sb.inodes_count, groups,
                                      sb.inodes_per_group));
  }
  if (groups * sb.desc_size > (std::uint64_t{64} << 20)) {
    return Error::limit_exceeded(fmt::format("ext: {} block groups: descriptor table too large", groups));
  }
  if (bs * sb.blocks_count / bs != sb.blocks_count) return Error::corrupt("ext superblock: s_blocks_count overflows");

  // Group descriptors: each descriptor block i holds desc_per_block descriptors. Without meta_bg
  // they follow the superblock's block; with meta_bg, block i >= s_first_meta_bg sits at the
  // start of its meta group (after that group's superblock backup, if it has one).
  const std::uint64_t per_block = bs / sb.desc_size;
  const std::uint64_t desc_blocks = div_round_up(groups, per_block);
  const bool meta_bg = (sb.feature_incompat & kIncompatMetaBg) != 0;
  const bool csum = (sb.feature_ro_compat & kRoCompatMetadataCsum) != 0;
  const std::uint32_t seed =
      (sb.feature_incompat & kIncompatCsumSeed) != 0 ? sb.checksum_seed : crc32c_update(~0u, sb.uuid);
  std::vector<std::uint64_t> inode_tables;
  inode_tables.reserve(static_cast<std::size_t>(groups));
  for (std::uint64_t i = 0; i < desc_blocks; ++i) {
    std::uint64_t block;
    if (!meta_bg || i < sb.first_meta_bg) {
      block = sb.first_data_block + 1 + i;
    } else {
      const std::uint64_t g = i * per_block;
      block = sb.first_data_block + g * sb.blocks_per_group + (group_has_super(sb, g) ? 1 : 0);
    }
    if (block >= sb.blocks_count || !range_within(block * bs, bs, dev->size())) {
      return Error::corrupt(fmt::format("ext: group descriptor block {} lies past the end of the device", block));
    }
    std::vector<std::byte> raw = IG_TRY(read_vector(*dev, block * bs, static_cast<std::size_t>(bs)));
    for (std::uint64_t j = 0; j < per_block && inode_tables.size() < groups; ++j) {
      const std::byte* d = raw.data() + j * sb.desc_size;
      const std::uint64_t group = inode_tables.size();
      std::uint64_t table = load_le_ptr<std::uint32_t>(d + 0x8);
      if (is64) table |= std::uint64_t{load_le_ptr<std::uint32_t>(d + 0x28)} << 32;
      if (csum) {
        std::vector<std::byte> copy(d, d + sb.desc_size);
        store_le_ptr<std::uint16_t>(copy.data() + 0x1e, 0);
        std::array<std::byte, 4> gb{};
        const std::uint32_t c =
            crc32c_update(crc32c_update(seed, le32_bytes(static_cast<std::uint32_t>(group), gb)), copy);
        const std::uint16_t stored = load_le_ptr<std::uint16_t>(d + 0x1e);
        if (checksum_refuses(stored != (c & 0xffff))) {
          return Error::corrupt(
              fmt::format("ext: group descriptor {} checksum {:#x}, computed {:#x}", group, stored, c & 0xffff));
        }
      }
      if (table == 0 || table >= sb.blocks_count) {
        return Error::corrupt(fmt::format("ext: group {}: inode table at block {}", group, table));
      }
      inode_tables.push_back(table);
    }
  }
  return std::unique_ptr<FileSystem>(new ExtFs(std::move(dev), std::move(sb), std::move(inode_tables), limits));
}

bool probe(const ByteSource& dev) {
  std::array<std::byte, 2> m{};
  if (dev.size() < kSuperblockOffset + kSMagic + 2) return false;
  if (!dev.read_at(kSuperblockOffset + kSMagic, m)) return false;
  return load_le_ptr<std::uint16_t>(m.data()) == kMagic;
}

}  // namespace ig::ext
