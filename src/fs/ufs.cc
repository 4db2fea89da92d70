// UFS2 reader after FreeBSD's sys/ufs/ffs/fs.h (struct fs, 1376 bytes), sys/ufs/ufs/dinode.h
// (struct ufs2_dinode, 256 bytes) and sys/ufs/ufs/dir.h (struct direct). See docs/formats/ufs.md.
// Every field is little-endian (big-endian UFS is refused).
//
// Addresses on disk are in fragments (fs_fsize bytes). A file's logical block n (fs_bsize bytes)
// is di_db[n] for n < 12, then reached through di_ib[0] (single), di_ib[1] (double) and di_ib[2]
// (triple indirect), each indirect block holding fs_nindir 64-bit addresses; 0 is a hole. The last
// block of a file shorter than 12 blocks may be a run of fragments only.
#include "fs/ufs.h"

#include <algorithm>
#include <array>
#include <bit>

#include "base/bytes.h"
#include "base/checked.h"
#include "fs/mapped_source.h"

namespace ig::ufs {
namespace {

// Superblock search, as FreeBSD's ffs_sbsearch: 64 KiB first, then 8 KiB. A UFS2 superblock is
// only believed where its own fs_sblockloc says it is.
constexpr std::uint64_t kSblockUfs2 = 65536;
constexpr std::uint64_t kSblockUfs1 = 8192;
constexpr std::size_t kSbSize = 1376;

constexpr std::uint32_t kUfs2Magic = 0x19540119;
constexpr std::uint32_t kUfs1Magic = 0x00011954;
constexpr std::uint32_t kBadMagic = 0x19960408;  // FS_BAD_MAGIC: an interrupted newfs

// struct fs.
constexpr std::size_t kFsSblkno = 8;
constexpr std::size_t kFsIblkno = 16;
constexpr std::size_t kFsNcg = 44;
constexpr std::size_t kFsBsize = 48;
constexpr std::size_t kFsFsize = 52;
constexpr std::size_t kFsFrag = 56;
constexpr std::size_t kFsBshift = 80;
constexpr std::size_t kFsFshift = 84;
constexpr std::size_t kFsFragshift = 96;
constexpr std::size_t kFsNindir = 116;
constexpr std::size_t kFsInopb = 120;
constexpr std::size_t kFsId = 144;
constexpr std::size_t kFsIpg = 184;
constexpr std::size_t kFsFpg = 188;
constexpr std::size_t kFsVolname = 680;
constexpr std::size_t kFsSblockloc = 1000;
constexpr std::size_t kFsSize = 1080;
constexpr std::size_t kFsMaxsymlinklen = 1320;
constexpr std::size_t kFsMagic = 1372;

// struct ufs2_dinode.
constexpr std::size_t kDinodeSize = 256;
constexpr std::size_t kDiMode = 0;
constexpr std::size_t kDiUid = 4;
constexpr std::size_t kDiGid = 8;
constexpr std::size_t kDiSize = 16;
constexpr std::size_t kDiBlocks = 24;
constexpr std::size_t kDiMtime = 40;
constexpr std::size_t kDiDb = 112;
constexpr std::size_t kDiIb = 208;
constexpr std::uint32_t kNdaddr = 12;
constexpr std::uint32_t kNiaddr = 3;
constexpr std::uint32_t kMaxShortLink = (kNdaddr + kNiaddr) * 8;  // UFS2_MAXSYMLINKLEN: 120

constexpr std::uint64_t kRootIno = 2;         // UFS_ROOTINO
constexpr std::uint64_t kDirBlockSize = 512;  // DIRBLKSIZ: a record never crosses one

struct Geometry {
  std::uint64_t sblockloc = 0;
  std::uint32_t ncg = 0;
  std::uint32_t bsize = 0;
  std::uint32_t fsize = 0;
  std::uint32_t frag = 0;
  std::uint32_t fragshift = 0;
  std::uint32_t nindir = 0;
  std::uint32_t inopb = 0;
  std::uint32_t ipg = 0;
  std::uint32_t fpg = 0;
  std::uint32_t iblkno = 0;
  std::uint32_t maxsymlinklen = 0;
  std::uint64_t size_frags = 0;  // fs_size
  std::string label;
  std::string uuid;
};

struct Inode {
  std::uint64_t number = 0;
  std::array<std::byte, kDinodeSize> raw{};
  std::uint16_t mode = 0;
  std::uint64_t size = 0;
  std::uint64_t blocks = 0;  // di_blocks: 512-byte units allocated, indirect blocks included
  FileType type() const {
    switch (mode & 0xf000) {
      case 0x8000: return FileType::kRegular;
      case 0x4000: return FileType::kDirectory;
      case 0xa000: return FileType::kSymlink;
      default: return FileType::kOther;
    }
  }
  std::uint64_t db(std::size_t i) const { return load_le_ptr<std::uint64_t>(raw.data() + kDiDb + i * 8); }
  std::uint64_t ib(std::size_t i) const { return load_le_ptr<std::uint64_t>(raw.data() + kDiIb + i * 8); }
};

class UfsFs final : public FileSystem {
 public:
  UfsFs(SourcePtr dev, Geometry g, const FsLimits& limits) : dev_(std::move(dev)), g_(std::move(g)), limits_(limits) {}

