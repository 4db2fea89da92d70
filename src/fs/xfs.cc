// XFS reader, v4 and v5, after the kernel's fs/xfs/libxfs/xfs_format.h, xfs_da_format.h and the
// "XFS Algorithms & Data Structures" document. See docs/formats/xfs.md. All fields big-endian.
//
// Read: the primary superblock (CRC verified on v5), inodes anywhere (inode numbers decoded with
// sb_agblklog / sb_inopblog; v5 inode CRCs verified), data forks in local, extents and btree
// format, directories of every format (shortform in the inode; block, leaf and node directories
// through their data blocks, which hold every entry), symlinks (local and remote).
#include "fs/xfs.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "base/crc32c.h"
#include "base/text.h"
#include "fs/mapped_source.h"

namespace ig::xfs {
namespace {

// Superblock (xfs_dsb).
constexpr std::size_t kSbBlocksize = 4;
constexpr std::size_t kSbDblocks = 8;
constexpr std::size_t kSbUuid = 32;
constexpr std::size_t kSbRootino = 56;
constexpr std::size_t kSbAgblocks = 84;
constexpr std::size_t kSbAgcount = 88;
constexpr std::size_t kSbVersionnum = 100;
constexpr std::size_t kSbSectsize = 102;
constexpr std::size_t kSbInodesize = 104;
constexpr std::size_t kSbInopblock = 106;
constexpr std::size_t kSbFname = 108;
constexpr std::size_t kSbBlocklog = 120;
constexpr std::size_t kSbInodelog = 122;
constexpr std::size_t kSbInopblog = 123;
constexpr std::size_t kSbAglog = 124;
constexpr std::size_t kSbDirblklog = 192;
constexpr std::size_t kSbFeatures2 = 200;
constexpr std::size_t kSbFeaturesIncompat = 216;
constexpr std::size_t kSbCrc = 224;
constexpr std::size_t kSbMetaUuid = 248;

constexpr std::uint16_t kVersionNumBits = 0x000f;
constexpr std::uint32_t kFeat2Ftype = 0x200;
constexpr std::uint32_t kIncompatFtype = 0x1;
constexpr std::uint32_t kIncompatSpinodes = 0x2;
constexpr std::uint32_t kIncompatMetaUuid = 0x4;
constexpr std::uint32_t kIncompatBigtime = 0x8;
constexpr std::uint32_t kIncompatNeedsRepair = 0x10;
constexpr std::uint32_t kIncompatNrext64 = 0x20;
constexpr std::uint32_t kIncompatKnown =
    kIncompatFtype | kIncompatSpinodes | kIncompatMetaUuid | kIncompatBigtime | kIncompatNeedsRepair | kIncompatNrext64;

// Inode core (xfs_dinode).
constexpr std::size_t kDiMode = 2;
constexpr std::size_t kDiVersion = 4;
constexpr std::size_t kDiFormat = 5;
constexpr std::size_t kDiUid = 8;
constexpr std::size_t kDiGid = 12;
constexpr std::size_t kDiMtime = 40;
constexpr std::size_t kDiSize = 56;
constexpr std::size_t kDiNextents = 76;
constexpr std::size_t kDiForkoff = 82;
constexpr std::size_t kDiFlags2 = 120;  // v3 only
constexpr std::size_t kDiCrc = 100;
constexpr std::size_t kDiIno = 152;
constexpr std::size_t kV2CoreSize = 100;
constexpr std::size_t kV3CoreSize = 176;
constexpr std::uint64_t kDiflag2Nrext64 = 1ULL << 4;

constexpr std::uint8_t kFmtLocal = 1;
constexpr std::uint8_t kFmtExtents = 2;
constexpr std::uint8_t kFmtBtree = 3;

constexpr std::uint64_t kDirLeafOffset = std::uint64_t{32} << 30;  // XFS_DIR2_LEAF_OFFSET: data space ends here
constexpr std::uint32_t kMaxBtreeDepth = 9;

struct Geometry {
  std::uint32_t blocksize = 0;
  std::uint64_t dblocks = 0;
  std::uint64_t rootino = 0;
  std::uint32_t agblocks = 0;
  std::uint32_t agcount = 0;
  std::uint16_t inodesize = 0;
  std::uint8_t blocklog = 0;
  std::uint8_t inopblog = 0;
  std::uint8_t agblklog = 0;
  std::uint8_t dirblklog = 0;
  bool v5 = false;
  bool ftype = false;
  std::string label;
  std::string uuid;
};

struct Inode {
  std::uint64_t number = 0;
  std::vector<std::byte> raw;
  std::uint16_t mode = 0;
  std::uint8_t version = 0;
  std::uint8_t format = 0;
  std::uint64_t size = 0;
  std::uint64_t nextents = 0;
  std::size_t core = 0;       // core size: where the data fork starts
  std::size_t fork_size = 0;  // bytes of the data fork area
  FileType type() const {
    switch (mode & 0xf000) {
      case 0x8000: return FileType::kRegular;
      case 0x4000: return FileType::kDirectory;
      case 0xa000: return FileType::kSymlink;
      default: return FileType::kOther;
    }
  }
  std::span<const std::byte> fork() const { return std::span<const std::byte>(raw).subspan(core, fork_size); }
};

class XfsFs final : public FileSystem {
 public:
  XfsFs(SourcePtr dev, Geometry g, const FsLimits& limits) : dev_(std::move(dev)), g_(std::move(g)), limits_(limits) {}

