// `imagegate check --stages`: the stage table bench/check_bench.sh prints. Its bytes are the
// image file's, read by pread: strace counts the same reads independently, and the table must add
// up to exactly that, stage by stage summed, on raw, qcow2 and compressed qcow2 disks made by
// mke2fs, sfdisk and qemu-img. The initramfs stage reads the initramfs once: about its size,
// even on a compressed image where every piece read of a cluster inflated the whole cluster.
// Times are printed, never asserted.
#include <filesystem>
#include <map>
#include <sstream>
#include <string_view>

#include "support/guest.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;
const std::string kCli = IG_CLI_PATH;
const std::string kInitrd = std::string("/boot/initrd.img-") + LinuxTree::kKernel;

struct StageRow {
  std::uint64_t bytes = 0;
  std::uint64_t reads = 0;
};

// The table on stderr: "stage seconds bytes reads" lines, the stage name possibly two words.
std::map<std::string, StageRow> parse_stages(const std::string& err) {
  std::map<std::string, StageRow> out;
  std::istringstream in(err);
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (line.rfind("stage ", 0) == 0) {
      header = true;
      continue;
    }
    if (!header) continue;
    std::istringstream cols(line);
    std::vector<std::string> words;
    for (std::string w; cols >> w;) words.push_back(w);
    if (words.size() < 4) continue;
    std::string name = words[0];
    for (std::size_t i = 1; i + 3 < words.size(); ++i) name += " " + words[i];
    out[name] = StageRow{std::stoull(words[words.size() - 2]), std::stoull(words.back())};
    if (name == "total") break;
  }
  return out;
}

// The bytes pread64 returned on `image`'s descriptors, from `strace -y`'s trace.
std::uint64_t strace_bytes(const std::string& trace, const std::string& image) {
  std::istringstream in(trace);
  std::uint64_t sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("pread64(") == std::string::npos || line.find("<" + image + ">") == std::string::npos) continue;
    const auto eq = line.rfind(" = ");
    if (eq == std::string::npos) continue;
    sum += std::stoull(line.substr(eq + 3));
  }
  return sum;
}

class StagesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v strace").exit_code != 0) GTEST_SKIP() << "strace is not installed";
    LinuxTree tree(dir_.path() / "tree");
    // An initramfs worth measuring: a 300,000-byte early archive (walked uncompressed, header by
    // header) and a zstd main archive holding the virtio modules and 1,000,000 random bytes.
    const fs::path work = dir_.path() / "initramfs";
    const std::string mods = std::string("usr/lib/modules/") + LinuxTree::kKernel + "/kernel/drivers";
    run_ok("mkdir -p " + (work / "early/kernel/x86/microcode").string() + " " + (work / "main" / mods).string() +
           "/block " + (work / "main" / mods).string() + "/virtio");
    run_ok("head -c 300000 /dev/urandom > " + (work / "early/kernel/x86/microcode/AuthenticAMD.bin").string());
    run_ok("head -c 1000000 /dev/urandom > " + (work / "main/blob").string());
    for (const char* m : {"block/virtio_blk.ko", "virtio/virtio_pci.ko", "virtio/virtio_ring.ko", "virtio/virtio.ko"}) {
      run_ok("echo module > " + (work / "main" / mods / m).string());
    }
    initrd_ = (tree.root() / kInitrd.substr(1)).string();
    run_ok("cd " + (work / "early").string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > " + initrd_);
    run_ok("cd " + (work / "main").string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c >> " +
           initrd_);
    initrd_bytes_ = fs::file_size(initrd_);
    qcow2_ = make_guest_disk(dir_, tree.root().string());
    DiskSpec raw;
    raw.format = "raw";
    raw_ = make_guest_disk(dir_, tree.root().string(), raw);
    compressed_ = dir_.file("compressed.qcow2");
    run_ok("qemu-img convert -c -f raw -O qcow2 " + raw_ + " " + compressed_);
  }

  // Runs check --stages under strace; the table, and the bytes strace saw read from the image.
  std::pair<std::map<std::string, StageRow>, std::uint64_t> check(const std::string& image) {
    const std::string trace = dir_.file("strace.out");
    const CommandResult r =
        // LeakSanitizer cannot run under ptrace (the sanitized build's exit would fail).
        // -ff: one trace file per thread, so that no call is split into "unfinished" and
        // "resumed" lines when the sandboxed reader and its parent run at the same time.
        run_split("ASAN_OPTIONS=detect_leaks=0 strace -ff -y -e trace=pread64 -o " + trace + " " + kCli +
                  " check --stages " + image);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string traced = run_ok("cat " + trace + ".*");
    run_ok("rm -f " + trace + ".*");
    return {parse_stages(r.err), strace_bytes(traced, fs::canonical(image).string())};
  }

  TempDir dir_;
  std::string initrd_;
  std::uint64_t initrd_bytes_ = 0;
  std::string raw_;
  std::string qcow2_;
  std::string compressed_;
};

