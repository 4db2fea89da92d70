// UFS2 images made by makefs (Debian's port of NetBSD's makefs: `makefs -t ffs -o version=2`) from a
// host tree. The oracle is the tree itself: every directory lists as its host directory, every file
// reads byte-identical, symlinks read as their targets. makefs writes every block (no holes), so
// holes and the malformed corpus are made by patching the image at offsets computed from its own
// superblock. Skipped, saying so, where makefs is not installed (scripts/install-deps.sh installs it).
#include "fs/ufs.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "base/bytes.h"
#include "fs/path.h"
#include "fs/probe.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

bool have_makefs() {
  return run("command -v makefs").exit_code == 0;
}

// The few superblock fields a test needs to find an inode or a block, read as the reader does.
struct Layout {
  std::uint64_t sblockloc = 0;
  std::uint32_t fsize = 0, bsize = 0, ipg = 0, fpg = 0, iblkno = 0, inopb = 0, fragshift = 0, ncg = 0;
};

Layout layout(const std::string& image) {
  const std::vector<std::byte> d = read_file(image);
  Layout l;
  for (std::uint64_t at : {65536u, 8192u}) {
    if (d.size() >= at + 1376 && load_le_ptr<std::uint32_t>(d.data() + at + 1372) == 0x19540119) {
      l.sblockloc = at;
      break;
    }
  }
  const std::byte* s = d.data() + l.sblockloc;
  l.ncg = load_le_ptr<std::uint32_t>(s + 44);
  l.bsize = load_le_ptr<std::uint32_t>(s + 48);
  l.fsize = load_le_ptr<std::uint32_t>(s + 52);
  l.fragshift = load_le_ptr<std::uint32_t>(s + 96);
  l.inopb = load_le_ptr<std::uint32_t>(s + 120);
  l.ipg = load_le_ptr<std::uint32_t>(s + 184);
  l.fpg = load_le_ptr<std::uint32_t>(s + 188);
  l.iblkno = load_le_ptr<std::uint32_t>(s + 16);
  return l;
}

// ino_to_fsba / ino_to_fsbo as bytes.
std::uint64_t inode_offset(const Layout& l, std::uint64_t ino) {
  const std::uint64_t frag = (ino / l.ipg) * l.fpg + l.iblkno + (((ino % l.ipg) / l.inopb) << l.fragshift);
  return frag * l.fsize + (ino % l.inopb) * 256;
}

std::uint64_t inode_u64(const std::string& image, const Layout& l, std::uint64_t ino, std::size_t field) {
  const std::vector<std::byte> d = read_file(image);
  return load_le_ptr<std::uint64_t>(d.data() + inode_offset(l, ino) + field);
}

Result<std::unique_ptr<FileSystem>> open_image(const std::string& image) {
  auto file = IG_TRY(FileSource::open(image));
  return ufs::open(std::shared_ptr<const ByteSource>(std::move(file)));
}

// A host tree with what exercises each path of the reader.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "etc");
  fs::create_directories(root / "a/b/c/d");
  fs::create_directories(root / "many");
  fs::create_directories(root / "empty-dir");
  run_ok("printf 'NAME=FreeBSD\\nVERSION_ID=14.1\\n' > " + (root / "etc/os-release").string());
  run_ok("echo deep > " + (root / "a/b/c/d/deep.txt").string());
  run_ok(": > " + (root / "empty").string());
  // 3 blocks and a tail of fragments (4 KiB blocks) / fragments only (8 KiB blocks).
  run_ok("head -c 12988 /dev/urandom > " + (root / "tail.bin").string());
  // 5 MiB: single indirect with 8 KiB blocks, double indirect with 4 KiB blocks (12 + 512 < 1280).
  run_ok("head -c 5242880 /dev/urandom > " + (root / "big5m.bin").string());
  // Mostly zeros: makefs writes them out, the reader must still read them back.
  run_ok("truncate -s 3M " + (root / "sparse").string() + " && printf X | dd of=" + (root / "sparse").string() +
         " bs=1 seek=2000000 conv=notrunc 2>/dev/null");
  run_ok("cd " + (root / "many").string() + " && for i in $(seq -w 0 599); do echo $i > entry-number-$i; done");
  fs::create_symlink("etc/os-release", root / "fast-link");                                 // < 120 bytes: in di_db
  fs::create_symlink(std::string(200, 'x') + "/../../etc/os-release", root / "slow-link");  // in a block
  fs::create_symlink("/a/b/c/d/deep.txt", root / "abs-link");
}

