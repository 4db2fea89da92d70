// The import rules on real disks, one cause per test: each starts from the healthy guest of
// support/guest.h, breaks one thing the way users do, and asserts the exact error code, the check
// that fails and the cause (message id and arguments) the cloud's rule would report.
#include "rules/check.h"

#include <filesystem>
#include <fstream>

#include "base/text.h"
#include "inspect/linux.h"
#include "io/faulty_source.h"
#include "io/sources.h"
#include "rules/messages.h"
#include "rules/render.h"
#include "support/fixtures.h"
#include "support/guest.h"
#include "support/kernel_images.h"
#include "unit/rules/check_expect.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class Check : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_path_ = dir_.path() / "tree";
    tree_ = std::make_unique<LinuxTree>(tree_path_);
  }

  static CheckReport check(const std::string& path, CheckOptions options = {}) { return check_file(path, options); }

  CheckReport check_disk(const DiskSpec& spec = {}, CheckOptions options = {}) {
    return check(make_guest_disk(dir_, tree_path_.string(), spec), options);
  }

  // The tree as a raw disk, and that disk read through a source on which the one byte holding
  // `file_byte` of the guest file `path` cannot be read, as a bad stretch of an upload would be.
  std::pair<std::string, SourcePtr> raw_disk_unreadable_at(const std::string& path, std::uint64_t file_byte) {
    DiskSpec spec;
    spec.format = "raw";
    std::string raw = make_guest_disk(dir_, tree_path_.string(), spec);
    const std::string root = dir_.file("guest-root.ext4");  // the file system make_guest_disk put at sector 2048
    const std::uint64_t block_size =
        std::stoull(run_ok("dumpe2fs -h " + root + " 2>/dev/null | sed -n 's/^Block size: *//p'"));
    const std::uint64_t block = std::stoull(run_ok(
        "debugfs -R 'bmap " + path + " " + std::to_string(file_byte / block_size) + "' " + root + " 2>/dev/null"));
    const std::uint64_t at = 2048 * 512 + block * block_size + file_byte % block_size;
    auto file = FileSource::open(raw);
    EXPECT_THAT(file, IsOk());
    FaultPlan plan;
    plan.unreadable = std::make_pair(at, at + 1);
    return {std::move(raw), std::make_shared<FaultySource>(SourcePtr(std::move(*file)), plan)};
  }

  TempDir dir_;
  fs::path tree_path_;
  std::unique_ptr<LinuxTree> tree_;
};

TEST_F(Check, HealthyDebianPasses) {
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.error_code, "");
  EXPECT_EQ(r.format, "qcow2");
  EXPECT_EQ(r.virtual_size, 64u << 20);
  EXPECT_EQ(r.partition_table, "mbr");
  EXPECT_EQ(r.os_type, "linux");
  EXPECT_EQ(r.distribution, "debian");
  EXPECT_EQ(r.version, "12");
  EXPECT_EQ(r.architecture, "x86_64");
  ASSERT_EQ(r.kernels.size(), 1u);
  EXPECT_TRUE(r.kernels[0].is_default);
  EXPECT_EQ(r.kernels[0].initramfs, "/boot/initrd.img-6.1.0-13-amd64");
  EXPECT_EQ(r.kernels[0].initramfs_archives, (std::vector<std::string>{"none", "zstd"}));
  for (const auto& d : r.kernels[0].virtio) {
    EXPECT_EQ(d.state, "module") << d.name;
    if (d.name != "virtio_net") {
      EXPECT_EQ(d.in_initramfs, true) << d.name;
    }
  }
  ASSERT_TRUE(r.cloud_init.has_value());
  EXPECT_TRUE(r.cloud_init->enabled);
  for (const CheckResult& c : r.checks) {
    EXPECT_NE(c.status, CheckStatus::kFail) << c.name;
  }
  EXPECT_EQ(result(r, "declared").status, CheckStatus::kSkipped);
  EXPECT_EQ(result(r, "virtio").message.id, "virtio.ok");
  // The boot loader's choice is the evidence for which kernel was judged.
  EXPECT_EQ(evidence_en(result(r, "virtio")).at(0),
            "grub2 /boot/grub/grub.cfg: the default entry \"Debian GNU/Linux, with Linux 6.1.0-13-amd64\" boots "
            "/boot/vmlinuz-6.1.0-13-amd64");
}

TEST_F(Check, EveryImageFormatTheCloudTakes) {
  for (const char* format : {"raw", "vpc", "vmdk"}) {
    DiskSpec spec;
    spec.format = format;
    const CheckReport r = check_disk(spec);
    EXPECT_TRUE(r.pass) << format << ": " << render(r.reason, Lang::kEn);
  }
}

TEST_F(Check, GptIsRefusedAsPartitionNotPresent) {
  DiskSpec spec;
  spec.table = Table::kGpt;
  const CheckReport r = check_disk(spec);
  expect_failure(r, kPartitionNotPresent, "partition-table", "ptable.gpt");
  EXPECT_EQ(r.partition_table, "gpt");
  EXPECT_EQ(r.distribution, "debian");  // the rest of the guest is still reported
}

TEST_F(Check, NoPartitionTable) {
  DiskSpec spec;
  spec.table = Table::kNone;
  const CheckReport r = check_disk(spec);
  expect_failure(r, kPartitionNotPresent, "partition-table", "ptable.none");
  EXPECT_EQ(r.partition_table, "none");
}