  std::string kind() const override { return "xfs"; }
  std::uint64_t root_inode() const override { return g_.rootino; }
  std::string label() const override { return g_.label; }
  std::string uuid() const override { return g_.uuid; }

  Result<FileStat> stat(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    FileStat st;
    st.inode = ino;
    st.type = in.type();
    st.mode = in.mode;
    st.size = in.size;
    st.uid = load_be_ptr<std::uint32_t>(in.raw.data() + kDiUid);
    st.gid = load_be_ptr<std::uint32_t>(in.raw.data() + kDiGid);
    st.mtime = static_cast<std::int32_t>(load_be_ptr<std::uint32_t>(in.raw.data() + kDiMtime));
    return st;
  }

  Result<std::vector<DirEntry>> list(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    if (in.type() != FileType::kDirectory)
      return Error::invalid_argument(fmt::format("xfs: inode {} is not a directory", ino));
    std::vector<DirEntry> out;
    if (in.format == kFmtLocal) {
      IG_TRY(parse_shortform(in, out));
      return out;
    }
    // Block, leaf and node directories keep every entry in data blocks below the 32 GiB
    // boundary; their leaf and free-space blocks (above it) only index them. A directory block
    // (2^dirblklog file system blocks) may span extents: each is read through the map.
    const std::uint64_t dirblk = std::uint64_t{g_.blocksize} << g_.dirblklog;
    const std::uint64_t fsb_per_dirblk = std::uint64_t{1} << g_.dirblklog;
    const std::uint64_t leaf_fsb = kDirLeafOffset / g_.blocksize;
    const std::vector<FileRun> runs = IG_TRY(map(in));
    const MappedSource contents(dev_, g_.blocksize, kDirLeafOffset, runs, fmt::format("xfs inode {}", ino));
    // Empty data blocks add no entries and distinct extents may all map the same blocks: only the
    // bytes read bound a listing (the review of 2026-12-07).
    std::uint64_t read = 0;
    std::uint64_t next = 0;  // the first directory block (in file system blocks) not yet read
    std::vector<std::byte> block(static_cast<std::size_t>(dirblk));
    for (const FileRun& r : runs) {  // sorted, not overlapping; startoff < 2^54, count < 2^21
      if (!r.device_byte) continue;
      // In blocks, not bytes: a startoff near 2^54 times the block size wraps.
      const std::uint64_t end = std::min(leaf_fsb, r.logical + r.count);
      for (std::uint64_t fsb = std::max(next, r.logical - r.logical % fsb_per_dirblk); fsb < end;
           fsb += fsb_per_dirblk) {
        if ((read += dirblk) > limits_.max_dir_bytes) {
          return Error::limit_exceeded(
              fmt::format("xfs: directory inode {}: more than the {} bytes read", ino, limits_.max_dir_bytes));
        }
        IG_TRY(contents.read_at(fsb * g_.blocksize, block));
        IG_TRY(parse_data_block(block, ino, out));
        next = fsb + fsb_per_dirblk;
      }
    }
    return out;
  }