class UfsImages : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!have_makefs()) GTEST_SKIP() << "makefs is not installed (Debian package makefs): no UFS2 fixture";
    root_ = dir_.path() / "root";
    make_tree(root_);
    image_ = dir_.file("ufs.img");
    run_ok("makefs -t ffs -o " + GetParam() + " " + image_ + " " + root_.string() + " 2>&1");
    auto opened = open_image(image_);
    ASSERT_THAT(opened, IsOk());
    fs_ = std::move(*opened);
  }
  std::string host(const fs::path& relative) {
    std::ifstream in(root_ / relative, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  TempDir dir_;
  fs::path root_;
  std::string image_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_P(UfsImages, IdentifiedAsUfs) {
  auto file = FileSource::open(image_);
  ASSERT_THAT(file, IsOk());
  auto id = identify(**file);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->kind, VolumeKind::kUfs);
  EXPECT_EQ(id->name, "ufs");
  auto opened = open_filesystem(std::shared_ptr<const ByteSource>(std::move(*file)), *id, FsLimits{});
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ((*opened)->kind(), "ufs2");
  EXPECT_EQ((*opened)->uuid().size(), 16u);
}

// Every directory lists as its host directory; every file reads byte-identical.
TEST_P(UfsImages, TreeReadsAsItsSource) {
  std::size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(root_); it != fs::recursive_directory_iterator(); ++it) {
    const std::string guest = "/" + fs::relative(it->path(), root_).string();
    if (it->is_symlink()) continue;
    if (it->is_directory()) {
      auto r = resolve(*fs_, guest);
      ASSERT_THAT(r, IsOk()) << guest;
      auto entries = fs_->list(r->inode);
      ASSERT_THAT(entries, IsOk()) << guest;
      std::set<std::string> ours, theirs;
      for (const auto& e : *entries) ours.insert(e.name);
      for (const auto& e : fs::directory_iterator(it->path())) theirs.insert(e.path().filename().string());
      EXPECT_EQ(ours, theirs) << guest;
      continue;
    }
    auto data = read_guest_file(*fs_, guest, 16 << 20);
    ASSERT_THAT(data, IsOk()) << guest;
    EXPECT_TRUE(*data == host(fs::relative(it->path(), root_))) << guest;
    ++files;
  }
  EXPECT_GT(files, 600u);
  auto root = fs_->list(fs_->root_inode());
  ASSERT_THAT(root, IsOk());
  auto many = resolve(*fs_, "/many");
  ASSERT_THAT(many, IsOk());
  EXPECT_EQ(fs_->list(many->inode)->size(), 600u);
  auto st = fs_->stat(resolve(*fs_, "/big5m.bin")->inode);
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(st->type, FileType::kRegular);
  EXPECT_EQ(st->size, 5242880u);
}

TEST_P(UfsImages, FastAndSlowSymlinks) {
  for (const std::string name : {"fast-link", "slow-link", "abs-link"}) {
    auto r = resolve(*fs_, "/" + name, false);
    ASSERT_THAT(r, IsOk()) << name;
    auto target = fs_->read_link(r->inode);
    ASSERT_THAT(target, IsOk()) << name;
    EXPECT_EQ(*target, fs::read_symlink(root_ / name).string()) << name;
  }
  EXPECT_EQ(*read_guest_file(*fs_, "/fast-link", 4096), host("etc/os-release"));
  EXPECT_EQ(*read_guest_file(*fs_, "/abs-link", 4096), "deep\n");
}