TEST_F(Check, PartitionPastTheEndIsATruncatedUpload) {
  DiskSpec spec;
  spec.truncate_to = 30 << 20;
  spec.format = "raw";
  const CheckReport r = check_disk(spec);
  expect_failure(r, kPartitionNotPresent, "partitions", "parts.truncated");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{"1", std::to_string((2048 + 81920) * 512), "31457280"}));
}

TEST_F(Check, SeparateBootPartitionMountedThroughFstab) {
  // /boot moves to its own partition; the root's fstab finds it by UUID, and GRUB's paths are
  // relative to it ("/vmlinuz-…"), as grub-mkconfig writes them.
  const fs::path boot = dir_.path() / "boot";
  fs::create_directories(boot);
  tree_->write_grub({LinuxTree::kKernel}, "");
  for (const auto& e : fs::directory_iterator(tree_path_ / "boot")) {
    fs::rename(e.path(), boot / e.path().filename());
  }
  tree_->write("/etc/fstab", std::string("UUID=") + kRootUuid + " / ext4 defaults 0 1\nUUID=" + kBootUuid +
                                 " /boot ext4 defaults 0 2\n");
  DiskSpec spec;
  spec.boot_tree = boot.string();
  const CheckReport r = check_disk(spec);
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  ASSERT_EQ(r.kernels.size(), 1u);
  EXPECT_TRUE(r.kernels[0].is_default);
  EXPECT_EQ(r.kernels[0].initramfs, "/boot/initrd.img-6.1.0-13-amd64");
  const auto root_evidence = evidence_en(result(r, "root"));
  EXPECT_NE(std::find(root_evidence.begin(), root_evidence.end(),
                      std::string("fstab mounts UUID=") + kBootUuid + " on /boot: partition 1"),
            root_evidence.end());

  // The same root exported without its /boot partition: the boot partition is missing.
  DiskSpec alone;
  const CheckReport missing = check_disk(alone);
  expect_failure(missing, kPartitionNotPresent, "partitions", "parts.boot-missing");
  EXPECT_EQ(args_en(missing.reason), std::vector<std::string>{std::string("UUID=") + kBootUuid});

  // And only the /boot partition, without the root: a boot-partition-only image.
  const std::string boot_only = dir_.file("boot-only.raw");
  run_ok("truncate -s 16M " + boot_only + " && printf 'label: dos\\nstart=2048,type=83\\n' | sfdisk -q " + boot_only);
  run_ok("dd if=" + dir_.file("guest-boot.ext4") + " of=" + boot_only + " bs=512 seek=2048 conv=notrunc status=none");
  const CheckReport b = check(boot_only);
  expect_failure(b, kRootPartitionNotFound, "root", "root.boot-only");
  EXPECT_EQ(args_en(b.reason), std::vector<std::string>{"partition 1"});
}

TEST_F(Check, FstabFindsBootByLabelDeviceAndUuidPath) {
  const fs::path boot = dir_.path() / "boot";
  fs::create_directories(boot);
  tree_->write_grub({LinuxTree::kKernel}, "");
  for (const auto& e : fs::directory_iterator(tree_path_ / "boot")) fs::rename(e.path(), boot / e.path().filename());
  DiskSpec spec;
  spec.boot_tree = boot.string();
  for (const std::string& source : {std::string("LABEL=boot"), std::string("/dev/vda1"), std::string("/dev/sda1"),
                                    std::string("/dev/disk/by-uuid/") + kBootUuid}) {
    tree_->write("/etc/fstab",
                 std::string("UUID=") + kRootUuid + " / ext4 defaults 0 1\n" + source + " /boot ext4 defaults 0 2\n");
    const CheckReport r = check_disk(spec);
    EXPECT_TRUE(r.pass) << source << ": " << render(r.reason, Lang::kEn);
    const auto evidence = evidence_en(result(r, "root"));
    EXPECT_NE(std::find(evidence.begin(), evidence.end(), "fstab mounts " + source + " on /boot: partition 1"),
              evidence.end())
        << source;
  }
  // A label no volume carries: the boot partition is missing.
  tree_->write("/etc/fstab",
               std::string("UUID=") + kRootUuid + " / ext4 defaults 0 1\nLABEL=nope /boot ext4 defaults 0 2\n");
  expect_failure(check_disk(spec), kPartitionNotPresent, "partitions", "parts.boot-missing");
}

TEST_F(Check, DataDiskHasNoRoot) {
  const fs::path data = dir_.path() / "data";
  fs::create_directories(data / "srv/www");
  std::ofstream(data / "srv/www/index.html") << "hello";
  const std::string disk = make_guest_disk(dir_, data.string());
  const CheckReport r = check(disk);
  expect_failure(r, kRootPartitionNotFound, "root", "root.data-disk");
  EXPECT_EQ(args_en(r.reason), std::vector<std::string>{"partition 1 (ext4)"});
  EXPECT_EQ(result(r, "virtio").status, CheckStatus::kSkipped);
}

TEST_F(Check, EmptyPartitionIsAWrongFile) {
  const std::string disk = dir_.file("empty.raw");
  run_ok("truncate -s 16M " + disk + " && printf 'label: dos\\nstart=2048,type=83\\n' | sfdisk -q " + disk);
  const CheckReport r = check(disk);
  expect_failure(r, kRootPartitionNotFound, "root", "root.nothing");
}

