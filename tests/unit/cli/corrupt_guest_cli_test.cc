// Issue 15, finding 7, beyond os-release: corruption on the way to an answer is named as
// corruption, never reported as absence. Each case builds a real guest (mke2fs -d, mkfs.xfs from a
// protofile, NTFS with hivexregedit hives, an LVM PV made by pvcreate and vgcfgrestore), damages
// one structure with the file system's own tool (debugfs, xfs_db) or at a place found in the
// bytes, and asserts the exact message id and arguments of the check that depended on it, and the
// headline; then that the healthy guest and the one where the thing is really absent are judged
// as before.
#include <filesystem>
#include <fstream>
#include <map>

#include "base/bytes.h"
#include "support/fixtures.h"
#include "support/guest.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

const std::string kCli = IG_CLI_PATH;
constexpr std::uint64_t kTwoTo63 = 9223372036854775808ULL;

struct Check {
  std::string status;
  std::string id;
  std::vector<std::string> args;
};

struct Report {
  std::string reason_id;
  std::map<std::string, Check> checks;
};

// `imagegate check --output=json`: the headline's message id and each check's.
Report check(const std::string& image) {
  const CommandResult r = run(kCli + " check --output=json " + image);
  Report out;
  const auto j = nlohmann::json::parse(r.out);
  out.reason_id = j["reason-id"].get<std::string>();
  for (const auto& c : j["checks"]) {
    Check each{c["status"], c["message-id"], {}};
    for (const auto& a : c["message-args"]) each.args.push_back(a.get<std::string>());
    out.checks[c["name"].get<std::string>()] = std::move(each);
  }
  return out;
}

std::string debugfs(const std::string& image, const std::string& request, bool write = false) {
  return run_ok(std::string("debugfs ") + (write ? "-w " : "") + "-R " + shell_quote(request) + " " + image +
                " 2>/dev/null");
}

// A raw MBR disk of `size` whose partition 1 (bootable, from sector 2048) holds `volume`.
std::string mbr_disk(const TempDir& dir, const std::string& volume, const std::string& name,
                     const std::string& size = "64M") {
  const std::string raw = dir.file(name);
  run_ok("rm -f " + raw + " && truncate -s " + size + " " + raw);
  run_ok("printf 'label: dos\\nstart=2048,type=83,bootable\\n' | sfdisk -q " + raw);
  run_ok("dd if=" + volume + " of=" + raw + " bs=512 seek=2048 conv=notrunc,sparse status=none");
  return raw;
}

// The healthy Debian guest (support/guest.h) as an ext4 root on an MBR disk; `damage` runs
// debugfs requests against the ext4 file system before it is put on the disk.
class CorruptLinuxFiles : public ::testing::Test {
 protected:
  void SetUp() override { tree_ = std::make_unique<LinuxTree>(dir_.path() / "tree"); }
  std::string disk(const std::vector<std::string>& damage = {}) {
    const std::string ext4 = dir_.file("root.ext4");
    run_ok("rm -f " + ext4 + " && mke2fs -q -F -t ext4 -d " + tree_->root().string() + " " + ext4 + " 40M");
    for (const std::string& request : damage) debugfs(ext4, request, true);
    return mbr_disk(dir_, ext4, "disk.raw");
  }
  TempDir dir_;
  std::unique_ptr<LinuxTree> tree_;
};

TEST_F(CorruptLinuxFiles, HealthyPasses) {
  const Report r = check(disk());
  EXPECT_EQ(r.reason_id, "verdict.pass");
  EXPECT_EQ(r.checks.at("virtio").id, "virtio.ok");
  EXPECT_EQ(r.checks.at("cloud-init").id, "cinit.ok");
}

TEST_F(CorruptLinuxFiles, CloudInitBehindADirectoryThatCannotBeReadIsUnknown) {
  // cloud-init's program is its only evidence, and /usr/bin cannot be read (a size of 2^40): that
  // it is installed is unknown, not "not installed" (the review of 2026-12-07).
  tree_->remove("/usr/lib/python3/dist-packages/cloudinit");
  tree_->write("/var/lib/dpkg/status", "Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\n\n");
  EXPECT_EQ(check(disk()).checks.at("cloud-init").id, "cinit.ok");
  const Report r = check(disk({"sif /usr/bin size 0x10000000000"}));
  const Check& c = r.checks.at("cloud-init");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "cinit.unreadable");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_THAT(c.args[0], ::testing::StartsWith("/usr/bin/cloud-init: "));
}