  Result<std::unique_ptr<ByteSource>> open(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    const std::string name = fmt::format("xfs inode {}", ino);
    if (in.format == kFmtLocal) {
      if (in.size > in.fork_size)
        return Error::corrupt(fmt::format("xfs: inode {}: local size {} exceeds the fork", ino, in.size));
      auto f = in.fork().first(static_cast<std::size_t>(in.size));
      return std::unique_ptr<ByteSource>(
          std::make_unique<MappedSource>(std::vector<std::byte>(f.begin(), f.end()), name));
    }
    std::vector<FileRun> runs = IG_TRY(map(in));
    return std::unique_ptr<ByteSource>(
        std::make_unique<MappedSource>(dev_, g_.blocksize, in.size, std::move(runs), name));
  }

  Result<std::string> read_link(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    if (in.type() != FileType::kSymlink)
      return Error::invalid_argument(fmt::format("xfs: inode {} is not a symlink", ino));
    if (in.size > limits_.max_symlink_bytes)
      return Error::limit_exceeded(fmt::format("xfs: symlink inode {} too long", ino));
    if (in.format == kFmtLocal) {
      if (in.size > in.fork_size) return Error::corrupt(fmt::format("xfs: symlink inode {} larger than its fork", ino));
      return std::string(as_chars(in.fork().first(static_cast<std::size_t>(in.size))));
    }
    // Remote symlink: on v5 each block starts with a 56-byte header ("XSLM").
    const std::vector<FileRun> runs = IG_TRY(map(in));
    std::string target;
    for (const FileRun& r : runs) {
      if (!r.device_byte) return Error::corrupt(fmt::format("xfs: symlink inode {}: unwritten extent", ino));
      for (std::uint64_t b = 0; b < r.count && target.size() < in.size; ++b) {
        std::vector<std::byte> block = IG_TRY(read_vector(*dev_, *r.device_byte + b * g_.blocksize, g_.blocksize));
        std::size_t skip = 0;
        if (g_.v5) {
          if (as_chars(std::span<const std::byte>(block).first(4)) != "XSLM")
            return Error::corrupt(fmt::format("xfs: symlink inode {}: bad block magic", ino));
          skip = 56;
        }
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(block.size() - skip, in.size - target.size()));
        target += as_chars(std::span<const std::byte>(block).subspan(skip, n));
      }
    }
    return target;
  }

 private:
  Result<Inode> read_inode(std::uint64_t ino) const {
    const std::uint64_t agno = ino >> (g_.agblklog + g_.inopblog);
    const std::uint64_t agbno = (ino >> g_.inopblog) & ((std::uint64_t{1} << g_.agblklog) - 1);
    const std::uint64_t index = ino & ((std::uint64_t{1} << g_.inopblog) - 1);
    if (agno >= g_.agcount || agbno >= g_.agblocks)
      return Error::corrupt(fmt::format("xfs: inode {} out of range", ino));
    const std::uint64_t at = (agno * g_.agblocks + agbno) * g_.blocksize + index * g_.inodesize;
    if (!range_within(at, g_.inodesize, dev_->size()))
      return Error::corrupt(fmt::format("xfs: inode {} past the end of the device", ino));
    Inode in;
    in.number = ino;
    in.raw = IG_TRY(read_vector(*dev_, at, g_.inodesize));
    const std::byte* r = in.raw.data();
    if (as_chars(in.raw).substr(0, 2) != "IN") return Error::corrupt(fmt::format("xfs: inode {}: bad magic", ino));
    in.mode = load_be_ptr<std::uint16_t>(r + kDiMode);
    in.version = std::to_integer<std::uint8_t>(r[kDiVersion]);
    in.format = std::to_integer<std::uint8_t>(r[kDiFormat]);
    in.size = load_be_ptr<std::uint64_t>(r + kDiSize);
    if (in.version == 3) {
      if (!g_.v5) return Error::corrupt(fmt::format("xfs: inode {}: version 3 on a v4 file system", ino));
      std::vector<std::byte> copy = in.raw;
      store_le_ptr<std::uint32_t>(copy.data() + kDiCrc, 0);
      const std::uint32_t computed = ~crc32c_update(~0u, copy);
      const std::uint32_t stored = load_le_ptr<std::uint32_t>(r + kDiCrc);  // stored little-endian, as XFS does
      if (checksum_refuses(stored != computed))
        return Error::corrupt(fmt::format("xfs: inode {} CRC {:#x}, computed {:#x}", ino, stored, computed));
      if (load_be_ptr<std::uint64_t>(r + kDiIno) != ino)
        return Error::corrupt(fmt::format("xfs: inode {} says it is {}", ino, load_be_ptr<std::uint64_t>(r + kDiIno)));
      in.core = kV3CoreSize;
    } else if (in.version == 1 || in.version == 2) {
      if (g_.v5) return Error::corrupt(fmt::format("xfs: inode {}: version {} on a v5 file system", ino, in.version));
      in.core = kV2CoreSize;
    } else {
      return Error::corrupt(fmt::format("xfs: inode {}: version {}", ino, in.version));
    }
    const bool nrext64 = in.version == 3 && (load_be_ptr<std::uint64_t>(r + kDiFlags2) & kDiflag2Nrext64) != 0;
    in.nextents = nrext64 ? load_be_ptr<std::uint64_t>(r + 24) : load_be_ptr<std::uint32_t>(r + kDiNextents);
    const std::uint8_t forkoff = std::to_integer<std::uint8_t>(r[kDiForkoff]);
    const std::size_t literal = g_.inodesize - in.core;
    in.fork_size = forkoff == 0 ? literal : std::size_t{forkoff} * 8;
    if (in.fork_size > literal)
      return Error::corrupt(fmt::format("xfs: inode {}: di_forkoff {} beyond the inode", ino, forkoff));
    return in;
  }

