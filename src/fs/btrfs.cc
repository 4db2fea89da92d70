// btrfs reader, after the kernel's include/uapi/linux/btrfs_tree.h, fs/btrfs/ctree.h and the
// btrfs wiki's "On-disk Format". See docs/formats/btrfs.md. All fields little-endian.
//
// Read: the primary superblock at 64 KiB (crc32c verified), the chunk map (sys_chunk_array, then
// the chunk tree; single device, SINGLE and DUP profiles), the root tree (ROOT_ITEMs, the
// "default" subvolume entry), file trees: inode items, directories (DIR_INDEX, else DIR_ITEM),
// symlinks and file extents (inline, regular, prealloc, holes; zlib and zstd compression). Every
// tree node's crc32c, fsid, bytenr, level, item count and key order are checked before it is
// used. Not read: the log tree (the state is the last committed transaction), data checksums,
// lzo compression (docs/decisions/0011-btrfs-lzo-refused.md).
#include "fs/btrfs.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "base/crc32c.h"
#include "base/text.h"
#include "io/sources.h"

namespace ig::btrfs {
namespace {

// Superblock (btrfs_super_block), at kSuperOffset.
constexpr std::uint64_t kSuperOffset = 65536;
constexpr std::size_t kSuperSize = 4096;
constexpr std::size_t kSbFsid = 0x20;
constexpr std::size_t kSbBytenr = 0x30;
constexpr std::size_t kSbMagic = 0x40;
constexpr std::size_t kSbRoot = 0x50;
constexpr std::size_t kSbChunkRoot = 0x58;
constexpr std::size_t kSbNumDevices = 0x88;
constexpr std::size_t kSbSectorsize = 0x90;
constexpr std::size_t kSbNodesize = 0x94;
constexpr std::size_t kSbSysChunkArraySize = 0xa0;
constexpr std::size_t kSbIncompatFlags = 0xbc;
constexpr std::size_t kSbCsumType = 0xc4;
constexpr std::size_t kSbRootLevel = 0xc6;
constexpr std::size_t kSbChunkRootLevel = 0xc7;
constexpr std::size_t kSbDevItemDevid = 0xc9;
constexpr std::size_t kSbLabel = 0x12b;
constexpr std::size_t kSbMetadataUuid = 0x23b;
constexpr std::size_t kSbSysChunkArray = 0x32b;
constexpr std::size_t kSysChunkArrayMax = 2048;

constexpr std::uint64_t kIncompatMetadataUuid = 1ULL << 10;
// Bits 0-11 (mixed backrefs, default subvol, mixed groups, lzo, zstd, big metadata, extended
// irefs, raid56, skinny metadata, no holes, metadata uuid, raid1c34) change nothing this reader
// relies on, or are refused where they matter (the chunk profile); simple quotas (16) neither.
// Zoned (12), extent tree v2 (13) and the raid stripe tree (14) change the layout.
constexpr std::uint64_t kIncompatKnown = 0xfffULL | (1ULL << 16);

// Tree node header (btrfs_header) and items.
constexpr std::size_t kHeaderSize = 101;
constexpr std::size_t kHdrFsid = 32;
constexpr std::size_t kHdrBytenr = 48;
constexpr std::size_t kHdrNritems = 96;
constexpr std::size_t kHdrLevel = 100;
constexpr std::size_t kKeySize = 17;
constexpr std::size_t kItemSize = 25;    // btrfs_item: key, offset, size
constexpr std::size_t kKeyPtrSize = 33;  // btrfs_key_ptr: key, blockptr, generation
constexpr std::uint8_t kMaxLevel = 7;    // BTRFS_MAX_LEVEL - 1

// Key types and objectids.
constexpr std::uint8_t kInodeItem = 1;
constexpr std::uint8_t kDirItem = 84;
constexpr std::uint8_t kDirIndex = 96;
constexpr std::uint8_t kExtentData = 108;
constexpr std::uint8_t kRootItem = 132;
constexpr std::uint8_t kChunkItem = 228;
constexpr std::uint64_t kRootTreeDirObjectid = 6;
constexpr std::uint64_t kFirstChunkTreeObjectid = 256;
constexpr std::uint64_t kFirstFreeObjectid = 256;
constexpr std::uint64_t kLastFreeObjectid = static_cast<std::uint64_t>(-256);

// Chunk item (btrfs_chunk) and its stripes (btrfs_stripe).
constexpr std::size_t kChunkSize = 48;
constexpr std::size_t kStripeSize = 32;
constexpr std::uint64_t kBgDup = 1ULL << 5;
struct Profile {
  std::uint64_t bit;
  const char* name;
};
constexpr Profile kRefusedProfiles[] = {{1ULL << 3, "RAID0"},   {1ULL << 4, "RAID1"}, {1ULL << 6, "RAID10"},
                                        {1ULL << 7, "RAID5"},   {1ULL << 8, "RAID6"}, {1ULL << 9, "RAID1C3"},
                                        {1ULL << 10, "RAID1C4"}};

// Root item (btrfs_root_item): the inode item, then these.
constexpr std::size_t kRootRootDirid = 168;
constexpr std::size_t kRootBytenr = 176;
constexpr std::size_t kRootLevel = 238;
constexpr std::size_t kRootItemMinSize = 239;

// Inode item (btrfs_inode_item).
constexpr std::size_t kInodeItemSize = 160;
constexpr std::size_t kInoSize = 16;
constexpr std::size_t kInoUid = 44;
constexpr std::size_t kInoGid = 48;
constexpr std::size_t kInoMode = 52;
constexpr std::size_t kInoMtime = 136;

// Directory item (btrfs_dir_item): location key, transid, data_len, name_len, type, name.
constexpr std::size_t kDirItemHeader = 30;
constexpr std::size_t kNameMax = 255;

// File extent item (btrfs_file_extent_item).
constexpr std::size_t kFeRamBytes = 8;
constexpr std::size_t kFeCompression = 16;
constexpr std::size_t kFeEncryption = 17;
constexpr std::size_t kFeOtherEncoding = 18;
constexpr std::size_t kFeType = 20;
constexpr std::size_t kFeInlineData = 21;
constexpr std::size_t kFeDiskBytenr = 21;
constexpr std::size_t kFeDiskNumBytes = 29;
constexpr std::size_t kFeOffset = 37;
constexpr std::size_t kFeNumBytes = 45;
constexpr std::size_t kFeRegularSize = 53;
constexpr std::uint8_t kFeInline = 0;
constexpr std::uint8_t kFeRegular = 1;
constexpr std::uint8_t kFePrealloc = 2;
constexpr std::uint8_t kCompressNone = 0;
constexpr std::uint8_t kCompressZlib = 1;
constexpr std::uint8_t kCompressLzo = 2;
constexpr std::uint8_t kCompressZstd = 3;
constexpr std::uint64_t kMaxCompressed = 128 * 1024;  // BTRFS_MAX_COMPRESSED: ram_bytes of one extent

// Inode numbers of the views: (tree << kObjectidBits) | objectid.
constexpr int kObjectidBits = 36;
constexpr std::uint64_t kObjectidMask = (std::uint64_t{1} << kObjectidBits) - 1;
constexpr std::uint64_t kMaxTreeId = (std::uint64_t{1} << 20) - 1;

constexpr std::size_t kMaxChunks = 1 << 20;
constexpr std::size_t kMaxCachedRoots = 4096;

struct Key {
  std::uint64_t objectid = 0;
  std::uint8_t type = 0;
  std::uint64_t offset = 0;
  auto operator<=>(const Key&) const = default;
};

Key load_key(const std::byte* p) {
  return Key{load_le_ptr<std::uint64_t>(p), std::to_integer<std::uint8_t>(p[8]), load_le_ptr<std::uint64_t>(p + 9)};
}

std::uint32_t csum(std::span<const std::byte> b) {
  return ~crc32c_update(~0u, b.subspan(32));
}

Result<std::uint64_t> encode(std::uint64_t tree, std::uint64_t objectid) {
  if (tree > kMaxTreeId || objectid > kObjectidMask) {
    return Error::unsupported(
        fmt::format("btrfs: tree {} objectid {} does not fit imagegate's inode numbers (20-bit tree, 36-bit objectid)",
                    tree, objectid));
  }
  return (tree << kObjectidBits) | objectid;
}

FileType type_of(std::uint32_t mode) {
  switch (mode & 0xf000) {
    case 0x8000: return FileType::kRegular;
    case 0x4000: return FileType::kDirectory;
    case 0xa000: return FileType::kSymlink;
    default: return FileType::kOther;
  }
}

struct Tree {
  std::uint64_t bytenr = 0;
  std::uint8_t level = 0;
};

struct RootInfo {
  Tree tree;
  std::uint64_t root_dirid = 0;
};

struct Chunk {
  std::uint64_t length = 0;
  std::uint64_t physical = 0;
};

struct Inode {
  std::uint64_t objectid = 0;
  std::uint32_t mode = 0;
  std::uint64_t size = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
};

// One verified tree node.
struct Node {
  std::uint64_t logical = 0;
  std::vector<std::byte> raw;
  std::uint32_t nritems = 0;
  std::uint8_t level = 0;
  Key key(std::uint32_t i) const {
    return load_key(raw.data() + kHeaderSize + std::size_t{i} * (level == 0 ? kItemSize : kKeyPtrSize));
  }
  std::uint64_t child(std::uint32_t i) const {
    return load_le_ptr<std::uint64_t>(raw.data() + kHeaderSize + std::size_t{i} * kKeyPtrSize + kKeySize);
  }
  Result<std::span<const std::byte>> item(std::uint32_t i) const {
    const std::byte* p = raw.data() + kHeaderSize + std::size_t{i} * kItemSize + kKeySize;
    const std::uint32_t off = load_le_ptr<std::uint32_t>(p);
    const std::uint32_t size = load_le_ptr<std::uint32_t>(p + 4);
    const std::uint64_t data_room = raw.size() - kHeaderSize;
    if (off < std::uint64_t{nritems} * kItemSize || !range_within(off, size, data_room)) {
      return Error::corrupt(
          fmt::format("btrfs leaf {:#x}: item {} data [{}, +{}) outside the leaf", logical, i, off, size));
    }
    return std::span<const std::byte>(raw).subspan(kHeaderSize + off, size);
  }
};

// Called for each item of a walk in key order; returns false to stop.
using ItemFn = std::function<Result<bool>(const Key&, std::span<const std::byte>)>;

// Decodes one compressed extent into exactly `ram_bytes` (a short stream leaves zeros, as the
// kernel zero-fills). Errors: kCorrupt for a malformed or truncated stream.
Result<std::vector<std::byte>> decompress(std::uint8_t type, std::span<const std::byte> in, std::uint64_t ram_bytes,
                                          const std::string& what) {
  std::vector<std::byte> out(static_cast<std::size_t>(ram_bytes));
  if (type == kCompressZlib) {
    z_stream z{};
    if (inflateInit(&z) != Z_OK) return Error::internal("zlib: inflateInit failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));  // zlib's API is not const
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int ret = Z_OK;
    while (z.avail_out > 0) {
      ret = inflate(&z, Z_NO_FLUSH);
      if (ret == Z_STREAM_END) break;
      if (ret != Z_OK) break;
    }
    const std::string msg = z.msg != nullptr ? z.msg : "";
    inflateEnd(&z);
    if (ret != Z_STREAM_END && z.avail_out != 0) {
      return Error::corrupt(
          fmt::format("{}: zlib stream {} ({})", what, ret == Z_BUF_ERROR ? "truncated" : "malformed", printable(msg)));
    }
    return out;
  }
  if (type == kCompressZstd) {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!ctx) return Error::internal("zstd: ZSTD_createDCtx failed");
    // btrfs writes frames with at most a 128 KiB window (ZSTD_BTRFS_MAX_WINDOWLOG); refusing
    // larger ones bounds the decoder's memory.
    ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, 17);
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    while (ob.pos < ob.size) {
      const std::size_t before_in = ib.pos;
      const std::size_t before_out = ob.pos;
      const std::size_t ret = ZSTD_decompressStream(ctx.get(), &ob, &ib);
      if (ZSTD_isError(ret) != 0)
        return Error::corrupt(fmt::format("{}: zstd frame: {}", what, ZSTD_getErrorName(ret)));
      if (ret == 0) break;  // the frame is complete; what follows is padding
      if (ib.pos == before_in && ob.pos == before_out)
        return Error::corrupt(fmt::format("{}: zstd frame truncated", what));
    }
    return out;
  }
  return Error::internal("btrfs: decompress called for an unknown type");
}

}  // namespace

