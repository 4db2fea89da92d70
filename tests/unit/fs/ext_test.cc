// ext2/3/4 images built by mke2fs from a real directory tree, in every layout the reader claims
// (block maps, extents, 1 KiB blocks, inline data, 64bit + meta_bg, with and without
// metadata_csum). Every file must read back as the host file and as `debugfs -R cat` returns
// it; symlinks resolve inside the guest; malformations are named.
#include "fs/ext.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/bytes.h"
#include "fs/path.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

struct Layout {
  std::string name;
  std::string mkfs;  // mke2fs arguments
  std::string kind;  // what imagegate should call it
};

std::ostream& operator<<(std::ostream& os, const Layout& l) {
  return os << l.name;
}

const std::vector<Layout> kLayouts = {
    {"ext4_default", "-t ext4", "ext4"},
    {"ext4_1k_blocks", "-t ext4 -b 1024", "ext4"},
    {"ext4_inline_data", "-t ext4 -O inline_data", "ext4"},
    {"ext4_64bit_meta_bg", "-t ext4 -O 64bit,meta_bg,^resize_inode", "ext4"},
    {"ext4_no_csum", "-t ext4 -O ^metadata_csum", "ext4"},
    {"ext3", "-t ext3", "ext3"},
    {"ext2", "-t ext2", "ext2"},
    {"ext2_1k_blocks", "-t ext2 -b 1024", "ext2"},
};

// The guest tree every layout is built from.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "etc");
  fs::create_directories(root / "boot");
  fs::create_directories(root / "usr/share/zoneinfo");
  fs::create_directories(root / "a/b/c");
  fs::create_directories(root / "many");
  run_ok("printf 'ID=debian\\nVERSION_ID=\"12\\\"\\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\\n' > " +
         (root / "etc/os-release").string());
  run_ok("echo guest > " + (root / "etc/hostname").string());
  run_ok("printf tiny > " + (root / "tiny.txt").string());
  run_ok("head -c 3145728 /dev/urandom > " + (root / "boot/big.bin").string());
  run_ok("truncate -s 8M " + (root / "sparse.bin").string() +
         " && printf start | dd of=" + (root / "sparse.bin").string() +
         " conv=notrunc status=none && printf end | dd of=" + (root / "sparse.bin").string() +
         " bs=1 seek=8388000 conv=notrunc status=none");
  run_ok("echo UTC > " + (root / "usr/share/zoneinfo/UTC").string());
  fs::create_symlink("/usr/share/zoneinfo/UTC", root / "etc/localtime");
  fs::create_symlink("../../../etc/hostname", root / "a/b/c/rel");
  fs::create_symlink(std::string("/a/b/c/") + std::string(80, 'x') + "/../../../../etc/os-release", root / "slow");
  fs::create_symlink("loop2", root / "loop1");
  fs::create_symlink("loop1", root / "loop2");
  fs::create_symlink("/etc", root / "a/etc-link");
  std::string cmd = "cd " + (root / "many").string() + " && for i in $(seq -w 0 1999); do echo $i > f$i; done";
  run_ok(cmd);
}