TEST_F(Check, InstallerIsoNeedsForce) {
  const fs::path iso_tree = dir_.path() / "iso";
  fs::create_directories(iso_tree / "install.amd");
  std::ofstream(iso_tree / "install.amd/vmlinuz") << "kernel";
  const std::string iso = dir_.file("debian-12-netinst.iso");
  run_ok("genisoimage -quiet -R -J -V DEBIAN12 -o " + iso + " " + iso_tree.string());
  const CheckReport r = check(iso);
  expect_failure(r, kRootPartitionNotFound, "root", "root.iso");
  EXPECT_EQ(r.format, "raw");
  EXPECT_EQ(result(r, "format").message.id, "format.iso");
  CheckOptions forced;
  forced.force = true;
  const CheckReport f = check(iso, forced);
  EXPECT_EQ(result(f, "root").status, CheckStatus::kWarn);
  EXPECT_EQ(result(f, "root").message.id, "root.iso-forced");
}

TEST_F(Check, VirtioModuleMissingFromTheKernel) {
  tree_->remove("/usr/lib/modules");
  tree_->remove("/boot/initrd.img-6.1.0-13-amd64");
  tree_->add_kernel(LinuxTree::kKernel,
                    "# CONFIG_VIRTIO_BLK is not set\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO=m\n",
                    {"kernel/drivers/net/virtio_net.ko", "kernel/drivers/virtio/virtio_pci.ko",
                     "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"},
                    {"kernel/drivers/virtio/virtio_pci.ko"});
  const CheckReport r = check_disk();
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.absent");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{LinuxTree::kKernel, "virtio_blk"}));
}

TEST_F(Check, VirtioModuleOnDiskButNotInTheInitramfs) {
  tree_->remove("/boot/initrd.img-6.1.0-13-amd64");
  tree_->remove("/usr/lib/modules");
  tree_->add_kernel(
      LinuxTree::kKernel, "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n",
      {"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/net/virtio_net.ko"}, {"kernel/drivers/net/virtio_net.ko"});
  const CheckReport r = check_disk();
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.not-in-initramfs");
  EXPECT_EQ(args_en(r.reason),
            (std::vector<std::string>{LinuxTree::kKernel, "virtio_blk", "/boot/initrd.img-6.1.0-13-amd64"}));
}

TEST_F(Check, VirtioModuleFileDeleted) {
  tree_->remove("/usr/lib/modules/6.1.0-13-amd64/kernel/drivers/net/virtio_net.ko");
  const CheckReport r = check_disk();
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.module-missing");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{LinuxTree::kKernel, "virtio_net"}));
}

TEST_F(Check, InitramfsTheImageCannotDeliverIsUnknownNotCorrupt) {
  // The initramfs as one zstd-compressed cpio of 3 MiB (random firmware first, the modules after
  // it), so that its bytes past the scan's first 1 MiB chunk reach it through libarchive's read
  // callback; then one block 2 MiB in made unreadable under a sound file system, as a bad stretch
  // of an upload would be. libarchive calls any failure of its input its own ("corrupt"): the
  // drivers in it are unknown, not missing.
  const std::string initrd = std::string("/boot/initrd.img-") + LinuxTree::kKernel;
  const fs::path main = dir_.path() / "initrd-main";
  for (const char* m : {"block/virtio_blk.ko", "virtio/virtio_pci.ko", "virtio/virtio_ring.ko", "virtio/virtio.ko"}) {
    const fs::path module = main / "usr/lib/modules" / LinuxTree::kKernel / "kernel/drivers" / m;
    fs::create_directories(module.parent_path());
    std::ofstream(module) << "module";
  }
  fs::create_directories(main / "usr/lib/firmware");
  run_ok("head -c 3M /dev/urandom > " + (main / "usr/lib/firmware/blob.bin").string());
  run_ok("cd " + main.string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c > " +
         (tree_path_ / initrd.substr(1)).string());
  const auto [raw, faulty] = raw_disk_unreadable_at(initrd, 2 << 20);
  auto r = check_image(faulty, CheckOptions{});
  ASSERT_THAT(r, IsOk());
  const CheckResult& v = result(*r, "virtio");
  EXPECT_EQ(v.status, CheckStatus::kUnverified) << render(v.message, Lang::kEn);
  EXPECT_EQ(v.message.id, "virtio.unreadable");
  ASSERT_EQ(args_en(v.message).size(), 1u);
  EXPECT_THAT(args_en(v.message)[0], ::testing::StartsWith(initrd + ": initramfs: the zstd stream: faulty("));
  // The same bytes readable: the drivers are found.
  EXPECT_EQ(result(check(raw), "virtio").message.id, "virtio.ok");
}

TEST_F(Check, KernelImageTheImageCannotDeliverIsUnreadable) {
  // The kernel's first block unreadable under a sound file system: its architecture is unknown
  // and said so, not taken as a header that names none (the review of 2026-12-07).
  const std::string vmlinuz = std::string("/boot/vmlinuz-") + LinuxTree::kKernel;
  auto inspection = inspect_disk(raw_disk_unreadable_at(vmlinuz, 0).second);
  ASSERT_THAT(inspection, IsOk());
  ASSERT_TRUE(inspection->linux_guest.has_value());
  const KernelInfo* k = inspection->linux_guest->boot_kernel();
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->version, LinuxTree::kKernel);
  EXPECT_TRUE(k->architecture.empty());
  ASSERT_FALSE(k->unreadable.empty());
  EXPECT_THAT(k->unreadable.front(), ::testing::StartsWith(vmlinuz + ": "));
}