  std::string kind() const override { return "ufs2"; }
  std::uint64_t root_inode() const override { return kRootIno; }
  std::string label() const override { return g_.label; }
  std::string uuid() const override { return g_.uuid; }

  Result<FileStat> stat(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    FileStat st;
    st.inode = ino;
    st.type = in.type();
    st.mode = in.mode;
    st.size = in.size;
    st.uid = load_le_ptr<std::uint32_t>(in.raw.data() + kDiUid);
    st.gid = load_le_ptr<std::uint32_t>(in.raw.data() + kDiGid);
    st.mtime = static_cast<std::int64_t>(load_le_ptr<std::uint64_t>(in.raw.data() + kDiMtime));
    return st;
  }

  Result<std::vector<DirEntry>> list(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    if (in.type() != FileType::kDirectory)
      return Error::invalid_argument(fmt::format("ufs: inode {} is not a directory", ino));
    if (in.size % kDirBlockSize != 0)
      return Error::corrupt(fmt::format("ufs: directory inode {}: size {} not a multiple of 512", ino, in.size));
    // Empty chunks add no entries, and the block pointers may all name the same blocks: only the
    // size read bounds a listing.
    if (in.size > limits_.max_dir_bytes) {
      return Error::limit_exceeded(fmt::format("ufs: directory inode {} of {} bytes, more than the {} read", ino,
                                               in.size, limits_.max_dir_bytes));
    }
    const MappedSource contents(dev_, g_.bsize, in.size, IG_TRY(map(in)), fmt::format("ufs inode {}", ino));
    std::vector<DirEntry> out;
    std::array<std::byte, kDirBlockSize> chunk{};
    for (std::uint64_t at = 0; at < in.size; at += kDirBlockSize) {
      IG_TRY(contents.read_at(at, chunk));
      IG_TRY(parse_dir_chunk(chunk, ino, at, out));
    }
    return out;
  }

  Result<std::unique_ptr<ByteSource>> open(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    const std::string name = fmt::format("ufs inode {}", ino);
    if (is_fast_symlink(in)) {
      const auto target = std::span<const std::byte>(in.raw).subspan(kDiDb, static_cast<std::size_t>(in.size));
      return std::unique_ptr<ByteSource>(
          std::make_unique<MappedSource>(std::vector<std::byte>(target.begin(), target.end()), name));
    }
    std::vector<FileRun> runs = IG_TRY(map(in));
    return std::unique_ptr<ByteSource>(std::make_unique<MappedSource>(dev_, g_.bsize, in.size, std::move(runs), name));
  }