class ExtLayouts : public ::testing::TestWithParam<Layout> {
 protected:
  static void SetUpTestSuite() {
    tree_dir_ = new TempDir();
    make_tree(tree_dir_->path() / "root");
  }
  static void TearDownTestSuite() {
    delete tree_dir_;
    tree_dir_ = nullptr;
  }
  void SetUp() override {
    image_ = dir_.file("fs.img");
    run_ok("mke2fs -q -F " + GetParam().mkfs + " -d " + (tree_dir_->path() / "root").string() + " " + image_ + " 64M");
    auto file = FileSource::open(image_);
    ASSERT_THAT(file, IsOk());
    auto opened = ext::open(std::shared_ptr<const ByteSource>(std::move(*file)));
    ASSERT_THAT(opened, IsOk());
    fs_ = std::move(*opened);
  }
  // The file as debugfs reads it. debugfs 1.47.0 dumps an inline-data file as its whole 60-byte
  // i_block area, so the dump is cut to the size that debugfs's own `stat` reports.
  std::string debugfs_cat(const std::string& path) {
    const TempDir out;
    run_ok("debugfs -R " + shell_quote("dump " + path + " " + out.file("f")) + " " + image_ + " 2>/dev/null");
    std::ifstream in(out.file("f"), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string st = run_ok("debugfs -R " + shell_quote("stat " + path) + " " + image_ + " 2>/dev/null");
    const auto at = st.find("Size: ");
    if (at != std::string::npos) data.resize(std::min<std::size_t>(data.size(), std::stoull(st.substr(at + 6))));
    return data;
  }
  std::string host(const std::string& path) {
    std::ifstream in(tree_dir_->path() / "root" / path.substr(1), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  static TempDir* tree_dir_;
  TempDir dir_;
  std::string image_;
  std::unique_ptr<FileSystem> fs_;
};

TempDir* ExtLayouts::tree_dir_ = nullptr;

TEST_P(ExtLayouts, FilesReadAsTheHostAndDebugfsSeeThem) {
  EXPECT_EQ(fs_->kind(), GetParam().kind);
  for (const std::string path : {"/etc/os-release", "/etc/hostname", "/tiny.txt", "/boot/big.bin", "/sparse.bin",
                                 "/many/f0000", "/many/f1999"}) {
    auto data = read_guest_file(*fs_, path, 16 << 20);
    ASSERT_THAT(data, IsOk()) << path;
    EXPECT_EQ(*data, host(path)) << path;
    EXPECT_EQ(*data, debugfs_cat(path)) << path << " (debugfs)";
  }
}

TEST_P(ExtLayouts, DirectoriesListEveryEntry) {
  auto root = resolve(*fs_, "/");
  ASSERT_THAT(root, IsOk());
  auto entries = fs_->list(root->inode);
  ASSERT_THAT(entries, IsOk());
  std::set<std::string> names;
  for (const auto& e : *entries) names.insert(e.name);
  for (const char* n : {"etc", "boot", "usr", "a", "many", "tiny.txt", "sparse.bin", "slow", "loop1", "lost+found"}) {
    EXPECT_EQ(names.count(n), 1u) << n;
  }
  auto many = resolve(*fs_, "/many");
  ASSERT_THAT(many, IsOk());
  auto files = fs_->list(many->inode);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->size(), 2000u);  // an htree directory, read linearly
}

TEST_P(ExtLayouts, SymlinksResolveInsideTheGuest) {
  auto lt = read_guest_file(*fs_, "/etc/localtime", 4096);  // absolute target: the guest's /usr
  ASSERT_THAT(lt, IsOk());
  EXPECT_EQ(*lt, "UTC\n");
  auto rel = read_guest_file(*fs_, "/a/b/c/rel", 4096);
  ASSERT_THAT(rel, IsOk());
  EXPECT_EQ(*rel, "guest\n");
  auto via_dir_link = read_guest_file(*fs_, "/a/etc-link/hostname", 4096);
  ASSERT_THAT(via_dir_link, IsOk());
  EXPECT_EQ(*via_dir_link, "guest\n");
  auto slow = resolve(*fs_, "/slow", false);  // a slow symlink (target longer than 60 bytes)
  ASSERT_THAT(slow, IsOk());
  auto target = fs_->read_link(slow->inode);
  ASSERT_THAT(target, IsOk());
  EXPECT_EQ(*target, fs::read_symlink(tree_dir_->path() / "root/slow").string());
  // ".." never climbs above the root: /../../etc is /etc.
  auto up = read_guest_file(*fs_, "/../../../etc/hostname", 4096);
  ASSERT_THAT(up, IsOk());
  EXPECT_EQ(*up, "guest\n");
  EXPECT_THAT(resolve(*fs_, "/loop1"), HasError(ErrorCode::kLimitExceeded, "more than 40 symbolic links"));
  EXPECT_THAT(resolve(*fs_, "/etc/missing"), HasError(ErrorCode::kNotFound, "'missing' not found in '/etc'"));
  EXPECT_THAT(resolve(*fs_, "/etc/hostname/x"), HasError(ErrorCode::kInvalidArgument, "is not a directory"));
  EXPECT_THAT(read_guest_file(*fs_, "/boot/big.bin", 1024), HasError(ErrorCode::kLimitExceeded, "3145728 bytes"));
}

INSTANTIATE_TEST_SUITE_P(Mkfs, ExtLayouts, ::testing::ValuesIn(kLayouts), [](const auto& i) { return i.param.name; });

class ExtMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = dir_.file("fs.img");
    fs::create_directories(dir_.path() / "t/etc");
    run_ok("echo x > " + (dir_.path() / "t/etc/hostname").string());
    run_ok("mke2fs -q -F -t ext4 -b 4096 -d " + (dir_.path() / "t").string() + " " + image_ + " 16M");
  }
  Result<std::unique_ptr<FileSystem>> open_fs() {
    auto file = IG_TRY(FileSource::open(image_));
    return ext::open(std::shared_ptr<const ByteSource>(std::move(file)));
  }
  // /etc/hostname resolves, and opening it stops at the budget of map blocks read.
  void expect_map_blocks_bounded() {
    auto fsys = open_fs();
    ASSERT_THAT(fsys, IsOk());
    auto r = resolve(**fsys, "/etc/hostname");
    ASSERT_THAT(r, IsOk());
    EXPECT_THAT((*fsys)->open(r->inode),
                HasError(ErrorCode::kLimitExceeded, "more than 65536 extent or indirect blocks to map"));
  }
  TempDir dir_;
  std::string image_;
};