namespace detail {

// The volume: superblock facts, the chunk map, the root tree. Immutable after open() except
// for the root cache (behind a mutex).
class Volume {
 public:
  static Result<std::shared_ptr<const Volume>> open(SourcePtr dev, const FsLimits& limits);

  const FsLimits& limits() const { return limits_; }
  const std::string& label() const { return label_; }
  const std::string& uuid() const { return uuid_; }
  std::uint64_t default_subvolume() const { return default_subvol_; }
  std::uint32_t sectorsize() const { return sectorsize_; }

  // Calls fn for every item with lo <= key <= hi of the tree, in key order.
  Result<void> walk(const Tree& t, const Key& lo, const Key& hi, const ItemFn& fn) const {
    std::uint64_t budget = limits_.max_tree_nodes_per_walk;
    bool stop = false;
    return walk_node(t.bytenr, t.level, lo, hi, fn, budget, stop);
  }

  // The item with exactly this key, if any.
  Result<std::optional<std::vector<std::byte>>> find(const Tree& t, const Key& k) const {
    std::optional<std::vector<std::byte>> found;
    IG_TRY(walk(t, k, k, [&](const Key&, std::span<const std::byte> d) -> Result<bool> {
      found.emplace(d.begin(), d.end());
      return false;
    }));
    return found;
  }