  Result<std::string> read_link(std::uint64_t ino) const override {
    const Inode in = IG_TRY(read_inode(ino));
    if (in.type() != FileType::kSymlink)
      return Error::invalid_argument(fmt::format("ufs: inode {} is not a symlink", ino));
    if (in.size > limits_.max_symlink_bytes)
      return Error::limit_exceeded(
          fmt::format("ufs: symlink inode {} is {} bytes, more than {}", ino, in.size, limits_.max_symlink_bytes));
    if (is_fast_symlink(in)) return std::string(as_chars(std::span<const std::byte>(in.raw).subspan(kDiDb, in.size)));
    const MappedSource contents(dev_, g_.bsize, in.size, IG_TRY(map(in)), fmt::format("ufs inode {}", ino));
    std::vector<std::byte> target(static_cast<std::size_t>(in.size));
    IG_TRY(contents.read_at(0, target));
    return std::string(as_chars(target));
  }

 private:
  // FreeBSD keeps a symlink shorter than fs_maxsymlinklen in di_db and di_ib (ufs_readlink).
  bool is_fast_symlink(const Inode& in) const { return in.type() == FileType::kSymlink && in.size < g_.maxsymlinklen; }

  Result<Inode> read_inode(std::uint64_t ino) const {
    const std::uint64_t inodes = std::uint64_t{g_.ncg} * g_.ipg;
    if (ino < kRootIno || ino >= inodes)
      return Error::corrupt(fmt::format("ufs: inode {} out of range [2, {})", ino, inodes));
    // ino_to_fsba: cgimin(ino_to_cg) + blkstofrags((ino % ipg) / INOPB); ino_to_fsbo: ino % INOPB.
    const std::uint64_t cg = ino / g_.ipg;
    const std::uint64_t frag_addr = cg * g_.fpg + g_.iblkno + (((ino % g_.ipg) / g_.inopb) << g_.fragshift);
    const std::uint64_t at = frag_addr * g_.fsize + (ino % g_.inopb) * kDinodeSize;
    if (!range_within(at, kDinodeSize, dev_->size()))
      return Error::corrupt(fmt::format("ufs: inode {} at byte {} lies past the end of the device", ino, at));
    Inode in;
    in.number = ino;
    IG_TRY(dev_->read_at(at, in.raw));
    in.mode = load_le<std::uint16_t, kDiMode>(in.raw);
    in.size = load_le<std::uint64_t, kDiSize>(in.raw);
    in.blocks = load_le<std::uint64_t, kDiBlocks>(in.raw);
    if (in.mode == 0) return Error::corrupt(fmt::format("ufs: inode {} is not in use (di_mode 0)", ino));
    if (in.size > std::uint64_t{INT64_MAX})
      return Error::corrupt(fmt::format("ufs: inode {}: di_size {} is negative", ino, in.size));
    if (is_fast_symlink(in) && in.blocks != 0)
      return Error::corrupt(
          fmt::format("ufs: symlink inode {}: {} bytes inline but di_blocks {}", ino, in.size, in.blocks));
    return in;
  }

  // State of one block-map walk: the runs found and the bytes they and the indirect blocks take,
  // which may not exceed di_blocks (every allocated block is counted there).
  struct Walk {
    const Inode& in;
    std::uint64_t nblocks = 0;  // file blocks covered by di_size
    std::uint64_t budget_bytes = 0;
    std::uint64_t used_bytes = 0;
    std::vector<FileRun> runs;
  };

  Result<void> charge(Walk& w, std::uint64_t bytes) const {
    w.used_bytes += bytes;
    if (w.used_bytes > w.budget_bytes)
      return Error::corrupt(fmt::format("ufs: inode {}: block map allocates more than di_blocks {} ({} bytes)",
                                        w.in.number, w.in.blocks, w.budget_bytes));
    return ok();
  }

