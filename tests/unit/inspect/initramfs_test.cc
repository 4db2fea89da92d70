// The initramfs scan against archives made by cpio(1) and each compressor's own tool, in the
// layout initramfs-tools and dracut write: an uncompressed early archive, then the main one.
#include "inspect/initramfs.h"

#include <filesystem>

#include "base/bytes.h"
#include "io/sources.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class Initramfs : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path early = dir_.path() / "early";
    fs::create_directories(early / "kernel/x86/microcode");
    run_ok("head -c 3000 /dev/urandom > " + (early / "kernel/x86/microcode/GenuineIntel.bin").string());
    const fs::path main = dir_.path() / "main";
    const fs::path mods = main / "usr/lib/modules/6.1.0-13-amd64/kernel/drivers";
    fs::create_directories(mods / "block");
    fs::create_directories(mods / "virtio");
    fs::create_directories(main / "scripts");
    run_ok("head -c 5000 /dev/urandom > " + (mods / "block/virtio_blk.ko").string());
    run_ok("head -c 5000 /dev/urandom > " + (mods / "virtio/virtio_pci-legacy-dev.ko.xz").string());
    run_ok("echo init > " + (main / "init").string());
    run_ok("cd " + early.string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > ../early.cpio");
    run_ok("cd " + main.string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > ../main.cpio");
  }

  Result<InitramfsContents> scan(const std::string& path) {
    auto f = IG_TRY(FileSource::open(path));
    return scan_initramfs(*f);
  }

  TempDir dir_;
};

TEST_F(Initramfs, EarlyCpioThenEachCompression) {
  const std::vector<std::pair<std::string, std::string>> tools = {
      {"gzip", "gzip -9 -c"}, {"xz", "xz --check=crc32 -c"}, {"lzma", "xz --format=lzma -c"},
      {"zstd", "zstd -q -c"}, {"lz4", "lz4 -l -q -c"},       {"bzip2", "bzip2 -c"},
  };
  for (const auto& [name, tool] : tools) {
    SCOPED_TRACE(name);
    const std::string out = dir_.file("initrd-" + name);
    run_ok("cd " + dir_.path().string() + " && { cat early.cpio; " + tool + " main.cpio; } > " + out);
    auto r = scan(out);
    ASSERT_THAT(r, IsOk());
    ASSERT_EQ(r->archives.size(), 2u);
    EXPECT_EQ(r->archives[0].compression, "none");
    EXPECT_EQ(r->archives[0].offset, 0u);
    EXPECT_EQ(r->archives[1].compression, name);
    EXPECT_EQ(r->archives[1].offset % 4, 0u);
    EXPECT_EQ(r->modules, (std::set<std::string>{"virtio_blk", "virtio_pci_legacy_dev"}));
    // Every entry cpio wrote: the early tree (5: ., kernel, x86, microcode, the blob) and the
    // main tree, each without its trailer.
    const auto early = std::stoul(run_ok("cd " + dir_.path().string() + " && cpio -it --quiet < early.cpio | wc -l"));
    const auto main = std::stoul(run_ok("cd " + dir_.path().string() + " && cpio -it --quiet < main.cpio | wc -l"));
    EXPECT_EQ(r->archives[0].entries, early);
    EXPECT_EQ(r->archives[1].entries, main);
  }
}

TEST_F(Initramfs, PlainCpioAndPaddingBetweenArchives) {
  const std::string out = dir_.file("initrd-plain");
  // Two uncompressed archives separated by 512 bytes of zeros, as the kernel accepts.
  run_ok("cd " + dir_.path().string() + " && { cat early.cpio; head -c 512 /dev/zero; cat main.cpio; } > " + out);
  auto r = scan(out);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->archives.size(), 2u);
  EXPECT_EQ(r->archives[1].compression, "none");
  EXPECT_EQ(r->modules.count("virtio_blk"), 1u);
}

TEST_F(Initramfs, MalformedArchivesAreNamed) {
  const std::string good = dir_.path() / "early.cpio";
  const std::string cut = dir_.file("cut");
  run_ok("head -c 200 " + good + " > " + cut);
  EXPECT_THAT(scan(cut), HasError(ErrorCode::kCorrupt, "cut short"));
  const std::string noise = dir_.file("noise");
  run_ok("head -c 4096 /dev/urandom | tr -d '\\000' | sed 's/^/x/' > " + noise);
  EXPECT_THAT(scan(noise), HasError(ErrorCode::kCorrupt, "neither a cpio archive nor a known compression"));
  const std::string hex = dir_.file("hex");
  run_ok("cp " + good + " " + hex);
  patch_file(hex, 6 + 6 * 8, text("zzzzzzzz"));  // the file-size field of the first header
  EXPECT_THAT(scan(hex), HasError(ErrorCode::kCorrupt, "not hex"));
  const std::string trailer = dir_.file("no-trailer");
  run_ok("head -c $(($(stat -c %s " + good + ") - 512)) " + good + " > " + trailer);
  EXPECT_THAT(scan(trailer), HasError(ErrorCode::kCorrupt, ""));
  const std::string broken = dir_.file("broken-gzip");
  run_ok("cd " + dir_.path().string() + " && { cat early.cpio; gzip -c main.cpio | head -c 300; } > " + broken);
  EXPECT_THAT(scan(broken), HasError(ErrorCode::kCorrupt, "gzip archive at offset"));
  const std::string empty = dir_.file("empty");
  run_ok(": > " + empty);
  EXPECT_THAT(scan(empty), HasError(ErrorCode::kCorrupt, "empty"));
}

