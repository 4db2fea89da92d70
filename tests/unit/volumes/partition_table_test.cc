// Partition tables written by sfdisk and sgdisk, read back by imagegate and compared with what
// `sfdisk --json` says about the same disk; then every malformation the reader must name.
#include "volumes/partition_table.h"

#include <zlib.h>

#include "support/test_support.h"

namespace ig::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

class Partitions : public ::testing::Test {
 protected:
  std::string disk(const std::string& name, std::uint64_t size = 64 * kMiB) {
    const std::string p = dir_.file(name);
    run_ok("truncate -s " + std::to_string(size) + " " + p);
    return p;
  }
  static Result<PartitionTable> read(const std::string& path) {
    auto file = IG_TRY(FileSource::open(path));
    return read_partition_table(*file);
  }
  // Asserts that imagegate's partitions equal sfdisk's (start, size, type), in order.
  static void expect_same_as_sfdisk(const std::string& path, const PartitionTable& t) {
    const auto j = run_json("sfdisk --json " + path);
    const auto& pt = j["partitiontable"];
    EXPECT_EQ(std::string(scheme_name(t.scheme)), pt["label"] == "dos" ? "mbr" : pt["label"].get<std::string>());
    const auto& ps = pt["partitions"];
    ASSERT_EQ(t.partitions.size(), ps.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const Partition& p = t.partitions[i];
      EXPECT_EQ(p.first_byte, ps[i]["start"].get<std::uint64_t>() * 512) << i;
      EXPECT_EQ(p.length_bytes, ps[i]["size"].get<std::uint64_t>() * 512) << i;
      const std::string type = ps[i]["type"];
      if (t.scheme == PartitionScheme::kMbr) {
        EXPECT_EQ(fmt::format("{:x}", p.mbr_type), type) << i;
      } else {
        EXPECT_EQ(p.gpt_type->to_string(), type) << i;
        if (ps[i].contains("name")) {
          EXPECT_EQ(p.name, ps[i]["name"].get<std::string>()) << i;
        }
      }
    }
  }
  TempDir dir_;
};

TEST_F(Partitions, MbrPrimaryExtendedAndLogicalAsSfdiskSeesThem) {
  const std::string d = disk("mbr.raw");
  run_ok("printf 'label: dos\\n,8M,83,*\\n,4M,82\\n,+,5\\n,6M,83\\n,10M,8e\\n,,83\\n' | sfdisk -q " + d);
  auto t = read(d);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->scheme, PartitionScheme::kMbr);
  expect_same_as_sfdisk(d, *t);
  ASSERT_EQ(t->partitions.size(), 6u);
  EXPECT_TRUE(t->partitions[0].bootable);
  EXPECT_EQ(t->partitions[0].type_name, "Linux");
  EXPECT_EQ(t->partitions[1].type_name, "Linux swap");
  EXPECT_EQ(t->partitions[2].type_name, "Extended");
  EXPECT_TRUE(t->partitions[4].logical);
  EXPECT_EQ(t->partitions[4].number, 6u);
  EXPECT_EQ(t->partitions[4].type_name, "Linux LVM");
  EXPECT_TRUE(t->notes.empty()) << t->notes[0];
}

TEST_F(Partitions, GptWithNamesAsSfdiskSeesThem) {
  const std::string d = disk("gpt.raw");
  run_ok(
      "sgdisk -n 1:2048:+1M -t 1:ef02 -c 1:bios -n 2:0:+8M -t 2:ef00 -c 2:esp -n 3:0:+20M -t 3:8300 "
      "-c 3:root -n 4:0:0 -t 4:8e00 -c 4:lvm " +
      d + " > /dev/null");
  auto t = read(d);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->scheme, PartitionScheme::kGpt);
  EXPECT_TRUE(t->protective_mbr);
  EXPECT_FALSE(t->hybrid_mbr);
  expect_same_as_sfdisk(d, *t);
  EXPECT_EQ(t->partitions[0].type_name, "BIOS boot");
  EXPECT_EQ(t->partitions[1].type_name, "EFI system");
  EXPECT_EQ(t->partitions[2].type_name, "Linux filesystem");
  EXPECT_EQ(t->partitions[3].type_name, "Linux LVM");
  EXPECT_EQ(t->partitions[2].name, "root");
}