TEST_F(CorruptLinuxFiles, OsReleaseOfTwoToTheSixtyThreeBytesInTheHeadline) {
  // CorruptRelease (corrupt_release_cli_test.cc) holds the os check's cases on a bare file
  // system; on a partitioned disk the headline names the damage too. One release file, regular.
  tree_->remove("/etc/os-release");
  tree_->remove("/usr/lib/os-release");
  tree_->write("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=12\n");
  EXPECT_EQ(check(disk()).reason_id, "verdict.pass");
  const Report r = check(disk({"sif /etc/os-release size 0x8000000000000000"}));
  const Check& os = r.checks.at("os");
  EXPECT_EQ(os.status, "unverified");
  EXPECT_EQ(os.id, "os.unreadable");
  EXPECT_EQ(os.args,
            std::vector<std::string>{fmt::format("/etc/os-release: {} bytes, more than the 65536 read", kTwoTo63)});
  EXPECT_EQ(r.reason_id, "os.unreadable");
}

TEST_F(CorruptLinuxFiles, DpkgStatusOfTwoToTheSixtyThreeBytes) {
  // cloud-init known only from the dpkg database: no program, no Python package.
  tree_->remove("/usr/bin/cloud-init");
  tree_->remove("/usr/lib/python3/dist-packages/cloudinit");
  EXPECT_EQ(check(disk()).checks.at("cloud-init").id, "cinit.ok");
  const Report r = check(disk({"sif /var/lib/dpkg/status size 0x8000000000000000"}));
  const Check& c = r.checks.at("cloud-init");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "cinit.unreadable");
  EXPECT_EQ(c.args, std::vector<std::string>{
                        fmt::format("/var/lib/dpkg/status: {} bytes, more than the 8388608 read", kTwoTo63)});
  EXPECT_EQ(r.reason_id, "cinit.unreadable");
  // Really absent: the failure it always was.
  tree_->remove("/var/lib/dpkg/status");
  const Report absent = check(disk());
  EXPECT_EQ(absent.checks.at("cloud-init").id, "cinit.missing");
  EXPECT_EQ(absent.reason_id, "cinit.missing");
}

TEST_F(CorruptLinuxFiles, RpmDatabaseOfTwoToTheSixtyThreeBytes) {
  const std::string db = make_rpmdb(dir_, {"cloud-init-23.4-7.el9"});
  if (db.empty()) GTEST_SKIP() << "rpm and rpmbuild are not installed";
  tree_->remove("/usr/bin/cloud-init");
  tree_->remove("/usr/lib/python3/dist-packages/cloudinit");
  tree_->remove("/var/lib/dpkg");
  fs::create_directories(tree_->root() / "var/lib/rpm");
  fs::copy_file(db, tree_->root() / "var/lib/rpm/rpmdb.sqlite");
  EXPECT_EQ(check(disk()).checks.at("cloud-init").id, "cinit.ok");
  const Report r = check(disk({"sif /var/lib/rpm/rpmdb.sqlite size 0x8000000000000000"}));
  const Check& c = r.checks.at("cloud-init");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "cinit.unreadable");
  EXPECT_EQ(c.args, std::vector<std::string>{
                        fmt::format("/var/lib/rpm/rpmdb.sqlite: {} bytes, more than the 268435456 read", kTwoTo63)});
  EXPECT_EQ(r.reason_id, "cinit.unreadable");
  tree_->remove("/var/lib/rpm/rpmdb.sqlite");
  EXPECT_EQ(check(disk()).checks.at("cloud-init").id, "cinit.missing");
}