// Holes: a zero block address reads as zeros (makefs never writes one, so one is made).
TEST_P(UfsImages, HolesReadAsZeros) {
  const Layout l = layout(image_);
  const std::uint64_t ino = resolve(*fs_, "/big5m.bin")->inode;
  patch_file(image_, inode_offset(l, ino) + 112 + 2 * 8, le64(0));  // di_db[2]
  auto reopened = open_image(image_);
  ASSERT_THAT(reopened, IsOk());
  auto data = read_guest_file(**reopened, "/big5m.bin", 16 << 20);
  ASSERT_THAT(data, IsOk());
  std::string expected = host("big5m.bin");
  std::fill_n(expected.begin() + 2 * l.bsize, l.bsize, '\0');
  EXPECT_TRUE(*data == expected);
}

INSTANTIATE_TEST_SUITE_P(Makefs, UfsImages, ::testing::Values("version=2", "version=2,bsize=4096,fsize=512"),
                         [](const auto& i) {
                           return i.param == "version=2" ? std::string("Default") : std::string("Blocks4k");
                         });

// makefs images small enough for a test never need a triple indirect block, so one is made: a
// 3 MiB file (4 KiB blocks: 12 direct, 512 single, 244 double indirect) loses its direct and
// single indirect blocks, and its double indirect block moves under a triple indirect block
// written over its old first data block. Its last 244 blocks then read back from the file's
// triple indirect range, and everything before reads as zeros.
TEST(UfsTripleIndirect, ReadsThroughAllThreeLevels) {
  if (!have_makefs()) GTEST_SKIP() << "makefs is not installed (Debian package makefs): no UFS2 fixture";
  TempDir dir;
  const fs::path root = dir.path() / "root";
  fs::create_directories(root);
  run_ok("head -c 3145728 /dev/urandom > " + (root / "f").string());
  const std::string image = dir.file("ufs.img");
  run_ok("makefs -t ffs -o version=2,bsize=4096,fsize=512 " + image + " " + root.string() + " 2>&1");
  const Layout l = layout(image);
  ASSERT_EQ(l.bsize, 4096u);
  const std::uint64_t ino = resolve(**open_image(image), "/f")->inode;
  const std::uint64_t inode = inode_offset(l, ino);
  const std::uint64_t first_data = inode_u64(image, l, ino, 112);  // di_db[0]
  const std::uint64_t double_indirect = inode_u64(image, l, ino, 208 + 8);
  ASSERT_NE(double_indirect, 0u);
  std::vector<std::byte> triple(4096);
  store_le_ptr<std::uint64_t>(triple.data(), double_indirect);
  patch_file(image, first_data * l.fsize, triple);
  for (std::size_t i = 0; i < 12; ++i) patch_file(image, inode + 112 + i * 8, le64(0));
  patch_file(image, inode + 208, le64(0));                // di_ib[0]
  patch_file(image, inode + 208 + 8, le64(0));            // di_ib[1]
  patch_file(image, inode + 208 + 16, le64(first_data));  // di_ib[2]
  const std::uint64_t triple_first = 12 + 512 + 512 * 512;
  patch_file(image, inode + 16, le64((triple_first + 244) * 4096));  // di_size
  auto fs = open_image(image);
  ASSERT_THAT(fs, IsOk());
  auto file = (*fs)->open(ino);
  ASSERT_THAT(file, IsOk());
  std::vector<std::byte> tail(244 * 4096);
  ASSERT_THAT((*file)->read_at(triple_first * 4096, tail), IsOk());
  const std::vector<std::byte> host = read_file((root / "f").string());
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), host.begin() + 524 * 4096));
  std::vector<std::byte> head(1 << 20, std::byte{1});
  ASSERT_THAT((*file)->read_at(0, head), IsOk());
  EXPECT_TRUE(all_zero(head));
}

class UfsMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_makefs()) GTEST_SKIP() << "makefs is not installed (Debian package makefs): no UFS2 fixture";
    const fs::path root = dir_.path() / "root";
    fs::create_directories(root / "dir");
    run_ok("head -c 1048576 /dev/urandom > " + (root / "big.bin").string());
    run_ok("echo hi > " + (root / "dir/hi").string());
    image_ = dir_.file("ufs.img");
    run_ok("makefs -t ffs -o version=2,bsize=4096,fsize=512 " + image_ + " " + root.string() + " 2>&1");
    l_ = layout(image_);
    auto fs = open_image(image_);
    ASSERT_THAT(fs, IsOk());
    big_ = resolve(**fs, "/big.bin")->inode;
  }
  TempDir dir_;
  std::string image_;
  Layout l_;
  std::uint64_t big_ = 0;
};