  // Checks that `frags` fragments at fragment address `addr` lie inside the file system and inside
  // one block (a whole block on a block boundary), as FFS allocates them.
  Result<void> check_extent(const Inode& in, std::uint64_t addr, std::uint64_t frags, std::string_view what) const {
    if (addr >= g_.size_frags || frags > g_.size_frags - addr)
      return Error::corrupt(fmt::format("ufs: inode {}: {} at fragment {} outside the file system ({} fragments)",
                                        in.number, what, addr, g_.size_frags));
    if (frags == g_.frag && addr % g_.frag != 0)
      return Error::corrupt(fmt::format("ufs: inode {}: {} at fragment {} not block-aligned", in.number, what, addr));
    if (addr % g_.frag + frags > g_.frag)  // a file's tail fragments lie inside one block
      return Error::corrupt(fmt::format("ufs: inode {}: {} of {} fragments at fragment {} crosses a block", in.number,
                                        what, frags, addr));
    return ok();
  }

  Result<void> add_block(Walk& w, std::uint64_t lbn, std::uint64_t addr) const {
    // The tail of a file with only direct blocks may be a run of fragments.
    std::uint64_t bytes = g_.bsize;
    if (lbn < kNdaddr && lbn + 1 == w.nblocks) {
      bytes = align_up(w.in.size - lbn * g_.bsize, g_.fsize);
    }
    IG_TRY(check_extent(w.in, addr, bytes / g_.fsize, "data block"));
    IG_TRY(charge(w, bytes));
    const std::uint64_t device_byte = addr * g_.fsize;
    if (!w.runs.empty()) {
      FileRun& last = w.runs.back();
      if (last.logical + last.count == lbn && *last.device_byte + last.count * g_.bsize == device_byte) {
        ++last.count;
        return ok();
      }
    }
    if (w.runs.size() >= limits_.max_extents_per_file)
      return Error::limit_exceeded(
          fmt::format("ufs: inode {} has more than {} block runs", w.in.number, limits_.max_extents_per_file));
    w.runs.push_back(FileRun{lbn, 1, device_byte});
    return ok();
  }

  // Walks the indirect block at `addr`, of `level` (1: it holds data block addresses), whose first
  // entry maps file block `first`; `span` is the file blocks one of its entries covers.
  Result<void> walk_indirect(Walk& w, std::uint64_t addr, std::uint32_t level, std::uint64_t first,
                             std::uint64_t span) const {
    IG_TRY(check_extent(w.in, addr, g_.frag, "indirect block"));
    IG_TRY(charge(w, g_.bsize));
    const std::uint64_t at = addr * g_.fsize;
    if (!range_within(at, g_.bsize, dev_->size()))
      return Error::corrupt(
          fmt::format("ufs: inode {}: indirect block at byte {} lies past the end of the device", w.in.number, at));
    const std::vector<std::byte> block = IG_TRY(read_vector(*dev_, at, g_.bsize));
    for (std::uint64_t i = 0; i < g_.nindir; ++i) {
      const std::uint64_t lbn = first + i * span;
      if (lbn >= w.nblocks) break;
      const std::uint64_t child = load_le_ptr<std::uint64_t>(block.data() + i * 8);
      if (child == 0) continue;  // a hole
      if (level == 1) {
        IG_TRY(add_block(w, lbn, child));
      } else {
        IG_TRY(walk_indirect(w, child, level - 1, lbn, span / g_.nindir));
      }
    }
    return ok();
  }