TEST_F(CorruptLinuxFiles, ModulesDepOfTwoToTheSixtyThreeBytes) {
  const std::string dep = std::string("/usr/lib/modules/") + LinuxTree::kKernel + "/modules.dep";
  const Report r = check(disk({"sif " + dep + " size 0x8000000000000000"}));
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args, std::vector<std::string>{fmt::format("/lib/modules/{}/modules.dep: {} bytes, more than the "
                                                         "8388608 read",
                                                         LinuxTree::kKernel, kTwoTo63)});
  EXPECT_EQ(r.reason_id, "virtio.unreadable");
  tree_->remove(dep);
  const Report absent = check(disk());
  EXPECT_EQ(absent.checks.at("virtio").id, "virtio.module-missing");
  EXPECT_EQ(absent.reason_id, "virtio.module-missing");
}

// The initramfs the boot menu names (the drivers of the block path are modules): one imagegate
// cannot read is unknown, not a failure, unless the archive itself is corrupt.
TEST_F(CorruptLinuxFiles, InitramfsOfTwoToTheSixtyThreeBytes) {
  const std::string initrd = std::string("/boot/initrd.img-") + LinuxTree::kKernel;
  const Report r = check(disk({"sif " + initrd + " size 0x8000000000000000"}));
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args,
            std::vector<std::string>{fmt::format("{}: {} bytes, more than the 1073741824 read", initrd, kTwoTo63)});
  EXPECT_EQ(r.reason_id, "virtio.unreadable");
}

TEST_F(CorruptLinuxFiles, InitramfsInACompressionImagegateDoesNotRead) {
  // LZO (initramfs-tools' COMPRESS=lzop): libarchive has no LZO library here and would have run
  // the lzop program, which the sandboxed reader may not: the whole check used to die with SIGSYS.
  const std::string initrd = std::string("/boot/initrd.img-") + LinuxTree::kKernel;
  tree_->write(initrd, std::string("\x89LZO\0\r\n\x1a\n", 9) + std::string(256, 'x'));
  const Report r = check(disk());
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args,
            std::vector<std::string>{initrd + ": initramfs: the lzo archive at offset 0: imagegate does not read "
                                              "lzo-compressed initramfs (the kernel may)"});
  EXPECT_EQ(r.reason_id, "virtio.unreadable");
}

TEST_F(CorruptLinuxFiles, CorruptInitramfsFails) {
  // A gzip stream that is not one: the kernel could not unpack it either.
  const std::string initrd = std::string("/boot/initrd.img-") + LinuxTree::kKernel;
  tree_->write(initrd, std::string("\x1f\x8b\x08\x00", 4) + std::string(4096, 'x'));
  const Report r = check(disk());
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "fail");
  EXPECT_EQ(c.id, "virtio.initramfs-unreadable");
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[1], initrd);
  EXPECT_THAT(c.args[2], ::testing::StartsWith("initramfs: the gzip archive at offset 0 cannot be read"));
  EXPECT_EQ(r.reason_id, "virtio.initramfs-unreadable");
}

TEST_F(CorruptLinuxFiles, KernelConfigWithAnExtentBeyondTheFileSystem) {
  // Without modules.dep the config alone says how the drivers are built (=m: a module missing).
  const std::string dep = std::string("/usr/lib/modules/") + LinuxTree::kKernel + "/modules.dep";
  tree_->remove(dep);
  const std::string config = std::string("/boot/config-") + LinuxTree::kKernel;
  const std::string ext4 = dir_.file("probe.ext4");
  run_ok("mke2fs -q -F -t ext4 -d " + tree_->root().string() + " " + ext4 + " 40M");
  const std::string stat = debugfs(ext4, "stat " + config);
  const std::uint64_t inode = std::stoull(stat.substr(stat.find("Inode: ") + 7));
  const std::string stats = debugfs(ext4, "stats");
  const std::uint64_t blocks = std::stoull(stats.substr(stats.find("Block count:") + 12));
  // i_block word 5 is the first extent's ee_start_lo.
  const Report r = check(disk({"sif " + config + " block[5] 0x7fffffff"}));
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args,
            std::vector<std::string>{fmt::format(
                "{}: ext: inode {}: blocks 2147483647..+1 beyond the file system's {} blocks", config, inode, blocks)});
  tree_->remove(config);
  EXPECT_EQ(check(disk()).checks.at("virtio").id, "virtio.absent");
}

