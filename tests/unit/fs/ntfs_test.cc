// NTFS volumes made by mkntfs and filled by wimlib-imagex apply (no mount needed), read back:
// every file equals its host source and ntfscat's bytes, every listing equals ntfsls's, names
// resolve case-insensitively through the volume's $UpCase, malformations are named.
#include "fs/ntfs.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "base/bytes.h"
#include "base/text.h"
#include "fs/path.h"
#include "io/sources.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class Ntfs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v wimlib-imagex && command -v mkntfs").exit_code != 0) {
      GTEST_SKIP() << "wimtools or ntfs-3g is not installed";
    }
    tree_ = dir_.path() / "tree";
    const fs::path sys32 = tree_ / "Windows/System32";
    fs::create_directories(sys32 / "drivers");
    fs::create_directories(sys32 / "config");
    fs::create_directories(tree_ / "Program Files/Cloudbase Solutions/Cloudbase-Init/bin");
    fs::create_directories(tree_ / "Users/Ünïcødé 用户");
    run_ok("head -c 3000000 /dev/urandom > " + (sys32 / "ntoskrnl.exe").string());
    run_ok("head -c 70000 /dev/urandom > " + (sys32 / "drivers/viostor.sys").string());
    run_ok("echo tiny > " + (sys32 / "drivers/netkvm.sys").string());  // resident $DATA
    run_ok("head -c 262144 /dev/urandom > " + (sys32 / "config/SOFTWARE").string());
    std::ofstream(tree_ / "Users/Ünïcødé 用户/notes.txt") << "unicode";
    std::ofstream(tree_ / "Program Files/Cloudbase Solutions/Cloudbase-Init/bin/OpenStackService.exe") << "svc";
    // Enough entries that System32's index spills into $INDEX_ALLOCATION with several levels.
    run_ok("cd " + sys32.string() +
           " && for i in $(seq -w 0 1199); do echo $i > library-with-a-long-name-$i.dll; done");
    run_ok("touch " + (tree_ / "empty.txt").string());
    volume_ = dir_.file("volume.ntfs");
    run_ok("wimlib-imagex capture " + tree_.string() + " " + dir_.file("x.wim") + " --no-acls > /dev/null");
    run_ok("truncate -s 48M " + volume_ + " && mkntfs -q -F -f -L WINSYS " + volume_ + " > /dev/null 2>&1");
    run_ok("wimlib-imagex apply " + dir_.file("x.wim") + " 1 " + volume_ + " > /dev/null 2>&1");
    auto dev = FileSource::open(volume_);
    ASSERT_THAT(dev, IsOk());
    auto opened = ntfs::open(SourcePtr(std::move(*dev)));
    ASSERT_THAT(opened, IsOk());
    fs_ = std::move(*opened);
  }

  std::string read_all(std::string_view path) {
    auto r = read_guest_file(*fs_, path, 64 << 20);
    EXPECT_THAT(r, IsOk()) << path;
    return r ? *r : "";
  }

  TempDir dir_;
  fs::path tree_;
  std::string volume_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_F(Ntfs, EveryFileEqualsItsSourceAndNtfscat) {
  EXPECT_EQ(fs_->kind(), "ntfs");
  EXPECT_EQ(fs_->label(), "WINSYS");
  EXPECT_EQ(fs_->uuid(), run_ok("blkid -o value -s UUID " + volume_).substr(0, 16));
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(tree_)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = "/" + fs::relative(e.path(), tree_).string();
    const std::string ours = read_all(rel);
    std::ifstream in(e.path(), std::ios::binary);
    EXPECT_EQ(ours, std::string(std::istreambuf_iterator<char>(in), {})) << rel;
    if (files % 150 == 0 || e.file_size() > 1000) {
      EXPECT_EQ(ours, run_ok("ntfscat " + volume_ + " " + shell_quote(rel) + " 2>/dev/null")) << rel;
    }
    ++files;
  }
  EXPECT_EQ(files, 1207);
}