  // Decodes one 128-bit extent record (xfs_bmbt_rec): flag, startoff, startblock, blockcount.
  Result<FileRun> decode_extent(const Inode& in, const std::byte* rec) const {
    const std::uint64_t l0 = load_be_ptr<std::uint64_t>(rec);
    const std::uint64_t l1 = load_be_ptr<std::uint64_t>(rec + 8);
    FileRun r;
    const bool unwritten = (l0 >> 63) != 0;
    r.logical = (l0 >> 9) & ((std::uint64_t{1} << 54) - 1);
    const std::uint64_t fsblock = ((l0 & 0x1ff) << 43) | (l1 >> 21);
    r.count = l1 & ((std::uint64_t{1} << 21) - 1);
    const std::uint64_t agno = fsblock >> g_.agblklog;
    const std::uint64_t agbno = fsblock & ((std::uint64_t{1} << g_.agblklog) - 1);
    if (agno >= g_.agcount || agbno >= g_.agblocks || r.count == 0 || r.count > g_.agblocks - agbno) {
      return Error::corrupt(
          fmt::format("xfs: inode {}: extent at block {:#x} (+{}) out of bounds", in.number, fsblock, r.count));
    }
    if (!unwritten) r.device_byte = (agno * g_.agblocks + agbno) * g_.blocksize;  // unwritten: reads as zeros
    return r;
  }

  Result<std::vector<FileRun>> map(const Inode& in) const {
    std::vector<FileRun> runs;
    if (in.format == kFmtExtents) {
      if (in.nextents > in.fork_size / 16)
        return Error::corrupt(fmt::format("xfs: inode {}: {} extents do not fit the fork", in.number, in.nextents));
      for (std::uint64_t i = 0; i < in.nextents; ++i)
        runs.push_back(IG_TRY(decode_extent(in, in.fork().data() + i * 16)));
    } else if (in.format == kFmtBtree) {
      // The root (xfs_bmdr_block) sits in the fork: level, numrecs, then keys and pointers.
      const auto f = in.fork();
      if (f.size() < 4) return Error::corrupt(fmt::format("xfs: inode {}: btree root too small", in.number));
      const std::uint16_t level = load_be_ptr<std::uint16_t>(f.data());
      const std::uint16_t numrecs = load_be_ptr<std::uint16_t>(f.data() + 2);
      const std::size_t maxrecs = (f.size() - 4) / 16;
      if (level == 0 || level > kMaxBtreeDepth || numrecs > maxrecs)
        return Error::corrupt(
            fmt::format("xfs: inode {}: btree root level {} with {} records", in.number, level, numrecs));
      // Blocks read: many pointers at one shared block add no extents, so only this bounds such
      // a tree (the loop audit of 2026-12-07).
      std::uint64_t blocks_read = 0;
      for (std::uint16_t i = 0; i < numrecs; ++i) {
        const std::uint64_t ptr = load_be_ptr<std::uint64_t>(f.data() + 4 + maxrecs * 8 + std::size_t{i} * 8);
        IG_TRY(walk_btree(in, ptr, level - 1, runs, blocks_read));
      }
    } else if (in.format != kFmtLocal) {
      return Error::corrupt(fmt::format("xfs: inode {}: data fork format {}", in.number, in.format));
    }
    if (runs.size() > limits_.max_extents_per_file)
      return Error::limit_exceeded(fmt::format("xfs: inode {}: too many extents", in.number));
    std::sort(runs.begin(), runs.end(), [](const FileRun& a, const FileRun& b) { return a.logical < b.logical; });
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (runs[i - 1].logical + runs[i - 1].count > runs[i].logical)
        return Error::corrupt(fmt::format("xfs: inode {}: extents overlap", in.number));
    }
    return runs;
  }