TEST_F(CorruptLinuxFiles, BootDirectoryWithAnExtentBeyondTheFileSystem) {
  // /boot's own directory block is out of the file system: every file under it (config, menu,
  // vmlinuz) is there but unreadable. The kernel is still known from /lib/modules.
  const std::string ext4 = dir_.file("probe.ext4");
  run_ok("mke2fs -q -F -t ext4 -d " + tree_->root().string() + " " + ext4 + " 40M");
  const std::string stat = debugfs(ext4, "stat /boot");
  const std::uint64_t inode = std::stoull(stat.substr(stat.find("Inode: ") + 7));
  const std::string stats = debugfs(ext4, "stats");
  const std::uint64_t blocks = std::stoull(stats.substr(stats.find("Block count:") + 12));
  const Report r = check(disk({"sif /boot block[5] 0x7fffffff"}));
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args, std::vector<std::string>{fmt::format(
                        "/boot/config-{}: ext: inode {}: blocks 2147483647..+1 beyond the file system's {} blocks",
                        LinuxTree::kKernel, inode, blocks)});
  EXPECT_EQ(r.reason_id, "virtio.unreadable");
}

TEST_F(CorruptLinuxFiles, GrubCfgOfTwoToTheSixtyThreeBytes) {
  // Two kernels: the menu boots the good one; the newer one has no virtio. Without the menu the
  // newer one would be chosen, so an unreadable menu leaves the answer unknown.
  tree_->add_kernel("6.9.0-1-amd64", "CONFIG_VIRTIO=y\n", {}, {}, false);
  tree_->write_grub({LinuxTree::kKernel, "6.9.0-1-amd64"});
  // Healthy: the menu's kernel passes; the other one is a warning.
  EXPECT_EQ(check(disk()).checks.at("virtio").id, "virtio.other-kernels");
  const Report r = check(disk({"sif /boot/grub/grub.cfg size 0x8000000000000000"}));
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args, std::vector<std::string>{
                        fmt::format("/boot/grub/grub.cfg: {} bytes, more than the 4194304 read", kTwoTo63)});
  tree_->remove("/boot/grub/grub.cfg");
  const Report absent = check(disk());
  EXPECT_EQ(absent.checks.at("virtio").id, "virtio.absent");
  EXPECT_EQ(absent.checks.at("virtio").args.at(0), "6.9.0-1-amd64");
}

TEST_F(CorruptLinuxFiles, FstabOfTwoToTheSixtyThreeBytesWhenNoKernelIsFound) {
  // The kernels live on a /boot volume fstab would name: with fstab unreadable, none is found.
  tree_->remove("/boot");
  tree_->remove("/usr/lib/modules");
  EXPECT_EQ(check(disk()).checks.at("virtio").id, "virtio.no-kernel");
  const Report r = check(disk({"sif /etc/fstab size 0x8000000000000000"}));
  const Check& c = r.checks.at("virtio");
  EXPECT_EQ(c.status, "unverified");
  EXPECT_EQ(c.id, "virtio.unreadable");
  EXPECT_EQ(c.args,
            std::vector<std::string>{fmt::format("/etc/fstab: {} bytes, more than the 4194304 read", kTwoTo63)});
}

