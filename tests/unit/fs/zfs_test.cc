// ZFS vdev labels made by a real ZFS: Debian's zfs-fuse creates a pool on a file and exports it
// (support/fixtures.h make_zfs_vdev). The oracle is ZFS itself: the pool name given to
// `zpool create`, and `zdb -l`, which lists the four labels as ZFS reads them. The malformed
// corpus patches that real nvlist. Skipped, saying so, where zfs-fuse is not installed.
#include "fs/zfs.h"

#include <filesystem>

#include "base/bytes.h"
#include "fs/probe.h"
#include "support/fixtures.h"

namespace ig::test {
namespace {

// One pool for the suite (zfs-fuse takes seconds to start and stop); each test breaks a copy.
class Zfs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    made_dir_ = new TempDir;
    made_ = new ZfsVdev(make_zfs_vdev(*made_dir_));
  }
  static void TearDownTestSuite() {
    delete made_;
    delete made_dir_;
  }
  void SetUp() override {
    if (made_->path.empty()) GTEST_SKIP() << made_->skip;
    vdev_ = *made_;
    vdev_.path = dir_.file("copy.vdev");
    run_ok("cp --sparse=always " + made_->path + " " + vdev_.path);
  }
  static inline TempDir* made_dir_ = nullptr;
  static inline ZfsVdev* made_ = nullptr;
  VolumeId identify_file(const std::string& path) {
    auto file = FileSource::open(path);
    EXPECT_THAT(file, IsOk());
    auto id = identify(**file);
    EXPECT_THAT(id, IsOk());
    return id ? *id : VolumeId{};
  }
  // The packed nvlist of label 0, as the reader sees it.
  std::vector<std::byte> read(std::uint64_t offset, std::size_t length) {
    std::vector<std::byte> out(length);
    auto file = FileSource::open(vdev_.path);
    EXPECT_THAT(file, IsOk());
    EXPECT_THAT((*file)->read_at(offset, out), IsOk());
    return out;
  }
  std::vector<std::byte> nvlist() { return read(zfs::kNvlistOffset, zfs::kNvlistBytes); }
  TempDir dir_;
  ZfsVdev vdev_;
};

TEST_F(Zfs, PoolMadeByZfsFuseIsNamedWithItsPool) {
  // zdb reads the four labels, each naming the pool.
  for (const char* label : {"LABEL 0", "LABEL 1", "LABEL 2", "LABEL 3"}) {
    EXPECT_NE(vdev_.zdb.find(label), std::string::npos) << vdev_.zdb;
  }
  EXPECT_NE(vdev_.zdb.find("name: '" + vdev_.pool + "'"), std::string::npos) << vdev_.zdb;
  const VolumeId id = identify_file(vdev_.path);
  EXPECT_EQ(id.kind, VolumeKind::kZfs);
  EXPECT_EQ(id.name, "zfs");
  EXPECT_EQ(id.label, vdev_.pool);
  auto file = FileSource::open(vdev_.path);
  auto label = zfs::probe(**file);
  ASSERT_THAT(label, IsOk());
  ASSERT_TRUE(label->has_value());
  EXPECT_EQ((*label)->label, 0u);
  EXPECT_FALSE((*label)->big_endian);    // written on x86
  EXPECT_EQ((*label)->ub_version, 23u);  // zfs-fuse 0.7 writes SPA version 23
  EXPECT_NE(vdev_.zdb.find("version: 23"), std::string::npos) << vdev_.zdb;
  EXPECT_EQ((*label)->config_error, "");
}

// The front labels wiped (a partition table or boot code written over them): the copies at the
// end of the vdev still name it, as zdb reads labels 2 and 3 alone.
TEST_F(Zfs, EndLabelsNameTheVolumeWhenTheFrontOnesAreGone) {
  patch_file(vdev_.path, 0, std::vector<std::byte>(2 * zfs::kLabelBytes));
  const VolumeId id = identify_file(vdev_.path);
  EXPECT_EQ(id.kind, VolumeKind::kZfs);
  EXPECT_EQ(id.label, vdev_.pool);
  auto file = FileSource::open(vdev_.path);
  auto label = zfs::probe(**file);
  ASSERT_THAT(label, IsOk());
  ASSERT_TRUE(label->has_value());
  EXPECT_EQ((*label)->label, 2u);
  // Every uberblock ring wiped: nothing says ZFS any more.
  const std::uint64_t size = (*file)->size();
  for (std::uint64_t at : {size - 2 * zfs::kLabelBytes, size - zfs::kLabelBytes}) {
    patch_file(vdev_.path, at + zfs::kUberblockRingOffset, std::vector<std::byte>(zfs::kUberblockRingBytes));
  }
  EXPECT_EQ(identify_file(vdev_.path).kind, VolumeKind::kUnknown);
}