TEST_F(StagesCli, TheTableAddsUpToTheReadsStraceSees) {
  for (const std::string& image : {raw_, qcow2_, compressed_}) {
    SCOPED_TRACE(image);
    const auto [stages, traced] = check(image);
    ASSERT_EQ(stages.size(), 8u);  // seven stages and the total
    std::uint64_t sum = 0;
    std::uint64_t reads = 0;
    for (const char* name : {"open", "measure", "partitions", "file systems", "kernels", "initramfs", "rules"}) {
      ASSERT_TRUE(stages.count(name)) << name;
      sum += stages.at(name).bytes;
      reads += stages.at(name).reads;
    }
    EXPECT_EQ(stages.at("total").bytes, sum);
    EXPECT_EQ(stages.at("total").reads, reads);
    EXPECT_EQ(stages.at("total").bytes, traced);
    // Every stage that reads the guest read something; the rules judge facts and read nothing.
    // On the compressed image the kernels' blocks lie in clusters the file systems stage already
    // inflated (kept for partial reads, formats/internal.h): that stage may read nothing new.
    for (const char* name : {"open", "partitions", "file systems", "kernels", "initramfs"}) {
      if (image == compressed_ && std::string_view(name) == "kernels") continue;
      EXPECT_GT(stages.at(name).bytes, 0u) << name;
    }
    EXPECT_EQ(stages.at("rules").bytes, 0u);
    EXPECT_EQ(stages.at("rules").reads, 0u);
    // The same image, the same reads: bytes and counts are deterministic.
    const auto again = check(image).first;
    for (const auto& [name, row] : stages) {
      EXPECT_EQ(again.at(name).bytes, row.bytes) << name;
      EXPECT_EQ(again.at(name).reads, row.reads) << name;
    }
  }
}

TEST_F(StagesCli, TheInitramfsIsReadOnce) {
  // Raw: the guest's bytes are the file's. The initramfs is read whole, and once: its size, plus
  // the directory and inode blocks its path resolves through (a few 4 KiB blocks).
  const auto raw = check(raw_).first.at("initramfs");
  EXPECT_GE(raw.bytes, initrd_bytes_);
  EXPECT_LT(raw.bytes, initrd_bytes_ + 8 * 4096);
  // In 1 MiB chunks: a handful of reads besides the lookups', not one per cpio header (58 before).
  EXPECT_LE(raw.reads, initrd_bytes_ / (1 << 20) + 1 + 16);
  // Compressed qcow2 (64 KiB clusters; random bytes stay uncompressed, the rest is deflated): a
  // cluster is read whole for any piece of it, so the bound allows one extra cluster at each
  // chunk boundary and at both ends, and the lookups' blocks; reading it piece by piece read
  // about twice the initramfs.
  const std::uint64_t cluster = 64 * 1024;
  const std::uint64_t chunks = initrd_bytes_ / (1 << 20) + 1;
  const auto compressed = check(compressed_).first.at("initramfs");
  EXPECT_GE(compressed.bytes, initrd_bytes_ * 9 / 10);
  EXPECT_LT(compressed.bytes, initrd_bytes_ + (chunks + 2) * cluster + 4 * cluster);
}

}  // namespace
}  // namespace ig::test