TEST_F(ExtMalformed, SuperblockChecks) {
  patch_file(image_, 1024 + 0x78, text("tampered"));  // s_volume_name: the checksum no longer holds
  EXPECT_THAT(open_fs(), HasError(ErrorCode::kCorrupt, "ext superblock: checksum"));
  // Without metadata_csum the field checks are reached: each names the field.
  run_ok("mke2fs -q -F -t ext4 -b 4096 -O ^metadata_csum " + image_ + " 16M");
  patch_file(image_, 1024 + 0x18, le32(10));  // s_log_block_size
  EXPECT_THAT(open_fs(), HasError(ErrorCode::kCorrupt, "s_log_block_size 10"));
  patch_file(image_, 1024 + 0x18, le32(2));
  patch_file(image_, 1024 + 0x28, le32(0));  // s_inodes_per_group
  EXPECT_THAT(open_fs(), HasError(ErrorCode::kCorrupt, "s_inodes_per_group 0"));
  patch_file(image_, 1024 + 0x38, {std::byte{0}, std::byte{0}});
  EXPECT_THAT(open_fs(), HasError(ErrorCode::kCorrupt, "ext superblock: bad magic"));
  auto file = FileSource::open(image_);
  ASSERT_THAT(file, IsOk());
  EXPECT_FALSE(ext::probe(**file));
}

TEST_F(ExtMalformed, InodeChecksumIsVerified) {
  auto fsys = open_fs();
  ASSERT_THAT(fsys, IsOk());
  auto r = resolve(**fsys, "/etc/hostname");
  ASSERT_THAT(r, IsOk());
  // Find the inode on disk with debugfs's own answer, then change its size.
  const std::string out = run_ok("debugfs -R " + shell_quote("imap /etc/hostname") + " " + image_ + " 2>/dev/null");
  const auto block_pos = out.find("located at block ");
  ASSERT_NE(block_pos, std::string::npos) << out;
  const std::uint64_t block = std::stoull(out.substr(block_pos + 17));
  const auto off_pos = out.find("offset 0x");
  const std::uint64_t offset = std::stoull(out.substr(off_pos + 9), nullptr, 16);
  patch_file(image_, block * 4096 + offset + 0x4, le32(1234));  // i_size_lo
  auto again = open_fs();
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(read_guest_file(**again, "/etc/hostname", 4096),
              HasError(ErrorCode::kCorrupt, fmt::format("inode {} checksum", r->inode)));
}