  Result<void> walk_btree(const Inode& in, std::uint64_t fsblock, std::uint32_t level, std::vector<FileRun>& runs,
                          std::uint64_t& blocks_read) const {
    if (++blocks_read > limits_.max_tree_nodes_per_walk) {
      return Error::limit_exceeded(
          fmt::format("xfs: inode {}: more than {} extent btree blocks", in.number, limits_.max_tree_nodes_per_walk));
    }
    const std::uint64_t agno = fsblock >> g_.agblklog;
    const std::uint64_t agbno = fsblock & ((std::uint64_t{1} << g_.agblklog) - 1);
    if (agno >= g_.agcount || agbno >= g_.agblocks)
      return Error::corrupt(fmt::format("xfs: inode {}: btree block {:#x} out of bounds", in.number, fsblock));
    std::vector<std::byte> b = IG_TRY(read_vector(*dev_, (agno * g_.agblocks + agbno) * g_.blocksize, g_.blocksize));
    const std::string_view magic = as_chars(std::span<const std::byte>(b).first(4));
    if (magic != (g_.v5 ? "BMA3" : "BMAP"))
      return Error::corrupt(fmt::format("xfs: inode {}: btree block magic '{}'", in.number, printable(magic)));
    const std::size_t header = g_.v5 ? 72 : 24;
    const std::uint16_t blevel = load_be_ptr<std::uint16_t>(b.data() + 4);
    const std::uint16_t numrecs = load_be_ptr<std::uint16_t>(b.data() + 6);
    if (blevel != level)
      return Error::corrupt(fmt::format("xfs: inode {}: btree block level {}, expected {}", in.number, blevel, level));
    if (level == 0) {
      if (header + std::size_t{numrecs} * 16 > b.size())
        return Error::corrupt(fmt::format("xfs: inode {}: btree leaf overflows", in.number));
      for (std::uint16_t i = 0; i < numrecs; ++i) {
        runs.push_back(IG_TRY(decode_extent(in, b.data() + header + std::size_t{i} * 16)));
        if (runs.size() > limits_.max_extents_per_file)
          return Error::limit_exceeded(fmt::format("xfs: inode {}: too many extents", in.number));
      }
      return ok();
    }
    const std::size_t maxrecs = (b.size() - header) / 16;
    if (numrecs > maxrecs) return Error::corrupt(fmt::format("xfs: inode {}: btree node overflows", in.number));
    for (std::uint16_t i = 0; i < numrecs; ++i) {
      IG_TRY(walk_btree(in, load_be_ptr<std::uint64_t>(b.data() + header + maxrecs * 8 + std::size_t{i} * 8), level - 1,
                        runs, blocks_read));
    }
    return ok();
  }

  // Shortform directory in the inode: count, i8count, parent, then entries.
  Result<void> parse_shortform(const Inode& in, std::vector<DirEntry>& out) const {
    ByteReader r(in.fork().first(static_cast<std::size_t>(std::min<std::uint64_t>(in.size, in.fork_size))),
                 "xfs shortform directory");
    const std::uint8_t count = IG_TRY(r.u8());
    const std::uint8_t i8count = IG_TRY(r.u8());
    const std::size_t inum_size = i8count != 0 ? 8 : 4;
    IG_TRY(r.skip(inum_size));  // parent
    for (std::uint32_t i = 0; i < (i8count != 0 ? i8count : count); ++i) {
      const std::uint8_t namelen = IG_TRY(r.u8());
      IG_TRY(r.skip(2));  // offset tag
      const auto name = IG_TRY(r.bytes(namelen));
      if (g_.ftype) IG_TRY(r.skip(1));
      std::uint64_t ino = 0;
      if (inum_size == 8) {
        ino = IG_TRY(r.be64());
      } else {
        ino = IG_TRY(r.be32());
      }
      if (namelen == 0) return Error::corrupt(fmt::format("xfs: shortform directory {}: empty name", in.number));
      out.push_back(DirEntry{std::string(as_chars(name)), ino});
    }
    return ok();
  }

