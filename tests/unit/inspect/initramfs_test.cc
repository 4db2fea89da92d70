// The initramfs scan against archives made by cpio(1) and each compressor's own tool, in the
// layout initramfs-tools and dracut write: an uncompressed early archive, then the main one.
#include "inspect/initramfs.h"

#include <filesystem>

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