TEST_F(UfsMalformed, BadMagic) {
  patch_file(image_, l_.sblockloc + 1372, le32(0x12345678));
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "no UFS2 magic"));
}

TEST_F(UfsMalformed, InterruptedNewfs) {
  patch_file(image_, l_.sblockloc + 1372, le32(0x19960408));
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "FS_BAD_MAGIC"));
}

TEST_F(UfsMalformed, SuperblockFieldsChecked) {
  patch_file(image_, l_.sblockloc + 48, le32(3000));  // fs_bsize
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "fs_bsize 3000"));
  patch_file(image_, l_.sblockloc + 48, le32(1u << 30));
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "fs_bsize 1073741824"));
  patch_file(image_, l_.sblockloc + 48, le32(l_.bsize));
  patch_file(image_, l_.sblockloc + 184, le32(0));  // fs_ipg: a divisor
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "fs_ipg 0"));
  patch_file(image_, l_.sblockloc + 184, le32(l_.ipg));
  patch_file(image_, l_.sblockloc + 16, le32(l_.fpg));  // fs_iblkno past the cylinder group
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "fs_iblkno"));
}

TEST_F(UfsMalformed, FragmentAddressesThatOverflowSixtyFourBits) {
  // 2^25 cylinder groups of 2^31 fragments of 512 bytes, fs_size inside the last group: every other
  // field agrees, and fragment addresses times 512 wrapped to some other place of the device.
  patch_file(image_, l_.sblockloc + 44, le32(1u << 25));                       // fs_ncg
  patch_file(image_, l_.sblockloc + 184, le32(112));                           // fs_ipg: 2^25 x 112 inodes fit 32 bits
  patch_file(image_, l_.sblockloc + 188, le32(1u << 31));                      // fs_fpg
  patch_file(image_, l_.sblockloc + 1080, le64((1ull << 56) - (1ull << 30)));  // fs_size
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt,
                                           "fs_ncg 33554432 x fs_fpg 2147483648 fragments of "
                                           "512 bytes overflow 64 bits"));
}

TEST_F(UfsMalformed, BigEndianAndUfs1Refused) {
  patch_file(image_, l_.sblockloc + 1372, be32(0x19540119));
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kUnsupported, "big-endian"));
  const fs::path root = dir_.path() / "root";
  const std::string v1 = dir_.file("ufs1.img");
  run_ok("makefs -t ffs -o version=1 " + v1 + " " + root.string() + " 2>&1");
  EXPECT_THAT(open_image(v1), HasError(ErrorCode::kUnsupported, "UFS1"));
  auto file = FileSource::open(v1);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(identify(**file)->kind, VolumeKind::kUfs);  // named, even though not read
}

TEST_F(UfsMalformed, InodeNumbersBounded) {
  auto fs = open_image(image_);
  ASSERT_THAT(fs, IsOk());
  const std::uint64_t inodes = std::uint64_t{l_.ncg} * l_.ipg;
  EXPECT_THAT((*fs)->stat(inodes), HasError(ErrorCode::kCorrupt, "out of range"));
  EXPECT_THAT((*fs)->stat(0), HasError(ErrorCode::kCorrupt, "out of range"));
  EXPECT_THAT((*fs)->stat(inodes - 1), HasError(ErrorCode::kCorrupt, "not in use"));
}

TEST_F(UfsMalformed, IndirectBlockOutsideTheFileSystem) {
  patch_file(image_, inode_offset(l_, big_) + 208, le64(0x7fffffffffffULL));  // di_ib[0]
  auto fs = open_image(image_);
  ASSERT_THAT(fs, IsOk());
  EXPECT_THAT((*fs)->open(big_), HasError(ErrorCode::kCorrupt, "indirect block at fragment 140737488355327 outside"));
}