  // A directory data block (or the data part of a single-block directory): header, then entries
  // and unused regions; a block directory ends with its leaf array and a tail.
  Result<void> parse_data_block(std::span<const std::byte> b, std::uint64_t dir, std::vector<DirEntry>& out) const {
    const std::string_view magic = as_chars(b.first(4));
    std::size_t end = b.size();
    std::size_t pos;
    if (magic == "XDB3" || magic == "XD2B") {
      // Block directory: tail (count, stale) at the very end, leaf entries (8 bytes) before it.
      const std::uint32_t count = load_be_ptr<std::uint32_t>(b.data() + b.size() - 8);
      if (std::uint64_t{count} * 8 + 8 > b.size())
        return Error::corrupt(fmt::format("xfs: directory {}: block tail count {}", dir, count));
      end = b.size() - 8 - std::size_t{count} * 8;
    } else if (magic != "XDD3" && magic != "XD2D") {
      return Error::corrupt(fmt::format("xfs: directory {}: data block magic '{}'", dir, printable(magic)));
    }
    pos = (magic == "XDB3" || magic == "XDD3") ? 64 : 16;
    while (pos + 8 <= end) {
      if (load_be_ptr<std::uint16_t>(b.data() + pos) == 0xffff) {  // an unused region: freetag, length
        const std::uint16_t len = load_be_ptr<std::uint16_t>(b.data() + pos + 2);
        if (len < 8 || len % 8 != 0 || pos + len > end)
          return Error::corrupt(fmt::format("xfs: directory {}: unused region of {} bytes at {}", dir, len, pos));
        pos += len;
        continue;
      }
      const std::uint64_t ino = load_be_ptr<std::uint64_t>(b.data() + pos);
      const auto namelen = std::to_integer<std::uint8_t>(b[pos + 8]);
      const std::size_t entry =
          static_cast<std::size_t>(align_up(std::uint64_t{11} + namelen + (g_.ftype ? 1u : 0u), 8));
      if (namelen == 0 || pos + entry > end)
        return Error::corrupt(fmt::format("xfs: directory {}: entry at {} overflows", dir, pos));
      std::string name(as_chars(b.subspan(pos + 9, namelen)));
      if (name != "." && name != "..") {
        if (out.size() >= limits_.max_dir_entries)
          return Error::limit_exceeded(fmt::format("xfs: directory {} too large", dir));
        out.push_back(DirEntry{std::move(name), ino});
      }
      pos += entry;
    }
    return ok();
  }

  SourcePtr dev_;
  Geometry g_;
  FsLimits limits_;
};

}  // namespace