TEST_F(Check, NoInitramfsForAModularKernel) {
  tree_->remove("/boot/initrd.img-6.1.0-13-amd64");
  const CheckReport r = check_disk();
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.no-initramfs");
}

TEST_F(Check, NoKernelAtAll) {
  tree_->remove("/boot");
  tree_->remove("/usr/lib/modules");
  const CheckReport r = check_disk();
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.no-kernel");
}

TEST_F(Check, TheDefaultKernelIsTheOneJudged) {
  // A newer kernel without virtio in its initramfs; GRUB's default is the older, healthy one.
  tree_->add_kernel(
      "6.1.0-14-amd64", "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO=m\n",
      {"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/net/virtio_net.ko", "kernel/drivers/virtio/virtio_pci.ko",
       "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"},
      {"kernel/drivers/virtio/virtio_pci.ko"});
  tree_->write_grub({LinuxTree::kKernel, "6.1.0-14-amd64"});
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(result(r, "virtio").status, CheckStatus::kWarn);
  EXPECT_EQ(args_en(result(r, "virtio").message), (std::vector<std::string>{LinuxTree::kKernel, "6.1.0-14-amd64"}));
  // grubenv's saved_entry makes the broken one the default: now the import fails on it.
  std::string cfg = run_ok("cat " + (tree_path_ / "boot/grub/grub.cfg").string());
  cfg.replace(cfg.find("set default=\"0\""), 15, "set default=\"${saved_entry}\"");
  tree_->write("/boot/grub/grub.cfg", cfg);
  tree_->write("/boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=gnulinux-6.1.0-14-amd64\n");
  const CheckReport saved = check_disk();
  expect_failure(saved, kVirtioNotInstall, "virtio", "virtio.not-in-initramfs");
  EXPECT_EQ(args_en(saved.reason).at(0), "6.1.0-14-amd64");
}

TEST_F(Check, CloudInitMissingOrDisabledAndForce) {
  tree_->remove("/usr/bin/cloud-init");
  tree_->remove("/usr/lib/python3/dist-packages/cloudinit");
  tree_->write("/var/lib/dpkg/status", "Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\n\n");
  const std::string disk = make_guest_disk(dir_, tree_path_.string());
  expect_failure(check(disk), kCloudInitNotInstalled, "cloud-init", "cinit.missing");
  CheckOptions forced;
  forced.force = true;
  const CheckReport f = check(disk, forced);
  EXPECT_TRUE(f.pass);
  EXPECT_EQ(result(f, "cloud-init").status, CheckStatus::kSkipped);
  EXPECT_EQ(result(f, "cloud-init").message.id, "cinit.forced");
}

TEST_F(Check, RockyWithCloudInitOnlyInTheRpmDatabase) {
  const std::string db = make_rpmdb(dir_, {"cloud-init-23.4-7.el9"});
  if (db.empty()) GTEST_SKIP() << "rpm and rpmbuild are not installed";
  tree_->write("/usr/lib/os-release",
               "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"
               "VERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n");
  tree_->remove("/usr/bin/cloud-init");
  tree_->remove("/usr/lib/python3/dist-packages/cloudinit");
  tree_->remove("/var/lib/dpkg");
  fs::create_directories(tree_path_ / "var/lib/rpm");
  fs::copy_file(db, tree_path_ / "var/lib/rpm/rpmdb.sqlite");
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.distribution, "rocky");
  EXPECT_EQ(r.distribution_name, "Rocky Linux");
  EXPECT_EQ(r.version, "9.3");
  ASSERT_TRUE(r.cloud_init.has_value());
  EXPECT_EQ(r.cloud_init->version, "23.4-7.el9");
  EXPECT_EQ(r.cloud_init->evidence, std::vector<std::string>{"/var/lib/rpm/rpmdb.sqlite"});
  EXPECT_EQ(evidence_en(result(r, "cloud-init")),
            std::vector<std::string>{"rpm lists cloud-init 23.4-7.el9 as installed (/var/lib/rpm/rpmdb.sqlite)"});
  // The same guest whose database lacks cloud-init.
  const std::string other = make_rpmdb(dir_, {"bash-5.1.8-6.el9"});
  fs::copy_file(other, tree_path_ / "var/lib/rpm/rpmdb.sqlite", fs::copy_options::overwrite_existing);
  expect_failure(check_disk(), kCloudInitNotInstalled, "cloud-init", "cinit.missing");
}

TEST_F(Check, CloudInitDisabled) {
  tree_->write("/etc/cloud/cloud-init.disabled", "");
  const CheckReport r = check_disk();
  expect_failure(r, kCloudInitNotInstalled, "cloud-init", "cinit.disabled");
  EXPECT_EQ(args_en(r.reason), std::vector<std::string>{"/etc/cloud/cloud-init.disabled"});
}