// A big-endian host's pool (SPARC, POWER) writes its uberblocks in its own byte order.
TEST_F(Zfs, BigEndianUberblocksAreRecognised) {
  const std::uint64_t size = std::filesystem::file_size(vdev_.path);
  for (std::uint64_t label :
       {std::uint64_t{0}, zfs::kLabelBytes, size - 2 * zfs::kLabelBytes, size - zfs::kLabelBytes}) {
    const std::vector<std::byte> ring = read(label + zfs::kUberblockRingOffset, zfs::kUberblockRingBytes);
    for (std::size_t at = 0; at < ring.size(); at += 1024) {
      if (load_le_ptr<std::uint64_t>(ring.data() + at) != zfs::kUberblockMagic) continue;
      std::vector<std::byte> swapped(16);  // ub_magic, ub_version
      store_be_ptr<std::uint64_t>(swapped.data(), load_le_ptr<std::uint64_t>(ring.data() + at));
      store_be_ptr<std::uint64_t>(swapped.data() + 8, load_le_ptr<std::uint64_t>(ring.data() + at + 8));
      patch_file(vdev_.path, label + zfs::kUberblockRingOffset + at, swapped);
    }
  }
  auto file = FileSource::open(vdev_.path);
  auto label = zfs::probe(**file);
  ASSERT_THAT(label, IsOk());
  ASSERT_TRUE(label->has_value());
  EXPECT_TRUE((*label)->big_endian);
  EXPECT_EQ((*label)->ub_version, 23u);
  EXPECT_EQ((*label)->pool_name, vdev_.pool);
}

// The malformed corpus: the real nvlist of label 0, broken one way at a time. Each is still a
// ZFS volume (its uberblocks are intact), without a pool name, and the reason is kept.
TEST_F(Zfs, MalformedNvlistsAreNamedErrors) {
  const std::vector<std::byte> good = nvlist();
  ASSERT_THAT(zfs::pool_name_from_nvlist(good), IsOk());
  EXPECT_EQ(*zfs::pool_name_from_nvlist(good), vdev_.pool);
  // The first pair ("version") starts at 12; its encoded size is its first field.
  const std::uint32_t first = load_be_ptr<std::uint32_t>(good.data() + 12);
  ASSERT_EQ(first % 4, 0u);
  struct Case {
    const char* name;
    std::size_t at;
    std::vector<std::byte> bytes;
    ErrorCode code;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"native encoding", 0, {std::byte{0}}, ErrorCode::kUnsupported, "encoding 0"},
      {"nvl_version 1", 4, be32(1), ErrorCode::kCorrupt, "nvl_version 1"},
      {"pair past the list", 12, be32(0x7ffffff0), ErrorCode::kCorrupt, "claims"},
      {"pair size not a multiple of 4", 12, be32(first + 2), ErrorCode::kCorrupt, "claims"},
      {"pair too small", 12, be32(8), ErrorCode::kCorrupt, "claims"},
      {"name longer than its pair", 20, be32(0x10000), ErrorCode::kCorrupt, "a pair name"},
      {"list ends before a name", 12, std::vector<std::byte>(8), ErrorCode::kNotFound, "no \"name\""},
  };
  for (const Case& c : cases) {
    std::vector<std::byte> bad = good;
    std::copy(c.bytes.begin(), c.bytes.end(), bad.begin() + static_cast<std::ptrdiff_t>(c.at));
    EXPECT_THAT(zfs::pool_name_from_nvlist(bad), HasError(c.code, c.fragment)) << c.name;
  }
  // The pool name's own length past ZFS_MAX_DATASET_NAME_LEN.
  std::vector<std::byte> bad = good;
  const std::string_view text = as_chars(good);
  const std::size_t name_pair = text.find(std::string_view("\0\0\0\4name", 8));
  ASSERT_NE(name_pair, std::string_view::npos);
  const std::size_t value_length = name_pair + 8 + 8;  // past "name", its type and nelem
  ASSERT_EQ(load_be_ptr<std::uint32_t>(good.data() + value_length), vdev_.pool.size());
  store_be_ptr<std::uint32_t>(bad.data() + value_length, 4000);
  EXPECT_THAT(zfs::pool_name_from_nvlist(bad), HasError(ErrorCode::kCorrupt, "the pool name of 4000 bytes"));
  // A list of empty pairs longer than the walk allows.
  std::vector<std::byte> many(zfs::kNvlistBytes);
  std::copy(good.begin(), good.begin() + 12, many.begin());
  for (std::size_t at = 12; at + 20 <= many.size(); at += 20) {
    store_be_ptr<std::uint32_t>(many.data() + at, 20);
    store_be_ptr<std::uint32_t>(many.data() + at + 4, 20);
  }
  EXPECT_THAT(zfs::pool_name_from_nvlist(many), HasError(ErrorCode::kLimitExceeded, "more than 1024 pairs"));
  // On the disk: the volume is still ZFS, with the reason instead of a name.
  auto file = FileSource::open(vdev_.path);
  const std::uint64_t size = (*file)->size();
  for (std::uint64_t label :
       {std::uint64_t{0}, zfs::kLabelBytes, size - 2 * zfs::kLabelBytes, size - zfs::kLabelBytes}) {
    patch_file(vdev_.path, label + zfs::kNvlistOffset, {std::byte{0}});
  }
  auto label = zfs::probe(**file);
  ASSERT_THAT(label, IsOk());
  ASSERT_TRUE(label->has_value());
  EXPECT_EQ((*label)->pool_name, "");
  EXPECT_EQ((*label)->config_error, "label 0: zfs nvlist: encoding 0 (only XDR, 1, is read)");
  EXPECT_EQ(identify_file(vdev_.path).kind, VolumeKind::kZfs);
}

TEST(ZfsProbe, SmallOrEmptyVolumesAreNotZfs) {
  for (std::size_t size : {std::size_t{0}, std::size_t{4096}, std::size_t{300 * 1024}, std::size_t{2 << 20}}) {
    MemorySource zeros{std::vector<std::byte>(size)};
    auto label = zfs::probe(zeros);
    ASSERT_THAT(label, IsOk());
    EXPECT_FALSE(label->has_value()) << size;
  }
}

}  // namespace
}  // namespace ig::test