TEST_F(Initramfs, EntryLimitHolds) {
  InitramfsLimits limits;
  limits.max_entries = 3;
  auto f = FileSource::open(dir_.path() / "main.cpio");
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT(scan_initramfs(**f, limits), HasError(ErrorCode::kLimitExceeded, "more than 3 entries"));
}

// A bomb: 64 MiB of zeros packs into ~65 KB of gzip. The scan inflates up to its budget and
// stops there with the budget named; under the default budget the same archive is read whole.
TEST_F(Initramfs, DecompressionBombStopsAtItsBudget) {
  const fs::path bomb = dir_.path() / "bomb";
  fs::create_directories(bomb / "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block");
  run_ok("head -c 67108864 /dev/zero > " + (bomb / "zeros").string());
  run_ok("head -c 5000 /dev/urandom > " +
         (bomb / "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block/virtio_blk.ko").string());
  const std::string packed = dir_.file("bomb.cpio.gz");
  run_ok("cd " + bomb.string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 -c > " + packed);
  ASSERT_LT(fs::file_size(packed), 1U << 20);

  InitramfsLimits limits;
  limits.max_decompressed_bytes = 8 << 20;
  auto f = FileSource::open(packed);
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT(scan_initramfs(**f, limits),
              HasError(ErrorCode::kLimitExceeded, "initramfs: more than 8388608 bytes decompressed"));
  auto whole = scan_initramfs(**f);
  ASSERT_THAT(whole, IsOk());
  EXPECT_EQ(whole->modules, std::set<std::string>{"virtio_blk"});
}

TEST_F(Initramfs, ArchiveCountAndNameLengthLimitsHold) {
  const std::string many = dir_.file("many.cpio");
  run_ok("cd " + dir_.path().string() + " && for i in $(seq 17); do cat early.cpio; done > " + many);
  EXPECT_THAT(scan(many), HasError(ErrorCode::kLimitExceeded, "initramfs: more than 16 archives"));

  InitramfsLimits limits;
  limits.max_name_bytes = 16;  // "./usr/lib/modules" and longer names are over it
  auto f = FileSource::open(dir_.path() / "main.cpio");
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT(scan_initramfs(**f, limits), HasError(ErrorCode::kCorrupt, "has a name of"));
}

// Names that climb out of the archive or are absolute are only names: nothing is extracted, so
// they are counted and a module among them is still found by its file name.
TEST_F(Initramfs, TraversalAndAbsoluteNamesAreOnlyNames) {
  const fs::path work = dir_.path() / "a/b";
  fs::create_directories(work);
  fs::create_directories(dir_.path() / "lib/modules");
  run_ok("head -c 100 /dev/urandom > " + (dir_.path() / "lib/modules/virtio_blk.ko").string());
  const std::string archive = dir_.file("climb.cpio");
  run_ok("cd " + work.string() +
         " && printf '../../lib/modules/virtio_blk.ko\\n/etc/passwd\\n' | cpio -o -H newc --quiet > " + archive);
  const std::vector<std::byte> raw = read_file(archive);
  const std::string_view bytes = as_chars(raw);
  ASSERT_NE(bytes.find("../../lib/modules/virtio_blk.ko"), std::string::npos) << "cpio stored the name as given";
  ASSERT_NE(bytes.find("/etc/passwd"), std::string::npos);

  const auto before = run("find " + dir_.path().string() + " | LC_ALL=C sort");
  auto r = scan(archive);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->entries, 3U);  // the two names and the trailer
  EXPECT_EQ(r->archives.at(0).entries, 2U);
  EXPECT_EQ(r->modules, std::set<std::string>{"virtio_blk"});
  EXPECT_EQ(run("find " + dir_.path().string() + " | LC_ALL=C sort").out, before.out);
}

TEST(KernelModuleName, Suffixes) {
  EXPECT_EQ(kernel_module_name("lib/modules/6.1/kernel/drivers/block/virtio_blk.ko.zst"), "virtio_blk");
  EXPECT_EQ(kernel_module_name("virtio-pci.ko.gz"), "virtio_pci");
  EXPECT_EQ(kernel_module_name("a/b/virtio_net.ko"), "virtio_net");
  EXPECT_EQ(kernel_module_name("modules.dep"), "");
  EXPECT_EQ(kernel_module_name("x.kobj"), "");
  EXPECT_EQ(kernel_module_name(".ko"), "");
  // At most 55 bytes, as the kernel's MODULE_NAME_LEN holds with its NUL.
  EXPECT_EQ(kernel_module_name(std::string(55, 'm') + ".ko.xz"), std::string(55, 'm'));
  EXPECT_EQ(kernel_module_name(std::string(56, 'm') + ".ko.xz"), "");
}

}  // namespace
}  // namespace ig::test