// XFS: the root directory's data fork made a btree whose one node points at itself.
TEST(CorruptXfs, RootDirectoryBtreeLoop) {
  TempDir dir;
  LinuxTree tree(dir.path() / "tree");
  const std::string proto = dir.file("proto");
  run_ok("printf '/dev/null\\n0 0\\nd--755 0 0\\netc d--755 0 0\\nos-release ---644 0 0 " +
         (tree.root() / "etc/os-release").string() + "\\n$\\nusr d--755 0 0\\nbin d--755 0 0\\nsh ---755 0 0 " +
         "/usr/bin/dash\\n$\\n$\\nbin l--777 0 0 usr/bin\\n$\\n' > " + proto);
  const std::string xfs = dir.file("root.xfs");
  run_ok("rm -f " + xfs + " && truncate -s 300M " + xfs + " && mkfs.xfs -q -f -p " + proto + " " + xfs);
  const Report healthy = check(mbr_disk(dir, xfs, "healthy.raw", "302M"));
  EXPECT_EQ(healthy.checks.at("root").id, "root.ok");
  const std::string sb = run_ok("xfs_db -r -c 'sb 0' -c 'print rootino blocksize agblocks' " + xfs);
  auto field = [&](const std::string& name) {
    const auto at = sb.find(name + " = ");
    return std::stoull(sb.substr(at + name.size() + 3));
  };
  const std::uint64_t rootino = field("rootino");
  const std::uint64_t block_size = field("blocksize");
  const std::uint64_t node = field("agblocks") - 8;  // an unused block at the end of AG 0
  // The inode: a btree data fork (format 3) whose root, level 1, has one pointer, to `node`.
  // xfs_db recomputes the inode's CRC.
  run_ok(
      fmt::format("xfs_db -x -c 'inode {}' -c 'write core.format 3' -c 'write u3.bmbt.level 1' "
                  "-c 'write u3.bmbt.numrecs 1' -c 'write u3.bmbt.keys[1].startoff 0' "
                  "-c 'write u3.bmbt.ptrs[1] {}' {} > /dev/null",
                  rootino, node, xfs));
  // `node`: a v5 bmap btree block (BMA3, 72-byte header) of level 1 whose one pointer is itself.
  std::vector<std::byte> b(block_size, std::byte{0});
  auto put = [&](std::size_t at, const std::vector<std::byte>& v) {
    std::copy(v.begin(), v.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
  };
  put(0, text("BMA3"));
  put(4, {std::byte{0}, std::byte{1}, std::byte{0}, std::byte{1}});  // bb_level 1, bb_numrecs 1
  const std::size_t maxrecs = (block_size - 72) / 16;
  put(72 + maxrecs * 8, be64(node));
  patch_file(xfs, node * block_size, b);
  const Report r = check(mbr_disk(dir, xfs, "loop.raw", "302M"));
  const Check& root = r.checks.at("root");
  EXPECT_EQ(root.status, "unverified");
  EXPECT_EQ(root.id, "root.dir-corrupt");
  EXPECT_EQ(root.args,
            (std::vector<std::string>{"partition 1", "xfs", "/",
                                      fmt::format("xfs: inode {}: btree block level 1, expected 0", rootino)}));
  EXPECT_EQ(r.reason_id, "root.dir-corrupt");
  EXPECT_EQ(r.checks.at("os").id, "skipped.unverified");
}

TEST(CorruptXfs, ADataDiskStaysADataDisk) {
  TempDir dir;
  const std::string xfs = dir.file("data.xfs");
  run_ok("truncate -s 300M " + xfs + " && mkfs.xfs -q -f " + xfs);
  const Report r = check(mbr_disk(dir, xfs, "data.raw", "302M"));
  EXPECT_EQ(r.checks.at("root").id, "root.data-disk");
  EXPECT_EQ(r.reason_id, "root.data-disk");
}

// LVM: the metadata area header of the PV loses its magic.
TEST(CorruptLvm, MetadataAreaHeaderWithoutItsMagic) {
  TempDir dir;
  LinuxTree tree(dir.path() / "tree");
  const std::string lv = dir.file("lv.img");
  run_ok("mke2fs -q -F -t ext4 -d " + tree.root().string() + " " + lv + " 40M");
  const LvmDisk lvm = make_lvm_disk(dir, lv);
  if (lvm.path.empty()) GTEST_SKIP() << "the LVM disk could not be made: " << lvm.error;
  EXPECT_EQ(check(lvm.path).checks.at("root").id, "root.ok");
  // The mda header: its checksum (4 bytes), then the magic " LVM2 x[5A%r0N*>", in the first MiB.
  const std::vector<std::byte> bytes = read_file(lvm.path);
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()),
                              std::min<std::size_t>(bytes.size(), 4 << 20));
  const auto magic = head.find(" LVM2 x[5A%r0N*>");
  ASSERT_NE(magic, std::string_view::npos);
  patch_file(lvm.path, magic, text("XXXX"));
  const Report r = check(lvm.path);
  const Check& root = r.checks.at("root");
  EXPECT_EQ(root.status, "unverified");
  EXPECT_EQ(root.id, "root.lvm-corrupt");
  EXPECT_EQ(root.args, (std::vector<std::string>{"partition 1", "lvm: metadata area header magic missing"}));
  EXPECT_EQ(r.reason_id, "root.lvm-corrupt");
}