TEST_F(Check, FormatAndSizeViolations) {
  // A gzip-compressed disk: named, refused as InvalidFormatSize.
  const std::string raw = make_guest_disk(dir_, tree_path_.string(), DiskSpec{Table::kMbr, "", 0, "raw"});
  run_ok("gzip -1 -k " + raw);
  const CheckReport gz = check(raw + ".gz");
  expect_failure(gz, kInvalidFormatSize, "format", "format.unsupported");
  EXPECT_EQ(args_en(gz.reason).at(0).find("gzip") != std::string::npos, true) << args_en(gz.reason).at(0);
  // More than 500 GiB virtual.
  const std::string big = dir_.file("big.qcow2");
  run_ok("qemu-img create -q -f qcow2 " + big + " 600G");
  const CheckReport v = check(big);
  expect_failure(v, kInvalidFormatSize, "virtual-size", "vsize.fail");
  EXPECT_EQ(args_en(v.reason), (std::vector<std::string>{"600.00 GiB", "500.00 GiB"}));
  // The qcow2-size rule, with the limit lowered to 8 MiB (writing 50 GiB of data here would prove
  // nothing more): 12 MiB of data is too much, and the size is qemu-img measure's.
  const std::string full = dir_.file("full.qcow2");
  run_ok("qemu-img create -q -f qcow2 " + full + " 1G && qemu-io -c 'write -P 0x5a 1M 12M' " + full + " > /dev/null");
  CheckOptions small;
  small.max_qcow2_size = 8 << 20;
  const CheckReport q = check(full, small);
  // Over the estimate, the exact size decides: 12 MiB of data is over 8 MiB either way.
  expect_failure(q, kInvalidFormatSize, "qcow2-size", "qsize.exact-fail");
  EXPECT_EQ(q.qcow2_size, std::stoull(run_ok("qemu-img measure -O qcow2 --output=json " + full +
                                             " | sed -n 's/.*\"required\": \\([0-9]*\\).*/\\1/p'")));
  ASSERT_TRUE(q.qcow2_exact_size.has_value());
  EXPECT_GT(*q.qcow2_exact_size, 12u << 20);
  // A qcow2 with a backing file: the format engine refuses it, naming why.
  const std::string child = dir_.file("child.qcow2");
  run_ok("qemu-img create -q -f qcow2 -b " + full + " -F qcow2 " + child);
  const CheckReport c = check(child);
  expect_failure(c, kInvalidFormatSize, "format", "format.refused");
  EXPECT_NE(args_en(c.reason).at(0).find("backing"), std::string::npos) << args_en(c.reason).at(0);
}

// The 50 GiB rule on what the conversion writes: a fixed VHD (every block allocated) of 256 MiB
// holding 10 MiB of data is over a 64 MiB limit by qemu-img's estimate, but converts to ~10 MiB.
TEST_F(Check, QcowSizeRuleJudgesTheExactConvertedSize) {
  const std::string raw = dir_.file("full.raw");
  const std::string vhd = dir_.file("fixed.vhd");
  run_ok("dd if=/dev/zero of=" + raw + " bs=1M count=256 status=none && dd if=/dev/urandom of=" + raw +
         " bs=1M seek=1 count=10 conv=notrunc status=none && qemu-img convert -S 0 -O vpc -o subformat=fixed " + raw +
         " " + vhd);
  CheckOptions small;
  small.max_qcow2_size = 64 << 20;
  const CheckReport r = check(vhd, small);
  const CheckResult& q = result(r, "qcow2-size");
  EXPECT_EQ(q.status, CheckStatus::kPass) << render(q.message, Lang::kEn);
  EXPECT_EQ(q.message.id, "qsize.exact-ok");
  const std::uint64_t estimate = std::stoull(run_ok("qemu-img measure -f vpc -O qcow2 --output=json " + vhd +
                                                    " | sed -n 's/.*\"required\": \\([0-9]*\\).*/\\1/p'"));
  EXPECT_EQ(r.qcow2_size, estimate);
  EXPECT_GT(estimate, 256u << 20);
  ASSERT_TRUE(r.qcow2_exact_size.has_value());
  // The exact size is the size of the file the converter writes; qemu-img's own conversion of
  // the same disk, which also skips zeros, is within a few clusters of it.
  const std::string out = dir_.file("out.qcow2");
  run_ok("qemu-img convert -f vpc -O qcow2 " + vhd + " " + out);
  const auto qemu = static_cast<std::int64_t>(fs::file_size(out));
  EXPECT_LT(std::abs(static_cast<std::int64_t>(*r.qcow2_exact_size) - qemu), 4 * 65536)
      << *r.qcow2_exact_size << " vs qemu-img's " << qemu;
  EXPECT_EQ(args_en(q.message).at(0), size_text(*r.qcow2_exact_size));
  // Without a lowered limit the estimate is under it and nothing more is read.
  EXPECT_FALSE(check(vhd).qcow2_exact_size.has_value());
}