  Result<RootInfo> root(std::uint64_t id) const {
    {
      std::lock_guard lock(mu_);
      if (auto it = roots_.find(id); it != roots_.end()) return it->second;
    }
    if (id != kFsTreeObjectid && (id < kFirstFreeObjectid || id > kLastFreeObjectid))
      return Error::not_found(fmt::format("btrfs: {} is not a subvolume id", id));
    std::optional<RootInfo> info;
    IG_TRY(walk(root_tree_, Key{id, kRootItem, 0}, Key{id, kRootItem, UINT64_MAX},
                [&](const Key&, std::span<const std::byte> d) -> Result<bool> {
                  if (d.size() < kRootItemMinSize)
                    return Error::corrupt(fmt::format("btrfs root item {}: {} bytes", id, d.size()));
                  RootInfo r;
                  r.root_dirid = load_le_ptr<std::uint64_t>(d.data() + kRootRootDirid);
                  r.tree.bytenr = load_le_ptr<std::uint64_t>(d.data() + kRootBytenr);
                  r.tree.level = std::to_integer<std::uint8_t>(d[kRootLevel]);
                  if (r.tree.level > kMaxLevel)
                    return Error::corrupt(
                        fmt::format("btrfs root item {}: level {} above {}", id, r.tree.level, kMaxLevel));
                  info = r;
                  return false;
                }));
    if (!info) return Error::not_found(fmt::format("btrfs: no subvolume {}", id));
    std::lock_guard lock(mu_);
    if (roots_.size() >= kMaxCachedRoots) roots_.clear();
    roots_.emplace(id, *info);
    return *info;
  }

  Result<Inode> inode(std::uint64_t tree, std::uint64_t objectid) const {
    const RootInfo r = IG_TRY(root(tree));
    auto item = IG_TRY(find(r.tree, Key{objectid, kInodeItem, 0}));
    if (!item) return Error::not_found(fmt::format("btrfs: subvolume {} has no inode {}", tree, objectid));
    if (item->size() < kInodeItemSize)
      return Error::corrupt(
          fmt::format("btrfs: subvolume {} inode {}: item of {} bytes", tree, objectid, item->size()));
    const std::byte* p = item->data();
    Inode in;
    in.objectid = objectid;
    in.size = load_le_ptr<std::uint64_t>(p + kInoSize);
    in.uid = load_le_ptr<std::uint32_t>(p + kInoUid);
    in.gid = load_le_ptr<std::uint32_t>(p + kInoGid);
    in.mode = load_le_ptr<std::uint32_t>(p + kInoMode);
    in.mtime = static_cast<std::int64_t>(load_le_ptr<std::uint64_t>(p + kInoMtime));
    return in;
  }

