// Images made by other vendors' tools (Hyper-V, Virtual PC, Disk2vhd, VMware) and by fuzzers, from
// ../shared/corpus/qemu/sample_images (see its MANIFEST.md). Readable ones must give the virtual
// size the manifest lists and read byte-identically to qemu-img; the others must be refused with
// a named reason. Skipped, with a message, when the corpus folder is absent.
#include "convert/measure.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

struct Expect {
  std::string file;            // under qemu/sample_images, without .bz2
  std::string qemu_format;     // for the qemu-img oracle; "" when qemu-img cannot read it as a disk
  std::uint64_t virtual_size;  // when readable
  ErrorCode code;              // when refused
  std::string fragment;        // ... and what the message must say
};

std::ostream& operator<<(std::ostream& os, const Expect& e) {
  return os << e.file;
}

const std::vector<Expect> kReadable = {
    // Disk2vhd: current_size rule, 251.25 MiB (0xfb40000), whichever rule is forced (iotest 146).
    {"d2v-zerofilled.vhd", "vpc", 0xfb40000, {}, ""},
    // Hyper-V 2012 R2: creator "win ", footer current_size: 127 GiB.
    {"hyperv2012r2-dynamic.vhd", "vpc", 0x1fc0000000, {}, ""},
    // Virtual PC: creator "vpc ", CHS geometry: 126.998 GiB.
    {"virtualpc-dynamic.vhd", "vpc", 136363130880, {}, ""},
    // VMware streamOptimized, sparse header version 3, 16 GiB, 64 KiB grains (iotest 059).
    {"iotest-version3.vmdk", "vmdk", 16ull << 30, {}, ""},
    // A GRUB MBR sector: a 512-byte raw disk.
    {"grub_mbr.raw", "raw", 512, {}, ""},
};

const std::vector<Expect> kRefused = {
    // Fuzzed VHD: max_table_entries 0x40000001. qemu (iotest 135) zero-pads the dynamic header that
    // the 1028-byte file cuts short and then rejects the table size; imagegate reports the cut.
    {"afl5.img", "", 0, ErrorCode::kCorrupt, "vhd footer: data_offset 0x200 past the end of the file"},
    // Fuzzed VMDK with a huge capacity: qemu says "L1 size too big" (iotest 059).
    {"afl9.vmdk", "", 0, ErrorCode::kLimitExceeded, "grain directory (L1) of 34489028508660 entries too big"},
    {"empty.bochs", "", 0, ErrorCode::kUnsupported, "unsupported format: Bochs image"},
    {"iotest-dirtylog-10G-4M.vhdx", "", 0, ErrorCode::kUnsupported, "unsupported format: VHDX (Hyper-V) image"},
    {"iotest-dynamic-1G.vhdx", "", 0, ErrorCode::kUnsupported, "unsupported format: VHDX (Hyper-V) image"},
    {"test-disk2vhd.vhdx", "", 0, ErrorCode::kUnsupported, "unsupported format: VHDX (Hyper-V) image"},
    {"parallels-v1", "", 0, ErrorCode::kUnsupported, "unsupported format: Parallels image"},
    {"parallels-v2", "", 0, ErrorCode::kUnsupported, "unsupported format: Parallels image"},
    {"simple-dmg.dmg", "", 0, ErrorCode::kUnsupported, "unsupported format: Apple disk image (DMG)"},
    {"simple-pattern.cloop", "", 0, ErrorCode::kUnsupported, "unsupported format: cloop compressed loop image"},
};

class CorpusTest : public ::testing::TestWithParam<Expect> {
 protected:
  void SetUp() override {
    if (!corpus_available()) GTEST_SKIP() << corpus_absent("corpus tests");
    path_ = bunzip_to(corpus_path("qemu/sample_images/" + GetParam().file + ".bz2"), dir_);
  }
  TempDir dir_;
  std::string path_;
};

class CorpusReadable : public CorpusTest {};
class CorpusRefused : public CorpusTest {};

TEST_P(CorpusReadable, VirtualSizeAndBytesMatchQemu) {
  const Expect& e = GetParam();
  auto image = open_file(path_);
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ((*image)->size(), e.virtual_size);
  const nlohmann::json q = run_json("qemu-img info --output=json -f " + e.qemu_format + " " + path_);
  EXPECT_EQ((*image)->size(), q["virtual-size"].get<std::uint64_t>());
  const std::string ref = dir_.file("reference.raw");
  run_ok("qemu-img convert -f " + e.qemu_format + " -O raw " + path_ + " " + ref);
  EXPECT_EQ(compare_with_raw(**image, ref), "");
  const nlohmann::json m = run_json("qemu-img measure --output=json -f " + e.qemu_format + " -O qcow2 " + path_);
  auto r = measure_qcow2(**image, Qcow2TargetOptions{});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->required, m["required"].get<std::uint64_t>());
  EXPECT_EQ(r->fully_allocated, m["fully-allocated"].get<std::uint64_t>());
}

TEST_P(CorpusRefused, RefusedWithANamedReason) {
  const Expect& e = GetParam();
  EXPECT_THAT(open_file(path_), HasError(e.code, e.fragment));
}

INSTANTIATE_TEST_SUITE_P(Qemu, CorpusReadable, ::testing::ValuesIn(kReadable),
                         [](const auto& i) { return testing::PrintToString(i.index); });
INSTANTIATE_TEST_SUITE_P(Qemu, CorpusRefused, ::testing::ValuesIn(kRefused),
                         [](const auto& i) { return testing::PrintToString(i.index); });

}  // namespace
}  // namespace ig::test