  Result<std::vector<FileRun>> map(const Inode& in) const {
    if (is_fast_symlink(in)) return std::vector<FileRun>{};
    Walk w{in, 0, 0, 0, {}};
    w.nblocks = div_round_up(in.size, g_.bsize);
    // The most blocks the three indirection levels can reach (fs_nindir <= 8192: no overflow).
    const std::uint64_t n = g_.nindir;
    if (w.nblocks > kNdaddr + n + n * n + n * n * n)
      return Error::corrupt(
          fmt::format("ufs: inode {}: di_size {} beyond the triple indirect block", in.number, in.size));
    if (in.blocks > dev_->size() / 512)
      return Error::corrupt(
          fmt::format("ufs: inode {}: di_blocks {} exceeds the device ({} bytes)", in.number, in.blocks, dev_->size()));
    w.budget_bytes = in.blocks * 512;
    for (std::uint64_t lbn = 0; lbn < kNdaddr && lbn < w.nblocks; ++lbn) {
      if (const std::uint64_t addr = in.db(lbn); addr != 0) IG_TRY(add_block(w, lbn, addr));
    }
    std::uint64_t first = kNdaddr;
    std::uint64_t span = 1;  // file blocks one entry of the level's top indirect block maps
    for (std::uint32_t level = 1; level <= kNiaddr && first < w.nblocks; ++level) {
      if (const std::uint64_t addr = in.ib(level - 1); addr != 0) IG_TRY(walk_indirect(w, addr, level, first, span));
      first += span * n;
      span *= n;
    }
    return std::move(w.runs);
  }

  // One DIRBLKSIZ chunk of a directory: struct direct records (d_ino, d_reclen, d_type, d_namlen,
  // d_name NUL-terminated, padded to 4) that exactly fill it; d_ino 0 marks an unused record.
  Result<void> parse_dir_chunk(std::span<const std::byte> chunk, std::uint64_t dir, std::uint64_t chunk_at,
                               std::vector<DirEntry>& out) const {
    std::size_t pos = 0;
    while (pos < chunk.size()) {
      if (chunk.size() - pos < 8)
        return Error::corrupt(
            fmt::format("ufs: directory {}: record header at byte {} crosses a 512-byte block", dir, chunk_at + pos));
      const std::uint32_t d_ino = load_le_ptr<std::uint32_t>(chunk.data() + pos);
      const std::uint16_t reclen = load_le_ptr<std::uint16_t>(chunk.data() + pos + 4);
      const auto namlen = std::to_integer<std::uint8_t>(chunk[pos + 7]);
      const std::size_t needed = align_up(8 + std::size_t{namlen} + 1, 4);  // DIRECTSIZ
      if (reclen == 0 || reclen % 4 != 0 || reclen > chunk.size() - pos || (d_ino != 0 && reclen < needed)) {
        return Error::corrupt(fmt::format("ufs: directory {}: record at byte {} has d_reclen {} (name of {} bytes)",
                                          dir, chunk_at + pos, reclen, namlen));
      }
      if (d_ino != 0) {
        const std::string_view name = as_chars(chunk.subspan(pos + 8, namlen));
        if (namlen == 0 || name.find('\0') != std::string_view::npos || name.find('/') != std::string_view::npos ||
            chunk[pos + 8 + namlen] != std::byte{0}) {
          return Error::corrupt(
              fmt::format("ufs: directory {}: bad name '{}' at byte {}", dir, printable(name), chunk_at + pos));
        }
        if (name != "." && name != "..") {
          if (out.size() >= limits_.max_dir_entries)
            return Error::limit_exceeded(
                fmt::format("ufs: directory {} has more than {} entries", dir, limits_.max_dir_entries));
          out.push_back(DirEntry{std::string(name), d_ino});
        }
      }
      pos += reclen;
    }
    return ok();
  }