  // Reads logical bytes, chunk by chunk.
  Result<void> read_logical(std::uint64_t logical, std::span<std::byte> out) const {
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = IG_TRY(checked_add(logical, done, "btrfs logical address"));
      auto [physical, room] = IG_TRY(map(at));
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(room, out.size() - done));
      IG_TRY(dev_->read_at(physical, out.subspan(done, n)));
      done += n;
    }
    return ok();
  }

 private:
  Volume(SourcePtr dev, const FsLimits& limits) : dev_(std::move(dev)), limits_(limits) {}

  // The physical byte of `logical` and the bytes left in its chunk.
  Result<std::pair<std::uint64_t, std::uint64_t>> map(std::uint64_t logical) const {
    auto it = chunks_.upper_bound(logical);
    if (it != chunks_.begin()) {
      --it;
      const std::uint64_t rel = logical - it->first;
      if (rel < it->second.length) return std::pair{it->second.physical + rel, it->second.length - rel};
    }
    return Error::corrupt(fmt::format("btrfs: logical address {:#x} is in no chunk", logical));
  }

  Result<Node> read_node(std::uint64_t logical, std::uint8_t level) const {
    if (level > kMaxLevel)
      return Error::corrupt(fmt::format("btrfs node {:#x}: level {} above {}", logical, level, kMaxLevel));
    auto [physical, room] = IG_TRY(map(logical));
    if (room < nodesize_) return Error::corrupt(fmt::format("btrfs node {:#x}: crosses the end of its chunk", logical));
    Node n;
    n.logical = logical;
    n.raw = IG_TRY(read_vector(*meta_, physical, nodesize_));
    const std::uint32_t stored = load_le_ptr<std::uint32_t>(n.raw.data());
    const std::uint32_t computed = csum(n.raw);
    if (checksum_refuses(stored != computed))
      return Error::corrupt(fmt::format("btrfs node {:#x}: checksum {:#x}, computed {:#x}", logical, stored, computed));
    if (!std::equal(metadata_fsid_.begin(), metadata_fsid_.end(), n.raw.begin() + kHdrFsid))
      return Error::corrupt(fmt::format("btrfs node {:#x}: fsid is not the file system's", logical));
    const std::uint64_t bytenr = load_le_ptr<std::uint64_t>(n.raw.data() + kHdrBytenr);
    if (bytenr != logical)
      return Error::corrupt(fmt::format("btrfs node {:#x}: header says it is at {:#x}", logical, bytenr));
    n.level = std::to_integer<std::uint8_t>(n.raw[kHdrLevel]);
    if (n.level != level)
      return Error::corrupt(fmt::format("btrfs node {:#x}: level {}, {} expected", logical, n.level, level));
    n.nritems = load_le_ptr<std::uint32_t>(n.raw.data() + kHdrNritems);
    const std::size_t per = level == 0 ? kItemSize : kKeyPtrSize;
    if (n.nritems > (nodesize_ - kHeaderSize) / per || (level > 0 && n.nritems == 0))
      return Error::corrupt(fmt::format("btrfs node {:#x}: {} items at level {}", logical, n.nritems, level));
    for (std::uint32_t i = 1; i < n.nritems; ++i) {
      if (!(n.key(i - 1) < n.key(i)))
        return Error::corrupt(fmt::format("btrfs node {:#x}: keys out of order at item {}", logical, i));
    }
    return n;
  }

  Result<void> walk_node(std::uint64_t logical, std::uint8_t level, const Key& lo, const Key& hi, const ItemFn& fn,
                         std::uint64_t& budget, bool& stop) const {
    if (budget == 0) {
      return Error::limit_exceeded(fmt::format("btrfs: a tree walk read more than {} nodes (a loop or a huge tree)",
                                               limits_.max_tree_nodes_per_walk));
    }
    --budget;
    const Node n = IG_TRY(read_node(logical, level));
    if (level == 0) {
      for (std::uint32_t i = 0; i < n.nritems; ++i) {
        const Key k = n.key(i);
        if (k < lo) continue;
        if (hi < k) {
          stop = true;
          return ok();
        }
        const auto data = IG_TRY(n.item(i));
        if (!IG_TRY(fn(k, data))) {
          stop = true;
          return ok();
        }
      }
      return ok();
    }
    for (std::uint32_t i = 0; i < n.nritems && !stop; ++i) {
      // Child i holds keys in [key(i), key(i + 1)).
      if (i + 1 < n.nritems && !(lo < n.key(i + 1))) continue;
      if (hi < n.key(i)) {
        stop = true;
        return ok();
      }
      IG_TRY(walk_node(n.child(i), static_cast<std::uint8_t>(level - 1), lo, hi, fn, budget, stop));
    }
    return ok();
  }

  Result<void> add_chunk(std::uint64_t logical, std::span<const std::byte> c, std::uint64_t devid) {
    const std::string what = fmt::format("btrfs chunk at logical {:#x}", logical);
    if (c.size() < kChunkSize) return Error::corrupt(fmt::format("{}: {} bytes", what, c.size()));
    const std::uint64_t length = load_le_ptr<std::uint64_t>(c.data());
    const std::uint64_t type = load_le_ptr<std::uint64_t>(c.data() + 24);
    const std::uint16_t num_stripes = load_le_ptr<std::uint16_t>(c.data() + 44);
    if (c.size() != kChunkSize + std::size_t{num_stripes} * kStripeSize || num_stripes == 0)
      return Error::corrupt(fmt::format("{}: {} stripes in {} bytes", what, num_stripes, c.size()));
    for (const Profile& p : kRefusedProfiles) {
      if ((type & p.bit) != 0)
        return Error::unsupported(
            fmt::format("{}: profile {} (only SINGLE and DUP on one device are read)", what, p.name));
    }
    const std::uint16_t want = (type & kBgDup) != 0 ? 2 : 1;
    if (num_stripes != want)
      return Error::corrupt(
          fmt::format("{}: {} stripes for a {} chunk", what, num_stripes, want == 2 ? "DUP" : "SINGLE"));
    const std::uint64_t stripe_devid = load_le_ptr<std::uint64_t>(c.data() + kChunkSize);
    const std::uint64_t physical = load_le_ptr<std::uint64_t>(c.data() + kChunkSize + 8);
    if (stripe_devid != devid)
      return Error::unsupported(fmt::format("{}: stripe on device {}, not this one ({}): a multi-device file system",
                                            what, stripe_devid, devid));
    if (length == 0 || length % sectorsize_ != 0 || !range_within(logical, length, UINT64_MAX))
      return Error::corrupt(fmt::format("{}: length {}", what, length));
    if (!range_within(physical, length, dev_->size())) {
      return Error::corrupt(fmt::format("{}: stripe at physical {:#x} (+{}) lies beyond the device ({} bytes)", what,
                                        physical, length, dev_->size()));
    }
    if (auto same = chunks_.find(logical); same != chunks_.end()) {
      if (same->second.length != length || same->second.physical != physical)
        return Error::corrupt(fmt::format("{}: the chunk tree and the superblock disagree", what));
      return ok();
    }
    auto next = chunks_.upper_bound(logical);
    if (next != chunks_.end() && next->first < logical + length)
      return Error::corrupt(fmt::format("{}: overlaps the chunk at {:#x}", what, next->first));
    if (next != chunks_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second.length > logical)
        return Error::corrupt(fmt::format("{}: overlaps the chunk at {:#x}", what, prev->first));
    }
    if (chunks_.size() >= kMaxChunks)
      return Error::limit_exceeded(fmt::format("btrfs: more than {} chunks", kMaxChunks));
    chunks_.emplace(logical, Chunk{length, physical});
    return ok();
  }

  SourcePtr dev_;
  SourcePtr meta_;  // dev_ behind a cache of node-sized blocks, for tree reads
  FsLimits limits_;
  std::uint32_t sectorsize_ = 0;
  std::uint32_t nodesize_ = 0;
  std::array<std::byte, 16> metadata_fsid_{};
  std::string label_;
  std::string uuid_;
  Tree root_tree_;
  std::uint64_t default_subvol_ = kFsTreeObjectid;
  std::map<std::uint64_t, Chunk> chunks_;  // by logical start
  mutable std::mutex mu_;
  mutable std::map<std::uint64_t, RootInfo> roots_;
};