// Windows: a SOFTWARE hive whose base block no longer matches its checksum; a SYSTEM hive whose
// root key's subkey list lost its signature.
class CorruptHive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = windows_tools_missing(); !missing.empty()) GTEST_SKIP() << missing;
  }
  TempDir dir_;
};

TEST_F(CorruptHive, SoftwareBaseBlockChecksum) {
  std::string expected;
  WindowsSpec spec;
  spec.edit_hives = [&](const std::string& software, const std::string&) {
    // Byte 0x30 (in the file name field the checksum covers) changes: the stored XOR no longer
    // matches.
    std::vector<std::byte> h = read_file(software);
    h[0x30] ^= std::byte{0x5a};
    write_file(software, h);
    std::uint32_t x = 0;
    for (std::size_t i = 0; i < 508; i += 4) x ^= load_le_ptr<std::uint32_t>(h.data() + i);
    expected =
        fmt::format("hive: base block checksum {:#x}, computed {:#x}", load_le_ptr<std::uint32_t>(h.data() + 508),
                    x == 0             ? 1U
                    : x == 0xFFFFFFFFU ? 0xFFFFFFFEU
                                       : x);
  };
  const Report r = check(make_windows_disk(dir_, spec));
  const Check& os = r.checks.at("os");
  EXPECT_EQ(os.status, "unverified");
  EXPECT_EQ(os.id, "os.windows-hive-corrupt");
  EXPECT_EQ(os.args, (std::vector<std::string>{"SOFTWARE", expected}));
  EXPECT_EQ(r.reason_id, "os.windows-hive-corrupt");
  EXPECT_EQ(r.checks.at("virtio").id, "virtio.win-ok");
}

TEST_F(CorruptHive, SystemSubkeyListSignature) {
  std::string expected;
  WindowsSpec spec;
  spec.edit_hives = [&](const std::string&, const std::string& system) {
    // The root key (its cell offset at 0x24 of the base block; cells start after a 4-byte size,
    // in the bins after the 4 KiB base block) lists its subkeys at 0x1C of the key.
    std::vector<std::byte> h = read_file(system);
    const std::uint32_t root = load_le_ptr<std::uint32_t>(h.data() + 0x24);
    const std::uint32_t list = load_le_ptr<std::uint32_t>(h.data() + 4096 + root + 4 + 0x1C);
    h[4096 + list + 4] = std::byte{'x'};
    h[4096 + list + 5] = std::byte{'x'};
    write_file(system, h);
    expected = fmt::format("hive: subkey list {:#x} has signature 'xx'", list);
  };
  const Report r = check(make_windows_disk(dir_, spec));
  EXPECT_EQ(r.checks.at("os").id, "os.windows");
  const Check& virtio = r.checks.at("virtio");
  EXPECT_EQ(virtio.status, "unverified");
  EXPECT_EQ(virtio.id, "virtio.win-hive-corrupt");
  EXPECT_EQ(virtio.args, (std::vector<std::string>{"SYSTEM", expected}));
  const Check& cloud = r.checks.at("cloud-init");
  EXPECT_EQ(cloud.status, "unverified");
  EXPECT_EQ(cloud.id, "cbinit.hive-corrupt");
  EXPECT_EQ(cloud.args, (std::vector<std::string>{"SYSTEM", expected}));
  EXPECT_EQ(r.reason_id, "virtio.win-hive-corrupt");
}

TEST_F(CorruptHive, HealthyAndAbsentStayAsTheyWere) {
  EXPECT_EQ(check(make_windows_disk(dir_)).reason_id, "verdict.pass");
  WindowsSpec spec;
  spec.edit_hives = [](const std::string& software, const std::string&) { fs::remove(software); };
  const Report absent = check(make_windows_disk(dir_, spec));
  EXPECT_EQ(absent.checks.at("os").id, "os.windows-client");
  EXPECT_EQ(absent.reason_id, "os.windows-client");
}

}  // namespace
}  // namespace ig::test