  SourcePtr dev_;
  Geometry g_;
  FsLimits limits_;
};

unsigned log2_exact(std::uint64_t v) {
  return static_cast<unsigned>(std::countr_zero(v));
}

Result<std::array<std::byte, kSbSize>> read_sb(const ByteSource& dev, std::uint64_t at) {
  std::array<std::byte, kSbSize> s{};
  if (!range_within(at, kSbSize, dev.size())) return s;  // all zero: no magic
  IG_TRY(dev.read_at(at, s));
  return s;
}

}  // namespace

Flavor probe(const ByteSource& dev) {
  for (const std::uint64_t at : {kSblockUfs2, kSblockUfs1}) {
    const auto s = read_sb(dev, at);
    if (!s) return Flavor::kNone;
    const std::uint32_t magic = load_le<std::uint32_t, kFsMagic>(*s);
    if (magic == kUfs2Magic && load_le<std::uint64_t, kFsSblockloc>(*s) == at) return Flavor::kUfs2;
    if (magic == byteswap_int(kUfs2Magic)) return Flavor::kUfs2BigEndian;
    if (at == kSblockUfs1 && magic == kUfs1Magic) return Flavor::kUfs1;
    if (at == kSblockUfs1 && magic == byteswap_int(kUfs1Magic)) return Flavor::kUfs1BigEndian;
  }
  return Flavor::kNone;
}

Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits) {
  std::array<std::byte, kSbSize> s{};
  Geometry g;
  bool found = false;
  for (const std::uint64_t at : {kSblockUfs2, kSblockUfs1}) {
    s = IG_TRY(read_sb(*dev, at));
    const std::uint32_t magic = load_le<std::uint32_t, kFsMagic>(s);
    if (magic == kUfs2Magic && load_le<std::uint64_t, kFsSblockloc>(s) == at) {
      g.sblockloc = at;
      found = true;
      break;
    }
    if (magic == byteswap_int(kUfs2Magic) || magic == byteswap_int(kUfs1Magic))
      return Error::unsupported("ufs superblock: big-endian UFS is not read");
    if (at == kSblockUfs1 && magic == kUfs1Magic)
      return Error::unsupported("ufs superblock: UFS1 (fs_magic 0x011954) is not read, only UFS2");
    if (magic == kBadMagic)
      return Error::corrupt(fmt::format("ufs superblock at byte {}: fs_magic FS_BAD_MAGIC (an unfinished newfs)", at));
  }
  if (!found) return Error::corrupt("ufs superblock: no UFS2 magic 0x19540119 at byte 65536 or 8192");

  g.ncg = load_le<std::uint32_t, kFsNcg>(s);
  const auto bsize = static_cast<std::int32_t>(load_le<std::uint32_t, kFsBsize>(s));
  const auto fsize = static_cast<std::int32_t>(load_le<std::uint32_t, kFsFsize>(s));
  const auto frag = static_cast<std::int32_t>(load_le<std::uint32_t, kFsFrag>(s));
  const std::uint32_t bshift = load_le<std::uint32_t, kFsBshift>(s);
  const std::uint32_t fshift = load_le<std::uint32_t, kFsFshift>(s);
  g.fragshift = load_le<std::uint32_t, kFsFragshift>(s);
  g.nindir = load_le<std::uint32_t, kFsNindir>(s);
  g.inopb = load_le<std::uint32_t, kFsInopb>(s);
  g.ipg = load_le<std::uint32_t, kFsIpg>(s);
  g.fpg = load_le<std::uint32_t, kFsFpg>(s);
  const std::uint32_t sblkno = load_le<std::uint32_t, kFsSblkno>(s);
  g.iblkno = load_le<std::uint32_t, kFsIblkno>(s);
  const auto maxsymlinklen = static_cast<std::int32_t>(load_le<std::uint32_t, kFsMaxsymlinklen>(s));
  const auto size_frags = static_cast<std::int64_t>(load_le<std::uint64_t, kFsSize>(s));

  // MINBSIZE 4096 .. MAXBSIZE 65536; at most 8 fragments of at least 512 bytes a block.
  if (bsize < 4096 || bsize > 65536 || !is_power_of_two(static_cast<std::uint64_t>(bsize)) ||
      bshift != log2_exact(static_cast<std::uint64_t>(bsize))) {
    return Error::corrupt(fmt::format("ufs superblock: fs_bsize {} / fs_bshift {}", bsize, bshift));
  }
  if (fsize < 512 || fsize > bsize || !is_power_of_two(static_cast<std::uint64_t>(fsize)) ||
      fshift != log2_exact(static_cast<std::uint64_t>(fsize)) || frag != bsize / fsize || frag > 8 ||
      g.fragshift != log2_exact(static_cast<std::uint64_t>(frag))) {
    return Error::corrupt(fmt::format("ufs superblock: fs_fsize {} / fs_frag {} / fs_fragshift {} for fs_bsize {}",
                                      fsize, frag, g.fragshift, bsize));
  }
  g.bsize = static_cast<std::uint32_t>(bsize);
  g.fsize = static_cast<std::uint32_t>(fsize);
  g.frag = static_cast<std::uint32_t>(frag);
  if (g.nindir != g.bsize / 8 || g.inopb != g.bsize / kDinodeSize) {
    return Error::corrupt(
        fmt::format("ufs superblock: fs_nindir {} / fs_inopb {} for fs_bsize {}", g.nindir, g.inopb, g.bsize));
  }
  if (g.ncg == 0 || g.ipg == 0 || g.ipg % g.inopb != 0 || g.fpg == 0 || g.fpg % g.frag != 0) {
    return Error::corrupt(fmt::format("ufs superblock: fs_ncg {} / fs_ipg {} / fs_fpg {}", g.ncg, g.ipg, g.fpg));
  }
  // Directory entries hold 32-bit inode numbers.
  if (std::uint64_t{g.ncg} * g.ipg > UINT32_MAX)
    return Error::corrupt(fmt::format("ufs superblock: fs_ncg {} x fs_ipg {} inodes overflow", g.ncg, g.ipg));
  // The inode blocks of a cylinder group lie inside it.
  const std::uint64_t inode_frags = std::uint64_t{g.ipg / g.inopb} * g.frag;
  if (sblkno >= g.fpg || g.iblkno >= g.fpg || inode_frags > g.fpg - g.iblkno || g.iblkno % g.frag != 0) {
    return Error::corrupt(
        fmt::format("ufs superblock: fs_iblkno {} with {} inode fragments in fs_fpg {}", g.iblkno, inode_frags, g.fpg));
  }
  if (size_frags <= 0 || static_cast<std::uint64_t>(size_frags) > std::uint64_t{g.ncg} * g.fpg ||
      static_cast<std::uint64_t>(size_frags) <= std::uint64_t{g.ncg - 1} * g.fpg) {
    return Error::corrupt(
        fmt::format("ufs superblock: fs_size {} not covered by fs_ncg {} x fs_fpg {}", size_frags, g.ncg, g.fpg));
  }
  // Every device byte a fragment address names, addr * fs_fsize, then fits in 64 bits: past this, a
  // wrapped product pointed at some other place of the device.
  if (std::uint64_t{g.ncg} * g.fpg > UINT64_MAX / g.fsize) {
    return Error::corrupt(fmt::format("ufs superblock: fs_ncg {} x fs_fpg {} fragments of {} bytes overflow 64 bits",
                                      g.ncg, g.fpg, g.fsize));
  }
  g.size_frags = static_cast<std::uint64_t>(size_frags);
  if (maxsymlinklen < 0 || static_cast<std::uint32_t>(maxsymlinklen) > kMaxShortLink)
    return Error::corrupt(fmt::format("ufs superblock: fs_maxsymlinklen {} not in [0, 120]", maxsymlinklen));
  g.maxsymlinklen = static_cast<std::uint32_t>(maxsymlinklen);

  const std::string_view volname = as_chars(std::span<const std::byte>(s).subspan(kFsVolname, 32));
  g.label = printable(volname.substr(0, volname.find('\0')));
  g.uuid = fmt::format("{:08x}{:08x}", load_le<std::uint32_t, kFsId>(s), load_le<std::uint32_t, kFsId + 4>(s));
  return std::unique_ptr<FileSystem>(new UfsFs(std::move(dev), std::move(g), limits));
}

}  // namespace ig::ufs