Result<std::shared_ptr<const Volume>> Volume::open(SourcePtr dev, const FsLimits& limits) {
  if (!range_within(kSuperOffset, kSuperSize, dev->size()))
    return Error::corrupt("btrfs: device too small for a superblock");
  std::array<std::byte, kSuperSize> s{};
  IG_TRY(dev->read_at(kSuperOffset, s));
  if (text_at<kSbMagic, 8>(s) != "_BHRfS_M") return Error::corrupt("btrfs superblock: bad magic");
  const std::uint16_t csum_type = load_le<std::uint16_t, kSbCsumType>(s);
  if (csum_type != 0) {
    static constexpr const char* kNames[] = {"crc32c", "xxhash64", "sha256", "blake2b"};
    return Error::unsupported(fmt::format("btrfs superblock: checksum type {} (only crc32c is read)",
                                          csum_type < 4 ? kNames[csum_type] : fmt::format("{}", csum_type)));
  }
  const std::uint32_t stored = load_le<std::uint32_t, 0>(s);
  const std::uint32_t computed = csum(s);
  if (checksum_refuses(stored != computed))
    return Error::corrupt(fmt::format("btrfs superblock: checksum {:#x}, computed {:#x}", stored, computed));
  if (load_le<std::uint64_t, kSbBytenr>(s) != kSuperOffset)
    return Error::corrupt(fmt::format("btrfs superblock: bytenr {:#x}", load_le<std::uint64_t, kSbBytenr>(s)));
  const std::uint64_t incompat = load_le<std::uint64_t, kSbIncompatFlags>(s);
  if ((incompat & ~kIncompatKnown) != 0) {
    return Error::unsupported(fmt::format(
        "btrfs superblock: incompatible features {:#x} (zoned, extent tree v2, raid stripe tree or unknown)",
        incompat & ~kIncompatKnown));
  }
  const std::uint64_t num_devices = load_le<std::uint64_t, kSbNumDevices>(s);
  if (num_devices != 1) {
    return Error::unsupported(
        fmt::format("btrfs superblock: {} devices (only single-device file systems are read)", num_devices));
  }
  std::unique_ptr<Volume> v(new Volume(dev, limits));
  v->sectorsize_ = load_le<std::uint32_t, kSbSectorsize>(s);
  v->nodesize_ = load_le<std::uint32_t, kSbNodesize>(s);
  if (!is_power_of_two(v->sectorsize_) || v->sectorsize_ < 4096 || v->sectorsize_ > 65536)
    return Error::corrupt(fmt::format("btrfs superblock: sectorsize {}", v->sectorsize_));
  if (!is_power_of_two(v->nodesize_) || v->nodesize_ < v->sectorsize_ || v->nodesize_ > 65536)
    return Error::corrupt(fmt::format("btrfs superblock: nodesize {}", v->nodesize_));
  const std::uint32_t sys_size = load_le<std::uint32_t, kSbSysChunkArraySize>(s);
  if (sys_size > kSysChunkArrayMax)
    return Error::corrupt(fmt::format("btrfs superblock: sys_chunk_array_size {}", sys_size));
  const std::size_t fsid_at = (incompat & kIncompatMetadataUuid) != 0 ? kSbMetadataUuid : kSbFsid;
  std::copy_n(s.begin() + static_cast<std::ptrdiff_t>(fsid_at), 16, v->metadata_fsid_.begin());
  v->uuid_ = uuid_string(std::span<const std::byte, 16>(s.data() + kSbFsid, 16));
  const std::string_view label = as_chars(std::span<const std::byte>(s).subspan(kSbLabel, 256));
  v->label_ = printable(label.substr(0, label.find('\0')));
  const std::uint64_t devid = load_le<std::uint64_t, kSbDevItemDevid>(s);
  v->meta_ = std::make_shared<CacheSource>(dev, v->nodesize_, 256);

  // Bootstrap: the chunks that hold the chunk tree are in the superblock.
  ByteReader r(std::span<const std::byte>(s).subspan(kSbSysChunkArray, sys_size), "btrfs sys_chunk_array");
  while (r.remaining() > 0) {
    const auto key_bytes = IG_TRY(r.bytes(kKeySize));
    const Key k = load_key(key_bytes.data());
    if (k.type != kChunkItem)
      return Error::corrupt(fmt::format("btrfs sys_chunk_array: key type {} (a chunk item expected)", k.type));
    const auto head = IG_TRY(r.bytes(kChunkSize));
    const std::uint16_t num_stripes = load_le_ptr<std::uint16_t>(head.data() + 44);
    const auto stripes = IG_TRY(r.bytes(std::size_t{num_stripes} * kStripeSize));
    std::vector<std::byte> chunk(head.begin(), head.end());
    chunk.insert(chunk.end(), stripes.begin(), stripes.end());
    IG_TRY_CTX(v->add_chunk(k.offset, chunk, devid), "btrfs sys_chunk_array");
  }
  const Tree chunk_tree{load_le<std::uint64_t, kSbChunkRoot>(s), load_le<std::uint8_t, kSbChunkRootLevel>(s)};
  IG_TRY(v->walk(chunk_tree, Key{kFirstChunkTreeObjectid, kChunkItem, 0},
                 Key{kFirstChunkTreeObjectid, kChunkItem, UINT64_MAX},
                 [&](const Key& k, std::span<const std::byte> d) -> Result<bool> {
                   IG_TRY(v->add_chunk(k.offset, d, devid));
                   return true;
                 }));
  v->root_tree_ = Tree{load_le<std::uint64_t, kSbRoot>(s), load_le<std::uint8_t, kSbRootLevel>(s)};

  // The default subvolume: the root tree directory's "default" entry (absent: the top level).
  const std::string_view name = "default";
  const std::uint32_t hash = crc32c_update(~1u, std::as_bytes(std::span(name.data(), name.size())));
  auto item = IG_TRY(v->find(v->root_tree_, Key{kRootTreeDirObjectid, kDirItem, hash}));
  if (item) {
    ByteReader d(*item, "btrfs default subvolume entry");
    while (d.remaining() > 0) {
      const auto hdr = IG_TRY(d.bytes(kDirItemHeader));
      const std::uint16_t data_len = load_le_ptr<std::uint16_t>(hdr.data() + 25);
      const std::uint16_t name_len = load_le_ptr<std::uint16_t>(hdr.data() + 27);
      const auto n = IG_TRY(d.bytes(name_len));
      IG_TRY(d.skip(data_len));
      if (as_chars(n) == name) {
        const std::uint64_t id = load_key(hdr.data()).objectid;
        v->default_subvol_ = id == 0 ? kFsTreeObjectid : id;
      }
    }
  }
  return std::shared_ptr<const Volume>(std::move(v));
}

}  // namespace detail