TEST_F(ExtMalformed, SharedIndirectBlocksAreBounded) {
  // ext2's block map with 1 KiB blocks: the triple-indirect block's 256 pointers all name one
  // double-indirect block, whose 256 all name one (zero) indirect block. Shared blocks add no run,
  // so nothing but a budget of map blocks bounds the walk: 65,793 blocks to read here, and with
  // 64 KiB blocks, 2.7 x 10^8 (the loop audit of 2026-12-07).
  run_ok("mke2fs -q -F -t ext2 -b 1024 -d " + (dir_.path() / "t").string() + " " + image_ + " 8M");
  std::vector<std::byte> to_double, to_single;
  for (int i = 0; i < 256; ++i) {
    for (const std::byte b : le32(8001)) to_double.push_back(b);
    for (const std::byte b : le32(8002)) to_single.push_back(b);
  }
  patch_file(image_, 8000 * 1024, to_double);  // blocks 8000-8002: free, zero, near the end
  patch_file(image_, 8001 * 1024, to_single);
  run_ok("debugfs -w -R " + shell_quote("sif /etc/hostname block[TIND] 8000") + " " + image_ + " 2>/dev/null");
  run_ok("debugfs -w -R " + shell_quote("sif /etc/hostname size 0x800000000") + " " + image_ + " 2>/dev/null");
  expect_map_blocks_bounded();
}

TEST_F(ExtMalformed, SharedExtentBlocksAreBounded) {
  // An extent tree of depth 3 (without metadata_csum: no block checksums to write): the inode's 4
  // index entries all name block A, A's 340 all name B, B's 340 all name the empty leaf C. Shared
  // blocks add no runs, so nothing but a budget of map blocks bounds the walk: 463,764 blocks
  // here, about 5 x 10^10 at the depth of 5 ext4 allows (the loop audit of 2026-12-07).
  run_ok("mke2fs -q -F -t ext4 -b 4096 -O ^metadata_csum -d " + (dir_.path() / "t").string() + " " + image_ + " 16M");
  constexpr std::uint32_t kA = 4000, kB = 4001, kC = 4002;  // free and zero, near the end
  // A node: the header (magic 0xF30A, entries, max, depth, generation), then 12-byte entries.
  auto node = [](std::uint16_t entries, std::uint16_t max, std::uint16_t depth, std::uint32_t child) {
    std::vector<std::uint32_t> words = {0xF30Au | std::uint32_t{entries} << 16, max | std::uint32_t{depth} << 16, 0};
    for (std::uint16_t i = 0; i < entries; ++i) words.insert(words.end(), {0u, child, 0u});  // block, leaf lo, hi
    std::vector<std::byte> b;
    for (const std::uint32_t w : words) {
      const auto le = le32(w);
      b.insert(b.end(), le.begin(), le.end());
    }
    return b;
  };
  patch_file(image_, std::uint64_t{kA} * 4096, node(340, 340, 2, kB));
  patch_file(image_, std::uint64_t{kB} * 4096, node(340, 340, 1, kC));
  patch_file(image_, std::uint64_t{kC} * 4096, node(0, 340, 0, 0));
  // The root in i_block (15 words): debugfs writes each word.
  const std::vector<std::byte> root = node(4, 4, 3, kA);
  std::string sets;
  for (std::size_t w = 0; w < 15; ++w) {
    const std::uint32_t word = load_le_ptr<std::uint32_t>(root.data() + w * 4);
    sets += fmt::format("sif /etc/hostname block[{}] {:#x}\n", w, word);
  }
  run_ok("printf '" + sets + "' | debugfs -w -f - " + image_ + " > /dev/null 2>&1");
  expect_map_blocks_bounded();
}

TEST_F(ExtMalformed, DirectoryListingsAreBoundedInBytes) {
  // A directory's size is all that bounds its listing: empty blocks add no entries, and its runs
  // may all map the same blocks. Made 2^40 bytes here; the listing refuses it before reading.
  run_ok("debugfs -w -R " + shell_quote("sif /etc size 0x10000000000") + " " + image_ + " 2>/dev/null");
  auto fsys = open_fs();
  ASSERT_THAT(fsys, IsOk());
  auto etc = resolve(**fsys, "/etc");
  ASSERT_THAT(etc, IsOk());
  EXPECT_THAT((*fsys)->list(etc->inode),
              HasError(ErrorCode::kLimitExceeded, "of 1099511627776 bytes, more than the 268435456 read"));
}

}  // namespace
}  // namespace ig::test