// A root imagegate cannot read is not a missing root: a Fedora-like layout with an ext4 /boot
// and an encrypted (LUKS, made by cryptsetup) root gets "cannot verify", not
// RootPartitionNotFound with "upload the system disk"; the same /boot beside swap does.
TEST_F(Check, RootThatCannotBeReadIsUnverifiedNotMissing) {
  const fs::path boot = dir_.path() / "boot";
  fs::create_directories(boot / "grub");
  std::ofstream(boot / "vmlinuz-6.5.6-300.fc39.x86_64") << "kernel";
  std::ofstream(boot / "grub/grub.cfg") << "set default=0\n";
  const std::string boot_fs = dir_.file("boot.ext4");
  const std::string second = dir_.file("second.img");
  const std::string key = dir_.file("key");
  std::ofstream(key) << "passphrase";
  run_ok("mke2fs -q -t ext4 -d " + boot.string() + " " + boot_fs + " 16M");
  auto disk_with = [&](const std::string& name, const std::string& make_second) {
    const std::string disk = dir_.file(name);
    run_ok("rm -f " + second + " && truncate -s 24M " + second + " && " + make_second);
    run_ok("truncate -s 48M " + disk +
           " && printf 'label: dos\nstart=2048,size=32768,type=83\nstart=36864,type=83\n' | sfdisk -q " + disk +
           " && dd if=" + boot_fs + " of=" + disk + " bs=512 seek=2048 conv=notrunc status=none && dd if=" + second +
           " of=" + disk + " bs=512 seek=36864 conv=notrunc status=none");
    return disk;
  };
  const std::string luks = disk_with("luks.raw",
                                     "cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 "
                                     "--pbkdf-force-iterations 1000 --key-file " +
                                         key + " " + second);
  const CheckReport r = check(luks);
  EXPECT_FALSE(r.pass);
  EXPECT_TRUE(r.unverified);
  EXPECT_EQ(r.error_code, "");
  EXPECT_EQ(r.failed_check, "root");
  EXPECT_EQ(r.reason.id, "root.cannot-read") << render(r.reason, Lang::kEn);
  ASSERT_EQ(args_en(r.reason).size(), 1u);
  EXPECT_EQ(args_en(r.reason)[0].rfind("partition 2 (LUKS", 0), 0u) << args_en(r.reason)[0];
  const CheckResult& root = result(r, "root");
  EXPECT_EQ(root.status, CheckStatus::kUnverified);
  ASSERT_TRUE(root.advice.has_value());
  EXPECT_EQ(root.advice->id, "advice.unverified");
  for (const char* later : {"os", "architecture", "virtio", "cloud-init"}) {
    EXPECT_EQ(result(r, later).status, CheckStatus::kSkipped) << later;
    EXPECT_EQ(result(r, later).message.id, "skipped.unverified") << later;
  }
  EXPECT_EQ(render_json(r, Lang::kEn)["result"], "unverified");
  EXPECT_EQ(render_json(r, Lang::kEn)["error-code"], nullptr);
  const std::string human = render_human(r, Lang::kEn, false);
  EXPECT_EQ(human.rfind("imagegate cannot verify this image", 0), 0u) << human;
  EXPECT_EQ(human.find("Upload the system disk"), std::string::npos) << human;

  // The same /boot beside swap: nothing could hold the root, so it is truly missing.
  const CheckReport swap = check(disk_with("swap.raw", "mkswap -q " + second));
  expect_failure(swap, kRootPartitionNotFound, "root", "root.boot-only");
  EXPECT_FALSE(swap.unverified);
}

// A root on ZFS (a pool made by Debian's zfs-fuse on a file, exported, its bytes copied into an
// MBR partition with sfdisk): the only volume that could hold the root is one imagegate does not
// read, so the verdict is "cannot verify", naming the volume as ZFS with its pool.
TEST_F(Check, ZfsRootIsUnverifiedAndNamed) {
  const ZfsVdev vdev = make_zfs_vdev(dir_);
  if (vdev.path.empty()) GTEST_SKIP() << vdev.skip;
  const std::string disk = dir_.file("zfs.raw");
  run_ok("truncate -s 80M " + disk + " && printf 'label: dos\nstart=2048,size=131072,type=bf\n' | sfdisk -q " + disk +
         " && dd if=" + vdev.path + " of=" + disk + " bs=1M seek=1 conv=notrunc,sparse status=none");
  const CheckReport r = check(disk);
  EXPECT_FALSE(r.pass);
  EXPECT_TRUE(r.unverified);
  EXPECT_EQ(r.error_code, "");
  EXPECT_EQ(r.failed_check, "root");
  EXPECT_EQ(r.reason.id, "root.cannot-read") << render(r.reason, Lang::kEn);
  ASSERT_EQ(args_en(r.reason).size(), 1u);
  EXPECT_EQ(args_en(r.reason)[0], "partition 1 (zfs, label " + vdev.pool + ")");
  const CheckResult& root = result(r, "root");
  EXPECT_EQ(root.status, CheckStatus::kUnverified);
  const auto root_evidence = evidence_en(root);
  EXPECT_NE(std::find(root_evidence.begin(), root_evidence.end(), "partition 1: zfs, label " + vdev.pool),
            root_evidence.end());
  const std::string human = render_human(r, Lang::kEn, false);
  EXPECT_EQ(human.rfind("imagegate cannot verify this image", 0), 0u) << human;
  EXPECT_EQ(human.find("RootPartitionNotFound"), std::string::npos) << human;
}