namespace {

using detail::Volume;

struct FileExtent {
  enum class Kind { kZero, kInline, kPlain, kCompressed };
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;  // bytes of the file it covers
  Kind kind = Kind::kZero;
  std::uint8_t compression = kCompressNone;
  std::uint64_t disk_bytenr = 0;
  std::uint64_t disk_num_bytes = 0;
  std::uint64_t offset = 0;  // into the (decoded) extent
  std::uint64_t ram_bytes = 0;
  std::vector<std::byte> data;  // inline, decoded
};

// A file's contents from its extents; holes and prealloc extents read as zeros, as does anything
// between an extent's end and the next one. A one-extent cache keeps sequential reads of a
// compressed file from decoding each extent more than once.
class ExtentSource final : public ByteSource {
 public:
  ExtentSource(std::shared_ptr<const Volume> vol, std::uint64_t size, std::vector<FileExtent> extents, std::string name)
      : vol_(std::move(vol)), size_(size), extents_(std::move(extents)), name_(std::move(name)) {}

  std::uint64_t size() const override { return size_; }
  std::string name() const override { return name_; }

  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t pos = offset + done;
      auto it = std::upper_bound(extents_.begin(), extents_.end(), pos,
                                 [](std::uint64_t p, const FileExtent& e) { return p < e.file_offset; });
      const std::size_t left = out.size() - done;
      if (it != extents_.begin() && pos - std::prev(it)->file_offset < std::prev(it)->length) {
        const FileExtent& e = *std::prev(it);
        const std::uint64_t rel = pos - e.file_offset;
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(e.length - rel, left));
        IG_TRY(fill(e, rel, out.subspan(done, n)));
        done += n;
      } else {
        const std::uint64_t next = it == extents_.end() ? UINT64_MAX : it->file_offset;
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(next - pos, left));
        std::memset(out.data() + done, 0, n);
        done += n;
      }
    }
    return ok();
  }

 private:
  Result<void> fill(const FileExtent& e, std::uint64_t rel, std::span<std::byte> out) const {
    switch (e.kind) {
      case FileExtent::Kind::kZero: std::memset(out.data(), 0, out.size()); return ok();
      case FileExtent::Kind::kInline: {
        std::memset(out.data(), 0, out.size());
        if (rel < e.data.size()) {
          const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(e.data.size() - rel, out.size()));
          std::memcpy(out.data(), e.data.data() + rel, n);
        }
        return ok();
      }
      case FileExtent::Kind::kPlain: return vol_->read_logical(e.disk_bytenr + e.offset + rel, out);
      case FileExtent::Kind::kCompressed: {
        std::shared_ptr<const std::vector<std::byte>> decoded;
        {
          std::lock_guard lock(mu_);
          // Keyed by everything the decoding depends on: two extents may name the same disk bytes
          // with different ram_bytes, and a 4 KiB decoding served to one that reads 128 KiB was a
          // heap over-read (the fuzzers' audit, 2026-12-07).
          if (cached_ && cached_key_ == key(e)) decoded = cached_;
        }
        if (!decoded) {
          std::vector<std::byte> in(static_cast<std::size_t>(e.disk_num_bytes));
          IG_TRY(vol_->read_logical(e.disk_bytenr, in));
          decoded = std::make_shared<const std::vector<std::byte>>(IG_TRY(
              decompress(e.compression, in, e.ram_bytes, fmt::format("{}: extent at {:#x}", name_, e.disk_bytenr))));
          std::lock_guard lock(mu_);
          cached_ = decoded;
          cached_key_ = key(e);
        }
        if (e.offset + rel > decoded->size() || out.size() > decoded->size() - e.offset - rel) {
          return Error::corrupt(fmt::format("{}: extent at {:#x} decodes to {} bytes, read at {} for {}", name_,
                                            e.disk_bytenr, decoded->size(), e.offset + rel, out.size()));
        }
        std::memcpy(out.data(), decoded->data() + e.offset + rel, out.size());
        return ok();
      }
    }
    return ok();
  }

  std::shared_ptr<const Volume> vol_;
  std::uint64_t size_;
  std::vector<FileExtent> extents_;  // sorted by file_offset, not overlapping
  std::string name_;
  mutable std::mutex mu_;
  using CacheKey = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint8_t>;
  static CacheKey key(const FileExtent& e) { return {e.disk_bytenr, e.disk_num_bytes, e.ram_bytes, e.compression}; }
  mutable std::shared_ptr<const std::vector<std::byte>> cached_;
  mutable CacheKey cached_key_{};
};

std::pair<std::uint64_t, std::uint64_t> decode_inode(std::uint64_t ino) {
  return {ino >> kObjectidBits, ino & kObjectidMask};
}

const char* compression_name(std::uint8_t c) {
  switch (c) {
    case kCompressZlib: return "zlib";
    case kCompressLzo: return "lzo";
    case kCompressZstd: return "zstd";
    default: return "unknown";
  }
}