TEST_F(UfsMalformed, DataBlockMisalignedOrOutside) {
  const std::uint64_t db0 = inode_u64(image_, l_, big_, 112);
  patch_file(image_, inode_offset(l_, big_) + 112, le64(db0 + 1));
  auto fs = open_image(image_);
  ASSERT_THAT(fs, IsOk());
  EXPECT_THAT((*fs)->open(big_), HasError(ErrorCode::kCorrupt, "not block-aligned"));
  patch_file(image_, inode_offset(l_, big_) + 112, le64(~0ULL));
  EXPECT_THAT((*open_image(image_))->open(big_), HasError(ErrorCode::kCorrupt, "outside the file system"));
  // A 700-byte file's only block is 2 fragments; at the last fragment of a block it would cross.
  auto fs2 = open_image(image_);
  const std::uint64_t small = resolve(**fs2, "/dir/hi")->inode;
  const std::uint64_t small_db0 = inode_u64(image_, l_, small, 112);
  patch_file(image_, inode_offset(l_, small) + 16, le64(700));  // di_size: 2 fragments of 512
  patch_file(image_, inode_offset(l_, small) + 112, le64(small_db0 - small_db0 % 8 + 7));
  EXPECT_THAT((*open_image(image_))->open(small), HasError(ErrorCode::kCorrupt, "of 2 fragments"));
}

TEST_F(UfsMalformed, BlockCountsAgainstDiBlocks) {
  patch_file(image_, inode_offset(l_, big_) + 24, le64(8));  // di_blocks: 4 KiB for a 1 MiB file
  EXPECT_THAT((*open_image(image_))->open(big_), HasError(ErrorCode::kCorrupt, "more than di_blocks 8"));
  patch_file(image_, inode_offset(l_, big_) + 24, le64(~0ULL >> 1));
  EXPECT_THAT((*open_image(image_))->open(big_), HasError(ErrorCode::kCorrupt, "exceeds the device"));
  patch_file(image_, inode_offset(l_, big_) + 16, le64(~0ULL >> 2));  // di_size past triple indirect
  EXPECT_THAT((*open_image(image_))->open(big_), HasError(ErrorCode::kCorrupt, "beyond the triple indirect"));
}

TEST_F(UfsMalformed, DirectoryListingsAreBoundedInBytes) {
  // Empty 512-byte chunks add no entries and the block pointers may all name one block: only the
  // size bounds a listing, ~10^9 chunk reads for this one (the review of 2026-12-07).
  patch_file(image_, inode_offset(l_, 2) + 16, le64(std::uint64_t{1} << 40));  // the root's di_size
  EXPECT_THAT((*open_image(image_))->list(2),
              HasError(ErrorCode::kLimitExceeded, "of 1099511627776 bytes, more than the 268435456 read"));
}

TEST_F(UfsMalformed, DirectoryRecordLengths) {
  const std::uint64_t root_block = inode_u64(image_, l_, 2, 112);  // di_db[0] of the root directory
  const std::uint64_t at = root_block * l_.fsize;
  const std::vector<std::byte> original = read_file(image_);
  patch_file(image_, at + 4, {std::byte{0}, std::byte{0}});  // "." d_reclen 0
  EXPECT_THAT((*open_image(image_))->list(2), HasError(ErrorCode::kCorrupt, "d_reclen 0"));
  patch_file(image_, at + 4, {std::byte{0x00}, std::byte{0x04}});  // 1024: past the 512-byte block
  EXPECT_THAT((*open_image(image_))->list(2), HasError(ErrorCode::kCorrupt, "d_reclen 1024"));
  patch_file(image_, at + 4, {std::byte{0x0c}, std::byte{0x00}});  // "." record of 12: ".." follows
  patch_file(image_, at + 12 + 7, {std::byte{0xff}});              // "..": d_namlen 255 > its record
  EXPECT_THAT((*open_image(image_))->list(2), HasError(ErrorCode::kCorrupt, "name of 255 bytes"));
  write_file(image_, original);
  auto fs = open_image(image_);
  EXPECT_THAT((*fs)->list(big_), HasError(ErrorCode::kInvalidArgument, "not a directory"));
}

}  // namespace
}  // namespace ig::test
