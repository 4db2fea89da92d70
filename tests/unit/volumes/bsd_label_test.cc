// BSD disklabels inside an MBR FreeBSD slice. No Linux tool writes a disklabel, so the test writes
// one as FreeBSD's bsdlabel(8) does (struct disklabel, sys/sys/disklabel.h, at sector 1 of the
// slice): partition 'a' holds a UFS2 file system made by makefs, 'b' is swap, 'c' spans the slice.
// Both offset conventions are written: offsets from the slice (FreeBSD 5 and later, 'c' at 0) and
// from the disk (older labels, 'c' at the slice's first sector). Then the malformations.
#include "volumes/bsd_label.h"

#include "base/bytes.h"
#include "fs/filesystem.h"
#include "fs/path.h"
#include "fs/probe.h"
#include "fs/ufs.h"
#include "io/sources.h"
#include "support/bsd_label.h"
#include "support/test_support.h"
#include "volumes/partition_table.h"

namespace ig::test {
namespace {

class BsdLabel : public ::testing::Test {
 protected:
  void SetUp() override {
    disk_ = dir_.file("freebsd.raw");
    run_ok("truncate -s 24M " + disk_ +
           " && printf 'label: dos\\nstart=2048, size=40960, type=a5, bootable\\n' | "
           "sfdisk -q " +
           disk_);
  }
  void write_label(const std::vector<std::byte>& label) { patch_file(disk_, (kSliceLba + 1) * 512, label); }
  Result<std::optional<std::vector<BsdPartition>>> read_label() const {
    auto file = IG_TRY(FileSource::open(disk_));
    return read_bsd_label(*file, kSliceLba * 512, kSliceSectors * 512);
  }
  Result<PartitionTable> read_table() const {
    auto file = IG_TRY(FileSource::open(disk_));
    return read_partition_table(*file);
  }
  TempDir dir_;
  std::string disk_;
};

// Offsets from the slice (c at 0) and from the disk (c at the slice's first LBA) read the same.
TEST_F(BsdLabel, BothOffsetConventionsAsFreeBsdReadsThem) {
  for (const std::uint32_t base : {0u, static_cast<std::uint32_t>(kSliceLba)}) {
    write_label(disklabel(standard_label(base), 8));
    auto t = read_table();
    ASSERT_THAT(t, IsOk()) << base;
    ASSERT_EQ(t->partitions.size(), 1u);
    const Partition& slice = t->partitions[0];
    EXPECT_EQ(slice.type_name, "FreeBSD");
    EXPECT_TRUE(t->notes.empty()) << t->notes.front();
    ASSERT_EQ(slice.bsd_partitions.size(), 2u) << base;
    const BsdPartition& a = slice.bsd_partitions[0];
    const BsdPartition& b = slice.bsd_partitions[1];
    EXPECT_EQ(bsd_partition_name(slice, a), "1a");
    EXPECT_EQ(bsd_partition_name(slice, b), "1b");
    EXPECT_EQ(a.type_name, "4.2BSD");
    EXPECT_EQ(a.fstype, 7);
    EXPECT_EQ(a.offset_bytes, 16u * 512);
    EXPECT_EQ(a.first_byte, (kSliceLba + 16) * 512);
    EXPECT_EQ(a.length_bytes, 12u << 20);
    EXPECT_EQ(b.type_name, "swap");
    EXPECT_EQ(b.first_byte, a.first_byte + a.length_bytes);
    EXPECT_FALSE(a.beyond_end);
  }
}

// The disk test: partition 'a' holds a makefs UFS2 image, which identify() names and ufs opens.
TEST_F(BsdLabel, UfsInPartitionAOpens) {
  if (run("command -v makefs").exit_code != 0) GTEST_SKIP() << "makefs is not installed (Debian package makefs)";
  const std::string tree = dir_.file("tree");
  run_ok("mkdir -p " + tree + "/etc && printf 'NAME=FreeBSD\\n' > " + tree + "/etc/os-release");
  const std::string ufs_image = dir_.file("ufs.img");
  run_ok("makefs -t ffs -o version=2 -s 12m " + ufs_image + " " + tree);
  run_ok("dd if=" + ufs_image + " of=" + disk_ + " bs=512 seek=" + std::to_string(kSliceLba + 16) +
         " conv=notrunc 2>/dev/null");
  write_label(disklabel(standard_label(0), 8));
  auto file = FileSource::open(disk_);
  ASSERT_THAT(file, IsOk());
  const SourcePtr disk(std::move(*file));
  auto t = read_partition_table(*disk);
  ASSERT_THAT(t, IsOk());
  ASSERT_EQ(t->partitions.at(0).bsd_partitions.size(), 2u);
  const BsdPartition& a = t->partitions[0].bsd_partitions[0];
  auto slice = SliceSource::create(disk, a.first_byte, a.length_bytes, "partition 1a");
  ASSERT_THAT(slice, IsOk());
  const SourcePtr volume(std::move(*slice));
  auto id = identify(*volume);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->kind, VolumeKind::kUfs);
  auto fs = open_filesystem(volume, *id, FsLimits{});
  ASSERT_THAT(fs, IsOk());
  EXPECT_EQ(*read_guest_file(**fs, "/etc/os-release", 4096), "NAME=FreeBSD\n");
}

TEST_F(BsdLabel, NoLabelIsNothing) {
  auto l = read_label();
  ASSERT_THAT(l, IsOk());
  EXPECT_FALSE(l->has_value());
  auto t = read_table();
  ASSERT_THAT(t, IsOk());
  EXPECT_TRUE(t->partitions.at(0).bsd_partitions.empty());
  EXPECT_TRUE(t->notes.empty());
}

TEST_F(BsdLabel, TooManyPartitions) {
  write_label(disklabel(standard_label(0), 200));
  EXPECT_THAT(read_label(), HasError(ErrorCode::kCorrupt, "d_npartitions 200 do not fit"));
  auto t = read_table();  // the table is still read; the label is a note
  ASSERT_THAT(t, IsOk());
  EXPECT_TRUE(t->partitions.at(0).bsd_partitions.empty());
  ASSERT_EQ(t->notes.size(), 1u);
  EXPECT_NE(t->notes[0].find("partition 1: bsd disklabel"), std::string::npos) << t->notes[0];
  write_label(disklabel(standard_label(0), 21));
  EXPECT_THAT(read_label(), HasError(ErrorCode::kLimitExceeded, "d_npartitions 21 exceeds 20"));
}

TEST_F(BsdLabel, PartitionsOutsideTheSlice) {
  auto parts = standard_label(0);
  parts[1].size = kSliceSectors;  // 'b' runs past the slice's end
  write_label(disklabel(parts, 8));
  EXPECT_THAT(read_label(), HasError(ErrorCode::kCorrupt, "partition 'b'"));
  parts = standard_label(static_cast<std::uint32_t>(kSliceLba));
  parts[0].offset = 100;  // absolute label: 'a' before the slice's start
  write_label(disklabel(parts, 8));
  EXPECT_THAT(read_label(), HasError(ErrorCode::kCorrupt, "partition 'a' (p_offset 100"));
  parts = standard_label(0);
  parts[2].offset = 0xffffffff;  // 'c' (the raw offset) far away: 'a' is below it
  write_label(disklabel(parts, 8));
  EXPECT_THAT(read_label(), HasError(ErrorCode::kCorrupt, "outside the slice"));
}

TEST_F(BsdLabel, ChecksumMagicAndSectorSize) {
  auto label = disklabel(standard_label(0), 8);
  label[148] ^= std::byte{1};  // 'a' p_size changed, d_checksum not updated
  write_label(label);
  EXPECT_THAT(read_label(), HasError(ErrorCode::kCorrupt, "d_checksum"));
  label = disklabel(standard_label(0), 8);
  store_le_ptr<std::uint32_t>(label.data() + 132, 0);
  write_label(label);
  EXPECT_THAT(read_label(), HasError(ErrorCode::kCorrupt, "d_magic2"));
  write_label(disklabel(standard_label(0), 8, 4096));
  EXPECT_THAT(read_label(), HasError(ErrorCode::kUnsupported, "d_secsize 4096"));
}

// GPT partitions of FreeBSD are named.
TEST_F(BsdLabel, FreeBsdGptTypesNamed) {
  const std::string d = dir_.file("gpt.raw");
  run_ok("truncate -s 16M " + d +
         " && printf 'label: gpt\\n"
         ",1M,83BD6B9D-7F41-11DC-BE0B-001560B84F0F\\n,2M,516E7CB5-6ECF-11D6-8FF8-00022D09712B\\n"
         ",4M,516E7CB6-6ECF-11D6-8FF8-00022D09712B\\n,,516E7CBA-6ECF-11D6-8FF8-00022D09712B\\n' | sfdisk -q " +
         d);
  auto file = FileSource::open(d);
  ASSERT_THAT(file, IsOk());
  auto t = read_partition_table(**file);
  ASSERT_THAT(t, IsOk());
  ASSERT_EQ(t->partitions.size(), 4u);
  EXPECT_EQ(t->partitions[0].type_name, "FreeBSD boot");
  EXPECT_EQ(t->partitions[1].type_name, "FreeBSD swap");
  EXPECT_EQ(t->partitions[2].type_name, "FreeBSD UFS");
  EXPECT_EQ(t->partitions[3].type_name, "FreeBSD ZFS");
}

}  // namespace
}  // namespace ig::test