// The extents of one file, checked: bounds, overlaps, compression, FsLimits.
Result<std::vector<FileExtent>> file_extents(const Volume& vol, std::uint64_t tree, const Inode& in) {
  const RootInfo r = IG_TRY(vol.root(tree));
  std::vector<FileExtent> out;
  const std::string what = fmt::format("btrfs: subvolume {} inode {}", tree, in.objectid);
  IG_TRY(vol.walk(
      r.tree, Key{in.objectid, kExtentData, 0}, Key{in.objectid, kExtentData, UINT64_MAX},
      [&](const Key& k, std::span<const std::byte> d) -> Result<bool> {
        const std::string at = fmt::format("{}: extent at file offset {}", what, k.offset);
        if (d.size() < kFeInlineData) return Error::corrupt(fmt::format("{}: item of {} bytes", at, d.size()));
        FileExtent e;
        e.file_offset = k.offset;
        e.ram_bytes = load_le_ptr<std::uint64_t>(d.data() + kFeRamBytes);
        e.compression = std::to_integer<std::uint8_t>(d[kFeCompression]);
        const auto encryption = std::to_integer<std::uint8_t>(d[kFeEncryption]);
        const std::uint16_t other = load_le_ptr<std::uint16_t>(d.data() + kFeOtherEncoding);
        const auto type = std::to_integer<std::uint8_t>(d[kFeType]);
        if (encryption != 0 || other != 0)
          return Error::unsupported(fmt::format("{}: encryption {} / other encoding {}", at, encryption, other));
        if (e.compression == kCompressLzo) {
          return Error::unsupported(
              fmt::format("{}: lzo compression is not read (docs/decisions/0011-btrfs-lzo-refused.md)", at));
        }
        if (e.compression > kCompressZstd)
          return Error::unsupported(fmt::format("{}: compression type {}", at, e.compression));
        if (e.compression != kCompressNone && (e.ram_bytes == 0 || e.ram_bytes > kMaxCompressed)) {
          return Error::corrupt(fmt::format("{}: {} extent of ram_bytes {} (at most {})", at,
                                            compression_name(e.compression), e.ram_bytes, kMaxCompressed));
        }
        if (type == kFeInline) {
          const auto payload = d.subspan(kFeInlineData);
          if (e.compression == kCompressNone) {
            e.data.assign(payload.begin(), payload.end());
          } else {
            e.data = IG_TRY(decompress(e.compression, payload, e.ram_bytes, at));
          }
          e.kind = FileExtent::Kind::kInline;
          e.length = e.data.size();
        } else if (type == kFeRegular || type == kFePrealloc) {
          if (d.size() != kFeRegularSize) return Error::corrupt(fmt::format("{}: item of {} bytes", at, d.size()));
          e.disk_bytenr = load_le_ptr<std::uint64_t>(d.data() + kFeDiskBytenr);
          e.disk_num_bytes = load_le_ptr<std::uint64_t>(d.data() + kFeDiskNumBytes);
          e.offset = load_le_ptr<std::uint64_t>(d.data() + kFeOffset);
          e.length = load_le_ptr<std::uint64_t>(d.data() + kFeNumBytes);
          if (type == kFePrealloc || e.disk_bytenr == 0) {
            e.kind = FileExtent::Kind::kZero;
          } else if (e.compression == kCompressNone) {
            e.kind = FileExtent::Kind::kPlain;
            if (!range_within(e.offset, e.length, e.disk_num_bytes) ||
                !range_within(e.disk_bytenr, e.disk_num_bytes, UINT64_MAX)) {
              return Error::corrupt(fmt::format("{}: offset {} + num_bytes {} beyond disk_num_bytes {}", at, e.offset,
                                                e.length, e.disk_num_bytes));
            }
          } else {
            e.kind = FileExtent::Kind::kCompressed;
            if (!range_within(e.offset, e.length, e.ram_bytes) || e.disk_num_bytes == 0 ||
                e.disk_num_bytes > kMaxCompressed) {
              return Error::corrupt(fmt::format("{}: offset {} + num_bytes {} in ram_bytes {}, disk_num_bytes {}", at,
                                                e.offset, e.length, e.ram_bytes, e.disk_num_bytes));
            }
          }
        } else {
          return Error::corrupt(fmt::format("{}: type {}", at, type));
        }
        if (e.length == 0) return true;
        if (!range_within(e.file_offset, e.length, UINT64_MAX))
          return Error::corrupt(fmt::format("{}: num_bytes {} overflows", at, e.length));
        if (!out.empty() && out.back().file_offset + out.back().length > e.file_offset)
          return Error::corrupt(fmt::format("{}: overlaps the previous extent", at));
        if (out.size() >= vol.limits().max_extents_per_file)
          return Error::limit_exceeded(
              fmt::format("{}: more than {} extents", what, vol.limits().max_extents_per_file));
        out.push_back(std::move(e));
        return true;
      }));
  return out;
}

// Directory item bodies: one entry (DIR_INDEX) or several with one name hash (DIR_ITEM).
struct RawEntry {
  Key location;
  std::string name;
};
Result<void> parse_dir_item(std::span<const std::byte> d, std::vector<RawEntry>& out, const std::string& what) {
  ByteReader r(d, what);
  while (r.remaining() > 0) {
    const auto hdr = IG_TRY(r.bytes(kDirItemHeader));
    const std::uint16_t data_len = load_le_ptr<std::uint16_t>(hdr.data() + 25);
    const std::uint16_t name_len = load_le_ptr<std::uint16_t>(hdr.data() + 27);
    if (name_len == 0 || name_len > kNameMax) return Error::corrupt(fmt::format("{}: name_len {}", what, name_len));
    const auto name = IG_TRY(r.bytes(name_len));
    IG_TRY(r.skip(data_len));
    out.push_back(RawEntry{load_key(hdr.data()), std::string(as_chars(name))});
  }
  return ok();
}

}  // namespace

BtrfsFs::BtrfsFs(std::shared_ptr<const detail::Volume> volume, std::uint64_t tree, std::uint64_t root_dir)
    : vol_(std::move(volume)), tree_(tree), root_dir_(root_dir) {}

std::uint64_t BtrfsFs::root_inode() const {
  return (tree_ << kObjectidBits) | root_dir_;  // checked by open_subvolume
}
std::string BtrfsFs::label() const {
  return vol_->label();
}
std::string BtrfsFs::uuid() const {
  return vol_->uuid();
}
std::uint64_t BtrfsFs::default_subvolume() const {
  return vol_->default_subvolume();
}

Result<FileStat> BtrfsFs::stat(std::uint64_t ino) const {
  const auto [tree, objectid] = decode_inode(ino);
  const Inode in = IG_TRY(vol_->inode(tree, objectid));
  FileStat st;
  st.inode = ino;
  st.type = type_of(in.mode);
  st.mode = in.mode;
  st.size = in.size;
  st.uid = in.uid;
  st.gid = in.gid;
  st.mtime = in.mtime;
  return st;
}