TEST_F(Partitions, HybridMbrIsRecognised) {
  const std::string d = disk("hybrid.raw");
  run_ok("sgdisk -n 1:2048:+8M -t 1:8300 -n 2:0:+8M -t 2:0700 " + d + " > /dev/null");
  run_ok("sgdisk -h 1:EE " + d + " > /dev/null");
  auto t = read(d);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->scheme, PartitionScheme::kGpt);
  EXPECT_TRUE(t->hybrid_mbr);
}

TEST_F(Partitions, NoTableAndBareFileSystems) {
  auto zero = read(disk("zero.raw"));
  ASSERT_THAT(zero, IsOk());
  EXPECT_EQ(zero->scheme, PartitionScheme::kNone);
  const std::string fs = disk("ext4.raw", 16 * kMiB);
  run_ok("mkfs.ext4 -q -F " + fs);
  auto bare = read(fs);
  ASSERT_THAT(bare, IsOk());
  EXPECT_EQ(bare->scheme, PartitionScheme::kNone);
  const std::string tiny = dir_.file("tiny.raw");
  write_file(tiny, std::vector<std::byte>(512));
  auto small = read(tiny);
  ASSERT_THAT(small, IsOk());
  EXPECT_EQ(small->scheme, PartitionScheme::kNone);
}

TEST_F(Partitions, TruncatedUploadIsReported) {
  const std::string d = disk("cut.raw");
  run_ok("printf 'label: dos\\n,16M,83\\n,,83\\n' | sfdisk -q " + d);
  run_ok("truncate -s 40M " + d);
  auto t = read(d);
  ASSERT_THAT(t, IsOk());
  EXPECT_FALSE(t->partitions[0].beyond_end);
  EXPECT_TRUE(t->partitions[1].beyond_end);
  const std::string g = disk("cut-gpt.raw");
  run_ok("sgdisk -n 1:2048:0 -t 1:8300 " + g + " > /dev/null");
  run_ok("truncate -s 40M " + g);
  auto gt = read(g);
  ASSERT_THAT(gt, IsOk());
  EXPECT_TRUE(gt->partitions[0].beyond_end);
  ASSERT_FALSE(gt->notes.empty());
  EXPECT_NE(gt->notes[0].find("backup GPT header is missing or damaged"), std::string::npos) << gt->notes[0];
}

TEST_F(Partitions, DamagedPrimaryGptFallsBackToTheBackup) {
  const std::string d = disk("gpt.raw");
  run_ok("sgdisk -n 1:2048:+8M -t 1:8300 " + d + " > /dev/null");
  patch_file(d, 512 + 40, le64(7));  // first_usable_lba in the primary header: CRC now wrong
  auto t = read(d);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->scheme, PartitionScheme::kGpt);
  ASSERT_EQ(t->partitions.size(), 1u);
  ASSERT_FALSE(t->notes.empty());
  EXPECT_NE(t->notes[0].find("primary GPT header is damaged"), std::string::npos);
  const std::uint64_t last = 64 * kMiB - 512;
  patch_file(d, last + 40, le64(7));
  EXPECT_THAT(read(d), HasError(ErrorCode::kCorrupt, "gpt header at LBA 1: CRC32"));
}

TEST_F(Partitions, GptEntryArrayChecks) {
  const std::string d = disk("gpt.raw");
  run_ok("sgdisk -n 1:2048:+8M -t 1:8300 " + d + " > /dev/null");
  patch_file(d, 1024 + 32, le64(5000));  // entry 1 first_lba: the array CRC no longer matches
  auto t = read(d);
  EXPECT_THAT(t, HasError(ErrorCode::kCorrupt, "gpt: entry array CRC32"));
}

TEST_F(Partitions, GptEntryCoveringEveryLbaIsRefused) {
  // first_lba 0 and last_lba 2^64 - 1: last - first + 1 wrapped to 0 sectors, and the entry
  // passed as an empty partition at byte 0 (the review of 2026-12-07). Both CRCs rewritten.
  const std::string d = disk("gpt.raw");
  run_ok("sgdisk -n 1:2048:+8M -t 1:8300 " + d + " > /dev/null");
  std::vector<std::byte> img = read_file(d);
  auto put64 = [&](std::size_t at, std::uint64_t v) {
    const auto b = le64(v);
    std::copy(b.begin(), b.end(), img.begin() + static_cast<std::ptrdiff_t>(at));
  };
  auto crc = [&](std::size_t at, std::size_t n) {
    return static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(img.data() + at), static_cast<uInt>(n)));
  };
  put64(1024 + 32, 0);           // entry 1: first_lba
  put64(1024 + 40, UINT64_MAX);  // last_lba
  const auto entries = le32(crc(1024, 128 * 128));
  std::copy(entries.begin(), entries.end(), img.begin() + 512 + 88);
  std::fill(img.begin() + 512 + 16, img.begin() + 512 + 20, std::byte{0});
  const auto header = le32(crc(512, 92));
  std::copy(header.begin(), header.end(), img.begin() + 512 + 16);
  write_file(d, img);
  EXPECT_THAT(read(d), HasError(ErrorCode::kCorrupt, "gpt: entry 1: LBAs 0..18446744073709551615 overflow"));
}