TEST_F(Ntfs, ListingsEqualNtfsls) {
  for (const std::string dir : {"/", "/Windows/System32", "/Windows/System32/drivers", "/Users/Ünïcødé 用户"}) {
    auto r = resolve(*fs_, dir);
    ASSERT_THAT(r, IsOk()) << dir;
    EXPECT_EQ(r->stat.type, FileType::kDirectory);
    auto entries = fs_->list(r->inode);
    ASSERT_THAT(entries, IsOk()) << dir;
    std::set<std::string> ours;
    for (const DirEntry& e : *entries) ours.insert(e.name);
    std::set<std::string> theirs;
    for_each_line(run_ok("ntfsls -p " + shell_quote(dir) + " " + volume_ + " 2>/dev/null"), [&](std::string_view l) {
      if (!l.empty() && l != "." && l != "..") theirs.insert(std::string(l));
    });
    if (dir == "/") {
      // ntfsls hides the metadata files ($MFT, $UpCase, ...); the index holds them.
      std::erase_if(ours, [](const std::string& n) { return n.starts_with("$"); });
    }
    EXPECT_EQ(ours, theirs) << dir;
  }
}

TEST_F(Ntfs, CaseInsensitiveLookupThroughUpCase) {
  EXPECT_EQ(read_all("/windows/SYSTEM32/Drivers/NETKVM.SYS"), "tiny\n");
  EXPECT_EQ(read_all("/USERS/ÜNÏCØDÉ 用户/NOTES.TXT"), "unicode");
  auto st = resolve(*fs_, "/program files/cloudbase solutions/CLOUDBASE-INIT");
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(st->stat.type, FileType::kDirectory);
  EXPECT_THAT(resolve(*fs_, "/Windows/System32/nope.dll"), HasError(ErrorCode::kNotFound, "nope.dll"));
  auto empty = resolve(*fs_, "/empty.txt");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->stat.size, 0u);
}

TEST_F(Ntfs, MalformedVolumesAreNamed) {
  auto open_copy = [&](auto&& damage) {
    const std::string copy = dir_.file("bad.ntfs");
    run_ok("cp --sparse=always " + volume_ + " " + copy);
    damage(copy);
    auto dev = FileSource::open(copy);
    EXPECT_THAT(dev, IsOk());
    return ntfs::open(SourcePtr(std::move(*dev)));
  };
  EXPECT_THAT(open_copy([](const std::string& f) {
                patch_file(f, 0x0B, {std::byte{0x03}, std::byte{0}});
              }),
              HasError(ErrorCode::kCorrupt, "bytes per sector"));
  // Sectors per cluster 0x87: 2^121 (found by fuzz_ntfs: the shift was taken before any check).
  EXPECT_THAT(open_copy([](const std::string& f) { patch_file(f, 0x0D, {std::byte{0x87}}); }),
              HasError(ErrorCode::kCorrupt, "2^121 sectors per cluster"));
  EXPECT_THAT(open_copy([](const std::string& f) { patch_file(f, 0x0D, {std::byte{0xF0}}); }),
              HasError(ErrorCode::kCorrupt, "-byte clusters"));
  EXPECT_THAT(open_copy([](const std::string& f) { patch_file(f, 0x30, le64(1ULL << 40)); }),
              HasError(ErrorCode::kCorrupt, "outside the volume"));
  EXPECT_THAT(open_copy([](const std::string& f) { patch_file(f, 0x40, {std::byte{0xE0}}); }),
              HasError(ErrorCode::kCorrupt, "size code"));
  // Record 0's first sector loses its update-sequence tail: a torn write.
  const std::vector<std::byte> boot = read_file(volume_);
  const std::uint64_t mft = load_le_ptr<std::uint64_t>(boot.data() + 0x30) *
                            load_le_ptr<std::uint16_t>(boot.data() + 0x0B) * std::to_integer<std::uint64_t>(boot[0x0D]);
  EXPECT_THAT(open_copy([&](const std::string& f) {
                patch_file(f, mft + 510, {std::byte{0xAB}, std::byte{0xCD}});
              }),
              HasError(ErrorCode::kCorrupt, "update sequence"));
  EXPECT_THAT(open_copy([&](const std::string& f) { patch_file(f, mft, text("XXXX")); }),
              HasError(ErrorCode::kCorrupt, "no FILE signature"));
}

}  // namespace
}  // namespace ig::test