Result<std::vector<DirEntry>> BtrfsFs::list(std::uint64_t ino) const {
  // Plain variables, not a structured binding: the lambda below captures them (clang < 16).
  const std::uint64_t tree = decode_inode(ino).first;
  const std::uint64_t objectid = decode_inode(ino).second;
  const Inode in = IG_TRY(vol_->inode(tree, objectid));
  if (type_of(in.mode) != FileType::kDirectory)
    return Error::invalid_argument(fmt::format("btrfs: subvolume {} inode {} is not a directory", tree, objectid));
  const RootInfo r = IG_TRY(vol_->root(tree));
  const std::string what = fmt::format("btrfs: subvolume {} directory {}", tree, objectid);
  std::vector<RawEntry> raw;
  auto collect = [&](std::uint8_t type) {
    return vol_->walk(
        r.tree, Key{objectid, type, 0}, Key{objectid, type, UINT64_MAX},
        [&](const Key&, std::span<const std::byte> d) -> Result<bool> {
          IG_TRY(parse_dir_item(d, raw, what));
          if (raw.size() > vol_->limits().max_dir_entries)
            return Error::limit_exceeded(fmt::format("{}: more than {} entries", what, vol_->limits().max_dir_entries));
          return true;
        });
  };
  IG_TRY(collect(kDirIndex));
  if (raw.empty()) IG_TRY(collect(kDirItem));  // DIR_INDEX is optional; DIR_ITEM always exists
  std::vector<DirEntry> out;
  out.reserve(raw.size());
  for (RawEntry& e : raw) {
    std::uint64_t child = 0;
    if (e.location.type == kInodeItem) {
      child = IG_TRY(encode(tree, e.location.objectid));
    } else if (e.location.type == kRootItem) {
      const RootInfo sub = IG_TRY_CTX(vol_->root(e.location.objectid), "{}: entry '{}'", what, printable(e.name));
      child = IG_TRY(encode(e.location.objectid, sub.root_dirid));
    } else {
      return Error::corrupt(
          fmt::format("{}: entry '{}' locates key type {}", what, printable(e.name), e.location.type));
    }
    out.push_back(DirEntry{std::move(e.name), child});
  }
  return out;
}

Result<std::uint64_t> BtrfsFs::lookup(std::uint64_t dir, std::string_view name) const {
  const auto [tree, objectid] = decode_inode(dir);
  const RootInfo r = IG_TRY(vol_->root(tree));
  const std::uint32_t hash = crc32c_update(~1u, std::as_bytes(std::span(name.data(), name.size())));
  const std::string what = fmt::format("btrfs: subvolume {} directory {}", tree, objectid);
  auto item = IG_TRY(vol_->find(r.tree, Key{objectid, kDirItem, hash}));
  if (item) {
    std::vector<RawEntry> raw;
    IG_TRY(parse_dir_item(*item, raw, what));
    for (const RawEntry& e : raw) {
      if (e.name != name) continue;
      if (e.location.type == kInodeItem) return encode(tree, e.location.objectid);
      if (e.location.type == kRootItem) {
        const RootInfo sub = IG_TRY(vol_->root(e.location.objectid));
        return encode(e.location.objectid, sub.root_dirid);
      }
      return Error::corrupt(
          fmt::format("{}: entry '{}' locates key type {}", what, printable(e.name), e.location.type));
    }
  }
  return Error::not_found(fmt::format("{}: no entry '{}'", what, printable(name)));
}

Result<std::unique_ptr<ByteSource>> BtrfsFs::open(std::uint64_t ino) const {
  const auto [tree, objectid] = decode_inode(ino);
  const Inode in = IG_TRY(vol_->inode(tree, objectid));
  if (type_of(in.mode) != FileType::kRegular)
    return Error::invalid_argument(fmt::format("btrfs: subvolume {} inode {} is not a regular file", tree, objectid));
  std::vector<FileExtent> extents = IG_TRY(file_extents(*vol_, tree, in));
  return std::unique_ptr<ByteSource>(std::make_unique<ExtentSource>(
      vol_, in.size, std::move(extents), fmt::format("btrfs subvolume {} inode {}", tree, objectid)));
}

Result<std::string> BtrfsFs::read_link(std::uint64_t ino) const {
  const auto [tree, objectid] = decode_inode(ino);
  const Inode in = IG_TRY(vol_->inode(tree, objectid));
  if (type_of(in.mode) != FileType::kSymlink)
    return Error::invalid_argument(fmt::format("btrfs: subvolume {} inode {} is not a symlink", tree, objectid));
  if (in.size > vol_->limits().max_symlink_bytes)
    return Error::limit_exceeded(fmt::format("btrfs: symlink inode {} of {} bytes", objectid, in.size));
  std::vector<FileExtent> extents = IG_TRY(file_extents(*vol_, tree, in));
  ExtentSource src(vol_, in.size, std::move(extents), "symlink");
  std::string target(static_cast<std::size_t>(in.size), '\0');
  IG_TRY(src.read_at(0, std::as_writable_bytes(std::span(target.data(), target.size()))));
  return target;
}

Result<std::unique_ptr<BtrfsFs>> BtrfsFs::open_subvolume(std::uint64_t id) const {
  const RootInfo r = IG_TRY(vol_->root(id));
  IG_TRY(encode(id, r.root_dirid));
  return std::make_unique<BtrfsFs>(vol_, id, r.root_dirid);
}

Result<std::unique_ptr<BtrfsFs>> BtrfsFs::open_subvolume(std::string_view path) const {
  auto top = IG_TRY(open_subvolume(kFsTreeObjectid));
  std::uint64_t ino = top->root_inode();
  std::uint64_t components = 0;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view c = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") return Error::invalid_argument(fmt::format("btrfs subvolume path '{}': '..'", printable(path)));
    if (++components > vol_->limits().max_path_components)
      return Error::limit_exceeded(fmt::format("btrfs subvolume path '{}': too many components", printable(path)));
    ino = IG_TRY_CTX(top->lookup(ino, c), "btrfs subvolume path '{}'", printable(path));
  }
  const auto [tree, objectid] = decode_inode(ino);
  const RootInfo r = IG_TRY(vol_->root(tree));
  if (objectid != r.root_dirid)
    return Error::invalid_argument(fmt::format("btrfs: '{}' is not a subvolume", printable(path)));
  return std::make_unique<BtrfsFs>(vol_, tree, objectid);
}

bool probe(const ByteSource& dev) {
  std::array<std::byte, 8> m{};
  return dev.size() >= kSuperOffset + kSuperSize && dev.read_at(kSuperOffset + kSbMagic, m) &&
         as_chars(m) == "_BHRfS_M";
}

Result<std::unique_ptr<BtrfsFs>> open(SourcePtr dev, const FsLimits& limits) {
  auto vol = IG_TRY(detail::Volume::open(std::move(dev), limits));
  BtrfsFs top(vol, kFsTreeObjectid, kFirstFreeObjectid);
  return top.open_subvolume(vol->default_subvolume());
}

}  // namespace ig::btrfs