TEST_F(Check, DeclaredOsIsComparedWithTheImage) {
  CheckOptions o;
  o.os_type = "CentOS";
  o.os_version = "12";
  o.architecture = "i386";
  const CheckReport r = check_disk({}, o);
  EXPECT_TRUE(r.pass);
  EXPECT_EQ(result(r, "declared").status, CheckStatus::kWarn);
  EXPECT_EQ(result(r, "declared").message.id, "declared.type");
  CheckOptions right;
  right.os_type = "Debian";
  right.os_version = "12";
  right.architecture = "x86_64";
  EXPECT_EQ(result(check_disk({}, right), "declared").status, CheckStatus::kPass);
}

// The version the report gives against the cloud's list: TencentOS Server 3.1's real os-release
// (tests/unit/inspect/os_release_test.cc) is OsVersion "3" of the list.
TEST_F(Check, VersionIsMatchedToTheCloudsList) {
  tree_->write("/usr/lib/os-release",
               "NAME=\"TencentOS Server\"\nVERSION=\"3.1 (Final)\"\nID=\"tencentos\"\nID_LIKE=\"rhel fedora centos\"\n"
               "VERSION_ID=\"3.1\"\nPLATFORM_ID=\"platform:el8\"\nPRETTY_NAME=\"TencentOS Server 3.1 (Final)\"\n"
               "ANSI_COLOR=\"0;31\"\nCPE_NAME=\"cpe:/o:tencentos:tencentos:3\"\n"
               "HOME_URL=\"https://cloud.tencent.com/product/ts\"\n\nTENCENT_SUPPORT_PRODUCT=\"tencentos\"\n"
               "TENCENT_SUPPORT_PRODUCT_VERSION=\"3\"\nNAME_ORIG=\"TencentOS Server\"\n");
  CheckOptions o;
  o.os_type = "TencentOS";
  o.os_version = "3";
  const CheckReport r = check_disk({}, o);
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.distribution_name, "TencentOS");
  EXPECT_EQ(r.version, "3.1");
  EXPECT_EQ(r.os_version, "3");
  EXPECT_EQ(render_json(r, Lang::kEn)["os"]["os-version"], "3");
  const CheckResult& os = result(r, "os");
  EXPECT_EQ(os.status, CheckStatus::kPass);
  const auto os_evidence = evidence_en(os);
  EXPECT_NE(std::find(os_evidence.begin(), os_evidence.end(), "the cloud lists TencentOS 3.1 as OsVersion 3"),
            os_evidence.end());
  EXPECT_EQ(result(r, "declared").status, CheckStatus::kPass);
  o.os_version = "3.1";  // the image's own version is not a mismatch either
  EXPECT_EQ(result(check_disk({}, o), "declared").status, CheckStatus::kPass);
  o.os_version = "2";
  const CheckReport two = check_disk({}, o);
  EXPECT_EQ(result(two, "declared").message.id, "declared.version");
  EXPECT_EQ(args_en(result(two, "declared").message), (std::vector<std::string>{"2", "3.1"}));
}

// "1" was taken for Debian 12 (a prefix of the text); a version must be a whole leading part.
TEST_F(Check, DeclaredVersionIsAWholeLeadingPart) {
  CheckOptions o;
  o.os_type = "Debian";
  o.os_version = "1";
  EXPECT_EQ(result(check_disk({}, o), "declared").message.id, "declared.version");
}

// A named distribution at a version the cloud does not list: a warning naming the listed ones.
TEST_F(Check, VersionOffTheCloudsListIsAWarning) {
  tree_->write("/usr/lib/os-release",
               "PRETTY_NAME=\"Debian GNU/Linux 7 (wheezy)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"7\"\n"
               "VERSION=\"7 (wheezy)\"\nID=debian\n");
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass);
  EXPECT_EQ(r.os_version, "");
  const CheckResult& os = result(r, "os");
  EXPECT_EQ(os.status, CheckStatus::kWarn);
  EXPECT_EQ(os.message.id, "os.version-unlisted");
  EXPECT_EQ(args_en(os.message), (std::vector<std::string>{"Debian", "7", "8, 9, 10, 11, 12"}));
}

// Guests of other architectures: the healthy guest with its userland ELF (/bin/sh -> dash)
// replaced by one clang and lld build for the target, and its kernel by one of that
// architecture's image formats (support/kernel_images.h), under the name Debian gives it.
class ArchCheck : public Check {
 protected:
  // Swaps the x86_64 kernel for `version` with `vmlinuz`, and dash for `elf` (unless empty).
  void make_guest(const std::string& version, const std::vector<std::byte>& vmlinuz, const std::string& elf) {
    const std::string old = LinuxTree::kKernel;
    for (const std::string& p :
         {"/boot/vmlinuz-" + old, "/boot/config-" + old, "/boot/initrd.img-" + old, "/usr/lib/modules/" + old}) {
      tree_->remove(p);
    }
    tree_->add_kernel(version, "CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n", {},
                      {}, false);
    write_file((tree_path_ / "boot" / ("vmlinuz-" + version)).string(), vmlinuz);
    tree_->write_grub({version});
    if (!elf.empty()) fs::copy_file(elf, tree_path_ / "usr/bin/dash", fs::copy_options::overwrite_existing);
  }
};