// Builds an EBR chain by hand (sfdisk refuses to write a broken one).
void write_mbr_entry(const std::string& path, std::uint64_t sector_lba, int index, std::uint8_t type,
                     std::uint32_t first, std::uint32_t count) {
  std::vector<std::byte> e(16);
  e[4] = std::byte{type};
  auto f = le32(first);
  auto c = le32(count);
  std::copy(f.begin(), f.end(), e.begin() + 8);
  std::copy(c.begin(), c.end(), e.begin() + 12);
  patch_file(path, sector_lba * 512 + 446 + static_cast<std::uint64_t>(index) * 16, e);
  patch_file(path, sector_lba * 512 + 510, {std::byte{0x55}, std::byte{0xaa}});
}

TEST_F(Partitions, EbrChainLoopsHopsAndTruncation) {
  const std::string loop = disk("loop.raw");
  write_mbr_entry(loop, 0, 0, 0x05, 2048, 100000);
  write_mbr_entry(loop, 2048, 0, 0x83, 63, 1000);
  write_mbr_entry(loop, 2048, 1, 0x05, 0, 2000);  // the next EBR is this one again
  EXPECT_THAT(read(loop), HasError(ErrorCode::kCorrupt, "the EBR chain loops back to LBA 2048"));

  const std::string hops = disk("hops.raw");
  write_mbr_entry(hops, 0, 0, 0x05, 2048, 120000);
  for (std::uint32_t i = 0; i < 140; ++i) {
    write_mbr_entry(hops, 2048 + i * 64, 0, 0x83, 1, 10);
    write_mbr_entry(hops, 2048 + i * 64, 1, 0x05, (i + 1) * 64, 64);
  }
  EXPECT_THAT(read(hops), HasError(ErrorCode::kLimitExceeded, "more than 128 logical partitions"));

  const std::string cut = disk("cut.raw", 2 * kMiB);
  write_mbr_entry(cut, 0, 0, 0x05, 8192, 8192);  // the EBR lies past the end of the file
  EXPECT_THAT(read(cut), HasError(ErrorCode::kCorrupt, "truncated upload?"));

  const std::string nosig = disk("nosig.raw");
  write_mbr_entry(nosig, 0, 0, 0x05, 2048, 100000);
  EXPECT_THAT(read(nosig), HasError(ErrorCode::kCorrupt, "EBR at LBA 2048 has no 0x55AA signature"));
}

TEST_F(Partitions, ProtectiveEntryWithoutGpt) {
  const std::string d = disk("fake.raw");
  write_mbr_entry(d, 0, 0, 0xee, 1, 100);
  EXPECT_THAT(read(d), HasError(ErrorCode::kCorrupt, "no GPT header"));
}

TEST_F(Partitions, ReadThroughAnImageFormat) {
  const std::string d = disk("mbr.raw");
  run_ok("printf 'label: dos\\n,8M,83\\n,,8e\\n' | sfdisk -q " + d);
  const std::string q = dir_.file("disk.qcow2");
  run_ok("qemu-img convert -f raw -O qcow2 " + d + " " + q);
  auto image = open_file(q);
  ASSERT_THAT(image, IsOk());
  auto t = read_partition_table(**image);
  ASSERT_THAT(t, IsOk());
  expect_same_as_sfdisk(d, *t);
}

TEST_F(Partitions, CorpusMbrWithExt2) {
  if (!corpus_available()) GTEST_SKIP() << corpus_absent("libguestfs's mbr-ext2-empty.img");
  const std::string d = dir_.file("mbr-ext2-empty.img");
  run_ok("gzip -dc " + corpus_path("libguestfs/test-data/files/mbr-ext2-empty.img.gz").string() + " > " + d);
  auto t = read(d);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->scheme, PartitionScheme::kMbr);
  expect_same_as_sfdisk(d, *t);
}

}  // namespace
}  // namespace ig::test