bool probe(const ByteSource& dev) {
  std::array<std::byte, 4> m{};
  return dev.size() >= 512 && dev.read_at(0, m) && as_chars(m) == "XFSB";
}

Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits) {
  if (dev->size() < 512) return Error::corrupt("xfs: device too small for a superblock");
  std::array<std::byte, 512> s{};
  IG_TRY(dev->read_at(0, s));
  if (text_at<0, 4>(s) != "XFSB") return Error::corrupt("xfs superblock: bad magic");
  Geometry g;
  g.blocksize = load_be<std::uint32_t, kSbBlocksize>(s);
  g.dblocks = load_be<std::uint64_t, kSbDblocks>(s);
  g.rootino = load_be<std::uint64_t, kSbRootino>(s);
  g.agblocks = load_be<std::uint32_t, kSbAgblocks>(s);
  g.agcount = load_be<std::uint32_t, kSbAgcount>(s);
  const std::uint16_t version = load_be<std::uint16_t, kSbVersionnum>(s) & kVersionNumBits;
  const std::uint16_t sectsize = load_be<std::uint16_t, kSbSectsize>(s);
  g.inodesize = load_be<std::uint16_t, kSbInodesize>(s);
  const std::uint16_t inopblock = load_be<std::uint16_t, kSbInopblock>(s);
  g.blocklog = load_be<std::uint8_t, kSbBlocklog>(s);
  const std::uint8_t inodelog = load_be<std::uint8_t, kSbInodelog>(s);
  g.inopblog = load_be<std::uint8_t, kSbInopblog>(s);
  g.agblklog = load_be<std::uint8_t, kSbAglog>(s);
  g.dirblklog = load_be<std::uint8_t, kSbDirblklog>(s);
  const std::string_view fname = as_chars(std::span<const std::byte>(s).subspan(kSbFname, 12));
  g.label = printable(fname.substr(0, fname.find('\0')));
  g.v5 = version == 5;
  if (version != 4 && version != 5)
    return Error::unsupported(fmt::format("xfs superblock: version {} (4 and 5 are read)", version));
  if (g.blocklog < 9 || g.blocklog > 16 || g.blocksize != (1u << g.blocklog)) {
    return Error::corrupt(fmt::format("xfs superblock: sb_blocksize {} / sb_blocklog {}", g.blocksize, g.blocklog));
  }
  if (sectsize < 512 || sectsize > g.blocksize || !is_power_of_two(sectsize))
    return Error::corrupt(fmt::format("xfs superblock: sb_sectsize {}", sectsize));
  if (inodelog < 8 || inodelog > 11 || g.inodesize != (1u << inodelog) || g.inodesize > g.blocksize) {
    return Error::corrupt(fmt::format("xfs superblock: sb_inodesize {}", g.inodesize));
  }
  if (inopblock != g.blocksize / g.inodesize || g.inopblog != g.blocklog - inodelog) {
    return Error::corrupt(fmt::format("xfs superblock: sb_inopblock {} / sb_inopblog {}", inopblock, g.inopblog));
  }
  if (g.agblocks == 0 || g.agcount == 0 || g.agblklog > 31 || (std::uint64_t{1} << g.agblklog) < g.agblocks ||
      g.dirblklog > 8) {
    return Error::corrupt(
        fmt::format("xfs superblock: sb_agblocks {} sb_agcount {} sb_agblklog {}", g.agblocks, g.agcount, g.agblklog));
  }
  if (std::uint64_t{g.agcount} * g.agblocks < g.dblocks)
    return Error::corrupt("xfs superblock: the allocation groups do not cover sb_dblocks");
  // Every device byte an inode or extent names, (agno * agblocks + agbno) * blocksize, then fits
  // in 64 bits: past this, a wrapped product pointed at some other place of the device.
  if (std::uint64_t{g.agcount} * g.agblocks > UINT64_MAX / g.blocksize) {
    return Error::corrupt(fmt::format("xfs superblock: {} allocation groups of {} blocks of {} bytes overflow 64 bits",
                                      g.agcount, g.agblocks, g.blocksize));
  }
  if (g.v5) {
    std::array<std::byte, 512> copy = s;
    store_le<std::uint32_t, kSbCrc>(copy, 0);
    const std::uint32_t computed =
        ~crc32c_update(~0u, std::span<const std::byte>(copy).first(sectsize > 512 ? 512 : sectsize));
    const std::uint32_t stored = load_le<std::uint32_t, kSbCrc>(s);
    if (checksum_refuses(stored != computed))
      return Error::corrupt(fmt::format("xfs superblock: CRC {:#x}, computed {:#x}", stored, computed));
    const std::uint32_t incompat = load_be<std::uint32_t, kSbFeaturesIncompat>(s);
    if ((incompat & ~kIncompatKnown) != 0)
      return Error::unsupported(
          fmt::format("xfs superblock: unknown incompatible features {:#x}", incompat & ~kIncompatKnown));
    g.ftype = (incompat & kIncompatFtype) != 0;
    g.uuid = uuid_string(
        std::span<const std::byte, 16>(s.data() + ((incompat & kIncompatMetaUuid) != 0 ? kSbMetaUuid : kSbUuid), 16));
  } else {
    g.ftype = (load_be<std::uint32_t, kSbFeatures2>(s) & kFeat2Ftype) != 0;
    g.uuid = uuid_string(std::span<const std::byte, 16>(s.data() + kSbUuid, 16));
  }
  return std::unique_ptr<FileSystem>(new XfsFs(std::move(dev), std::move(g), limits));
}

}  // namespace ig::xfs