TEST_F(ArchCheck, Arm64GuestWithAGzipCompressedImage) {
  const std::string elf = cross_elf(dir_, "aarch64-linux-gnu");
  if (elf.empty()) GTEST_SKIP() << "clang or lld cannot build an aarch64 executable here";
  make_guest("6.1.0-13-arm64", compress(dir_, "gzip -9 -n -c", arm64_image()), elf);
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.architecture, "arm_64");
  ASSERT_EQ(r.kernels.size(), 1u);
  EXPECT_EQ(r.kernels[0].architecture, "arm_64");
  EXPECT_EQ(r.kernels[0].image, "arm64 Image, gzip-compressed");
  EXPECT_EQ(result(r, "architecture").message.id, "arch.ok");
  EXPECT_EQ(evidence_en(result(r, "architecture")),
            (std::vector<std::string>{
                "from the ELF header of /bin/sh",
                "from the image of the booted kernel /boot/vmlinuz-6.1.0-13-arm64: arm64 Image, gzip-compressed"}));
  // `check --arch x86_64` on it: the declared architecture is not the image's.
  CheckOptions o;
  o.architecture = "x86_64";
  const CheckReport declared = check_disk({}, o);
  EXPECT_EQ(result(declared, "declared").status, CheckStatus::kWarn);
  EXPECT_EQ(result(declared, "declared").message.id, "declared.arch");
  EXPECT_EQ(args_en(result(declared, "declared").message), (std::vector<std::string>{"x86_64", "arm_64"}));
  o.architecture = "arm_64";
  EXPECT_EQ(result(check_disk({}, o), "declared").status, CheckStatus::kPass);
}

// An architecture the cloud's list does not offer for the distribution (CentOS: x86_64 and
// i386): a warning saying to declare Other Linux.
TEST_F(ArchCheck, ArchitectureOffTheListForTheDistribution) {
  const std::string elf = cross_elf(dir_, "aarch64-linux-gnu");
  if (elf.empty()) GTEST_SKIP() << "clang or lld cannot build an aarch64 executable here";
  make_guest("3.10.0-1160.el7.aarch64", arm64_image(), elf);
  tree_->write("/usr/lib/os-release",
               "NAME=\"CentOS Linux\"\nVERSION=\"7 (AltArch)\"\nID=\"centos\"\nVERSION_ID=\"7\"\n");
  const CheckReport r = check_disk();
  EXPECT_EQ(r.architecture, "arm_64");
  EXPECT_EQ(r.kernels.at(0).image, "arm64 Image");
  const CheckResult& arch = result(r, "architecture");
  EXPECT_EQ(arch.status, CheckStatus::kWarn);
  EXPECT_EQ(arch.message.id, "arch.unlisted");
  EXPECT_EQ(args_en(arch.message), (std::vector<std::string>{"arm_64", "CentOS", "x86_64, i386"}));
}

// Newer arm64 kernels (Ubuntu 24.04, Fedora) are EFI zboot images; the arch is read through them.
TEST_F(ArchCheck, Arm64KernelAsEfiZbootWithoutAUserlandElf) {
  make_guest("6.8.0-31-generic", efi_zboot(compress(dir_, "gzip -9 -n -c", arm64_image()), "gzip"), "");
  tree_->remove("/usr/bin/dash");  // no ELF to read: the kernel alone says
  const CheckReport r = check_disk();
  EXPECT_EQ(r.architecture, "arm_64");
  EXPECT_EQ(evidence_en(result(r, "architecture")),
            (std::vector<std::string>{"from the image of the booted kernel /boot/vmlinuz-6.8.0-31-generic: EFI zboot "
                                      "image, gzip payload: arm64 Image"}));
}

TEST_F(ArchCheck, I386GuestWithA32BitBzImage) {
  const std::string elf = cross_elf(dir_, "i386-linux-gnu");
  if (elf.empty()) GTEST_SKIP() << "clang or lld cannot build an i386 executable here";
  make_guest("6.1.0-13-686", bzimage(0x020f, 0x0004), elf);
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.architecture, "i386");
  EXPECT_EQ(evidence_en(result(r, "architecture")),
            (std::vector<std::string>{"from the ELF header of /bin/sh",
                                      "from the image of the booted kernel /boot/vmlinuz-6.1.0-13-686: bzImage, boot "
                                      "protocol 2.15, XLF_KERNEL_64 clear"}));
  CheckOptions o;
  o.architecture = "i386";
  EXPECT_EQ(result(check_disk({}, o), "declared").status, CheckStatus::kPass);
}

// Debian's i386 userland with its amd64 kernel (linux-image-amd64:i386): the machine must run
// the kernel, so the guest is x86_64, and the evidence says why.
TEST_F(ArchCheck, I386UserlandOnAnX86_64KernelIsX86_64) {
  const std::string elf = cross_elf(dir_, "i386-linux-gnu");
  if (elf.empty()) GTEST_SKIP() << "clang or lld cannot build an i386 executable here";
  make_guest("6.1.0-13-amd64", bzimage(0x020f, 0x007f), elf);
  const CheckReport r = check_disk();
  EXPECT_EQ(r.architecture, "x86_64");
  EXPECT_EQ(evidence_en(result(r, "architecture")),
            (std::vector<std::string>{"the ELF header of /bin/sh says i386; the booted kernel decides",
                                      "from the image of the booted kernel /boot/vmlinuz-6.1.0-13-amd64: bzImage, "
                                      "boot protocol 2.15, XLF_KERNEL_64 set"}));
}

}  // namespace
}  // namespace ig::test
