// The Linux inspector over real disks: partition tables by sfdisk, file systems by mke2fs -d from
// a merged-/usr tree whose /bin/sh is a real ELF binary, read through a qcow2.
#include "inspect/linux.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "support/bsd_label.h"
#include "support/fixtures.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class LinuxInspect : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "root";
    fs::create_directories(root_ / "etc");
    fs::create_directories(root_ / "usr/bin");
    fs::create_directories(root_ / "usr/lib/modules/6.1.0-13-amd64/kernel");
    fs::create_directories(root_ / "usr/lib/modules/6.1.0-12-amd64");
    fs::create_directories(root_ / "boot");
    run_ok(
        "printf 'PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\\nNAME=\"Debian GNU/Linux\"\\nVERSION_ID=\"12\"\\n"
        "ID=debian\\n' > " +
        (root_ / "usr/lib/os-release").string());
    fs::create_symlink("../usr/lib/os-release", root_ / "etc/os-release");
    fs::copy_file("/usr/bin/dash", root_ / "usr/bin/dash");
    fs::create_symlink("dash", root_ / "usr/bin/sh");
    fs::create_symlink("usr/bin", root_ / "bin");
    fs::create_symlink("usr/lib", root_ / "lib");
    run_ok("head -c 4096 /dev/urandom > " + (root_ / "boot/vmlinuz-6.1.0-13-amd64").string());
    // Kernel 6.1.0-13: virtio_pci, virtio and virtio_ring built in; virtio_blk a module that is
    // there; virtio_net a module that modules.dep names but whose file was removed.
    run_ok(
        "printf '#\\n# Automatically generated file\\nCONFIG_VIRTIO_BLK=m\\nCONFIG_VIRTIO_NET=m\\n"
        "CONFIG_VIRTIO_PCI=y\\nCONFIG_VIRTIO=y\\n# CONFIG_VIRTIO_MEM is not set\\n' > " +
        (root_ / "boot/config-6.1.0-13-amd64").string());
    const fs::path mods = root_ / "usr/lib/modules/6.1.0-13-amd64";
    run_ok(
        "printf 'kernel/drivers/virtio/virtio.ko\\nkernel/drivers/virtio/virtio_ring.ko\\n"
        "kernel/drivers/virtio/virtio_pci.ko\\n' > " +
        (mods / "modules.builtin").string());
    run_ok(
        "printf 'kernel/drivers/block/virtio_blk.ko.xz:\\nkernel/drivers/net/virtio_net.ko.xz: "
        "kernel/net/core/failover.ko.xz\\n' > " +
        (mods / "modules.dep").string());
    // cloud-init: program, Python package and dpkg entry; its final stage masked.
    fs::create_directories(root_ / "usr/lib/python3/dist-packages/cloudinit");
    fs::create_directories(root_ / "var/lib/dpkg");
    fs::create_directories(root_ / "etc/systemd/system");
    run_ok("printf '#!/usr/bin/python3\\n' > " + (root_ / "usr/bin/cloud-init").string());
    run_ok(
        "printf 'Package: bash\\nStatus: install ok installed\\nVersion: 5.2.15-2\\n\\nPackage: cloud-init\\n"
        "Status: install ok installed\\nPriority: optional\\nVersion: 22.4.2-1\\n\\n' > " +
        (root_ / "var/lib/dpkg/status").string());
    fs::create_symlink("/dev/null", root_ / "etc/systemd/system/cloud-final.service");
    fs::create_directories(mods / "kernel/drivers/block");
    run_ok("head -c 1000 /dev/urandom > " + (mods / "kernel/drivers/block/virtio_blk.ko.xz").string());
  }

  // An MBR disk: partition 1 swap (8 MiB), partition 2 the ext4 root (48 MiB), as a qcow2.
  std::string make_disk(const fs::path& tree, bool truncate_root = false) {
    const std::string raw = dir_.file("disk.raw");
    run_ok("truncate -s 64M " + raw);
    run_ok(
        "printf 'label: dos\\nstart=2048,size=16384,type=82\\nstart=18432,size=98304,type=83,bootable\\n' | "
        "sfdisk -q " +
        raw);
    const std::string swap = dir_.file("swap.img");
    run_ok("truncate -s 8M " + swap + " && mkswap -q " + swap);
    run_ok("dd if=" + swap + " of=" + raw + " bs=512 seek=2048 conv=notrunc status=none");
    const std::string part = dir_.file("root.img");
    run_ok("mke2fs -q -F -t ext4 -L rootfs -d " + tree.string() + " " + part + " 48M");
    run_ok("dd if=" + part + " of=" + raw + " bs=512 seek=18432 conv=notrunc status=none");
    if (truncate_root) run_ok("truncate -s 40M " + raw);
    const std::string q = dir_.file("disk.qcow2");
    run_ok("qemu-img convert -f raw -O qcow2 " + raw + " " + q);
    return q;
  }

  static Result<Inspection> inspect(const std::string& path) {
    auto image = IG_TRY(open_file(path));
    return inspect_disk(SourcePtr(std::move(image)));
  }

  TempDir dir_;
  fs::path root_;
};

// An MBR FreeBSD slice with a BSD disklabel: its partitions are the volumes, named "1a" and "1b";
// the slice itself, a container, is not examined.
TEST_F(LinuxInspect, BsdLabelPartitionsAreVolumes) {
  if (run("command -v makefs").exit_code != 0) GTEST_SKIP() << "makefs is not installed (Debian package makefs)";
  const std::string raw = dir_.file("freebsd.raw");
  run_ok("truncate -s 24M " + raw + " && printf 'label: dos\\nstart=2048, size=40960, type=a5\\n' | sfdisk -q " + raw);
  const std::string ufs = dir_.file("ufs.img");
  run_ok("makefs -t ffs -o version=2 -s 12m " + ufs + " " + root_.string());
  run_ok("dd if=" + ufs + " of=" + raw + " bs=512 seek=" + std::to_string(kSliceLba + 16) +
         " conv=notrunc status=none");
  patch_file(raw, (kSliceLba + 1) * 512, disklabel(standard_label(0), 8));
  auto r = inspect(raw);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->volumes.size(), 2u);
  EXPECT_EQ(r->volumes[0].partition, 1u);
  EXPECT_EQ(r->volumes[0].bsd_partition, "a");
  EXPECT_EQ(r->volumes[0].first_byte, (kSliceLba + 16) * 512);
  EXPECT_EQ(r->volumes[0].kind, "ufs");
  EXPECT_EQ(r->volumes[1].bsd_partition, "b");
  EXPECT_EQ(r->volumes[1].kind, "unknown");  // FreeBSD swap carries no signature
  EXPECT_FALSE(r->linux_guest.has_value());
}

TEST_F(LinuxInspect, DebianRootOnAnMbrDiskThroughQcow2) {
  auto r = inspect(make_disk(root_));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->table.scheme, PartitionScheme::kMbr);
  ASSERT_EQ(r->volumes.size(), 2u);
  EXPECT_EQ(r->volumes[0].kind, "swap");
  EXPECT_EQ(r->volumes[1].kind, "ext");
  EXPECT_EQ(r->volumes[1].fs_kind, "ext4");
  EXPECT_EQ(r->volumes[1].label, "rootfs");
  EXPECT_EQ(r->volumes[1].uuid, run_ok("blkid -o value -s UUID " + dir_.file("root.img")).substr(0, 36));
  EXPECT_TRUE(r->volumes[1].linux_root);
  ASSERT_TRUE(r->linux_guest.has_value());
  const LinuxGuest& g = *r->linux_guest;
  EXPECT_EQ(g.root_partition, 2u);
  EXPECT_EQ(g.distribution.id, "debian");
  EXPECT_EQ(g.distribution.cloud_name, "Debian");
  EXPECT_EQ(g.distribution.version, "12");
  EXPECT_EQ(g.architecture, "x86_64");  // the host's own dash, reached through /bin -> usr/bin, sh -> dash
  EXPECT_EQ(g.architecture_source, "/bin/sh");
  ASSERT_EQ(g.kernels.size(), 2u);
  EXPECT_EQ(g.kernels[0].version, "6.1.0-12-amd64");
  EXPECT_FALSE(g.kernels[0].has_vmlinuz);
  EXPECT_TRUE(g.kernels[0].has_modules);
  EXPECT_EQ(g.kernels[1].version, "6.1.0-13-amd64");
  EXPECT_TRUE(g.kernels[1].has_vmlinuz);
  EXPECT_TRUE(g.kernels[1].has_modules);
  EXPECT_TRUE(g.kernels[1].has_config);
  std::map<std::string, std::pair<std::string, std::string>> virtio;  // name -> (state, config)
  for (const DriverInfo& d : g.kernels[1].virtio) virtio[d.name] = {std::string(driver_state_name(d.state)), d.config};
  EXPECT_EQ(virtio["virtio_blk"], std::make_pair(std::string("module"), std::string("CONFIG_VIRTIO_BLK=m")));
  EXPECT_EQ(virtio["virtio_net"], std::make_pair(std::string("module-missing"), std::string("CONFIG_VIRTIO_NET=m")));
  EXPECT_EQ(virtio["virtio_pci"], std::make_pair(std::string("built-in"), std::string("CONFIG_VIRTIO_PCI=y")));
  EXPECT_EQ(virtio["virtio_ring"].first, "built-in");
  EXPECT_EQ(virtio["virtio"].first, "built-in");
  EXPECT_EQ(g.kernels[1].virtio[0].module, "kernel/drivers/block/virtio_blk.ko.xz");
  // 6.1.0-12 has modules but no config, builtin list or modules.dep: nothing provides virtio.
  for (const DriverInfo& d : g.kernels[0].virtio) EXPECT_EQ(d.state, DriverState::kAbsent) << d.name;
  EXPECT_FALSE(g.kernels[0].has_config);
  EXPECT_TRUE(g.cloud_init.installed);
  EXPECT_EQ(g.cloud_init.version, "22.4.2-1");
  EXPECT_EQ(g.cloud_init.evidence,
            (std::vector<std::string>{"/usr/bin/cloud-init", "/usr/lib/python3/dist-packages/cloudinit",
                                      "/var/lib/dpkg/status"}));
  ASSERT_EQ(g.cloud_init.packages.size(), 1u);
  EXPECT_EQ(g.cloud_init.packages[0].manager, "dpkg");
  EXPECT_EQ(g.cloud_init.packages[0].version, "22.4.2-1");
  EXPECT_TRUE(g.cloud_init.disabled);
  EXPECT_TRUE(g.cloud_init.disabled_by.empty());
  EXPECT_EQ(g.cloud_init.masked_units, std::vector<std::string>{"cloud-final.service"});
}

TEST_F(LinuxInspect, KernelsBeyondTheBudgetAreLeftOutAndSaidSo) {
  // 70 more /boot/vmlinuz-5.0.<i>: 72 kernels, of which the newest 64 are inspected (the review of
  // 2026-12-07: every name is a kernel, each a dozen lookups and an initramfs scan).
  for (int i = 0; i < 70; ++i) run_ok("echo x > " + (root_ / ("boot/vmlinuz-5.0." + std::to_string(i))).string());
  auto r = inspect(make_disk(root_));
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->linux_guest.has_value());
  const LinuxGuest& g = *r->linux_guest;
  std::set<std::string> versions;
  for (const KernelInfo& k : g.kernels) versions.insert(k.version);
  EXPECT_EQ(versions.size(), 64u);
  EXPECT_EQ(versions.count("6.1.0-13-amd64"), 1u);
  EXPECT_EQ(versions.count("6.1.0-12-amd64"), 1u);
  EXPECT_EQ(versions.count("5.0.8"), 1u);
  EXPECT_EQ(versions.count("5.0.7"), 0u);
  EXPECT_EQ(versions.count("5.0.0"), 0u);
  EXPECT_THAT(g.boot_unreadable,
              ::testing::Contains("/boot and /lib/modules: 72 kernels, more than the 64 inspected (the default and "
                                  "the newest)"));
}

TEST_F(LinuxInspect, PythonDirectoriesBeyondTheBudgetAreNotLookedIn) {
  // 40 more /usr/lib/python3.<i>, each with a cloudinit package: only the newest 16 are looked in.
  for (int i = 0; i < 40; ++i) {
    fs::create_directories(root_ / ("usr/lib/python3." + std::to_string(i) + "/dist-packages/cloudinit"));
  }
  auto r = inspect(make_disk(root_));
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->linux_guest.has_value());
  std::vector<std::string> packages;
  for (const std::string& e : r->linux_guest->cloud_init.evidence) {
    if (e.ends_with("/cloudinit")) packages.push_back(e);
  }
  EXPECT_EQ(packages.size(), kMaxPythonDirs);
  EXPECT_THAT(packages, ::testing::Contains("/usr/lib/python3.39/dist-packages/cloudinit"));
  EXPECT_THAT(packages, ::testing::Contains("/usr/lib/python3.24/dist-packages/cloudinit"));
  EXPECT_THAT(packages, ::testing::Not(::testing::Contains("/usr/lib/python3.23/dist-packages/cloudinit")));
}

TEST_F(LinuxInspect, WholeDiskFileSystemDataDiskAndTruncatedRoot) {
  const std::string whole = dir_.file("whole.raw");
  run_ok("mke2fs -q -F -t ext4 -d " + root_.string() + " " + whole + " 48M");
  auto w = inspect(whole);
  ASSERT_THAT(w, IsOk());
  EXPECT_EQ(w->table.scheme, PartitionScheme::kNone);
  ASSERT_TRUE(w->linux_guest.has_value());
  EXPECT_EQ(w->linux_guest->root_partition, 0u);

  const fs::path data = dir_.path() / "data";
  fs::create_directories(data / "photos");
  run_ok("echo x > " + (data / "photos/a.jpg").string());
  // Without cloud-init, and with it installed but switched off by the marker file.
  fs::remove_all(root_ / "usr/lib/python3");
  fs::remove(root_ / "usr/bin/cloud-init");
  fs::remove(root_ / "var/lib/dpkg/status");
  auto none = inspect(make_disk(root_));
  ASSERT_THAT(none, IsOk());
  ASSERT_TRUE(none->linux_guest.has_value());
  EXPECT_FALSE(none->linux_guest->cloud_init.installed);
  fs::create_directories(root_ / "etc/cloud");
  run_ok("touch " + (root_ / "etc/cloud/cloud-init.disabled").string());
  auto off = inspect(make_disk(root_));
  ASSERT_THAT(off, IsOk());
  EXPECT_EQ(off->linux_guest->cloud_init.disabled_by, std::vector<std::string>{"/etc/cloud/cloud-init.disabled"});
  EXPECT_EQ(off->linux_guest->cloud_init.masked_units, std::vector<std::string>{"cloud-final.service"});

  auto d = inspect(make_disk(data));
  ASSERT_THAT(d, IsOk());
  EXPECT_FALSE(d->linux_guest.has_value());  // a data disk: no /etc, no root
  EXPECT_FALSE(d->volumes[1].linux_root);

  auto t = inspect(make_disk(root_, true));
  ASSERT_THAT(t, IsOk());
  EXPECT_FALSE(t->linux_guest.has_value());
  ASSERT_EQ(t->volumes.size(), 2u);
  EXPECT_EQ(t->volumes[1].error, "the partition reaches past the end of the disk");
}

TEST_F(LinuxInspect, XfsRoot) {
  // mkfs.xfs has no directory mode: a protofile lists the tree (the RHEL family's default root).
  const std::string proto = dir_.file("proto");
  run_ok("printf '/dev/null\\n0 0\\nd--755 0 0\\netc d--755 0 0\\nos-release ---644 0 0 " +
         (root_ / "usr/lib/os-release").string() + "\\n$\\nusr d--755 0 0\\nbin d--755 0 0\\nsh ---755 0 0 " +
         "/usr/bin/dash\\n$\\n$\\nbin l--777 0 0 usr/bin\\n$\\n' > " + proto);
  const std::string img = dir_.file("xfs.raw");
  run_ok("truncate -s 300M " + img + " && mkfs.xfs -q -f -p " + proto + " " + img);
  auto r = inspect(img);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->volumes.size(), 1u);
  EXPECT_EQ(r->volumes[0].fs_kind, "xfs");
  ASSERT_TRUE(r->linux_guest.has_value());
  EXPECT_EQ(r->linux_guest->distribution.id, "debian");
  EXPECT_EQ(r->linux_guest->architecture, "x86_64");
}

TEST_F(LinuxInspect, BtrfsRootOnAnMbrDisk) {
  if (run("command -v mkfs.btrfs").exit_code != 0) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
  const std::string part = dir_.file("btrfs.img");
  run_ok("truncate -s 200M " + part + " && mkfs.btrfs -q -f --rootdir " + root_.string() + " " + part + " 2>&1");
  const std::string raw = dir_.file("disk.raw");
  run_ok("truncate -s 202M " + raw + " && printf 'label: dos\\nstart=2048,type=83\\n' | sfdisk -q " + raw);
  run_ok("dd if=" + part + " of=" + raw + " bs=1M seek=1 conv=notrunc status=none");
  auto r = inspect(raw);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->volumes.size(), 1u);
  EXPECT_EQ(r->volumes[0].fs_kind, "btrfs");
  EXPECT_TRUE(r->volumes[0].linux_root);
  ASSERT_TRUE(r->linux_guest.has_value());
  EXPECT_EQ(r->linux_guest->distribution.id, "debian");
  EXPECT_EQ(r->linux_guest->architecture, "x86_64");
  EXPECT_FALSE(r->linux_guest->kernels.empty());
}

// Subvolumes as installers lay them out: the default subvolume is a decoy root whose fstab mounts
// / from "@" and /boot from "@boot" (subvolid=). Needs root and a kernel that mounts btrfs.
TEST_F(LinuxInspect, BtrfsSubvolumesFromFstab) {
  if (run("command -v mkfs.btrfs").exit_code != 0) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
  if (geteuid() != 0) GTEST_SKIP() << "loop-mounting btrfs needs root";
  const std::string img = dir_.file("btrfs.raw");
  run_ok("truncate -s 300M " + img + " && mkfs.btrfs -q -f " + img + " 2>&1");
  const std::string mnt = dir_.file("mnt");
  fs::create_directories(mnt);
  const auto m = run("mount -o loop " + img + " " + mnt);
  if (m.exit_code != 0) GTEST_SKIP() << "mount -o loop of a btrfs image failed: " << m.out;
  const std::string uuid = run_ok("blkid -o value -s UUID " + img).substr(0, 36);
  auto body = [&]() {
    run_ok("btrfs -q subvolume create " + mnt + "/@ && btrfs -q subvolume create " + mnt +
           "/@boot && btrfs -q subvolume create " + mnt + "/decoy");
    run_ok("cp -a " + root_.string() + "/. " + mnt + "/@/ && mv " + mnt + "/@/boot/* " + mnt + "/@boot/");
    run_ok("mkdir -p " + mnt + "/decoy/etc " + mnt + "/decoy/usr && echo ID=decoy > " + mnt + "/decoy/etc/os-release");
    const std::string boot_id = run_ok("btrfs inspect-internal rootid " + mnt + "/@boot");
    run_ok("printf 'UUID=" + uuid + " / btrfs defaults,subvol=/@ 0 0\\nUUID=" + uuid +
           " /boot btrfs subvolid=" + boot_id.substr(0, boot_id.find('\n')) + " 0 0\\n' | tee " + mnt +
           "/decoy/etc/fstab > " + mnt + "/@/etc/fstab");
    run_ok("btrfs subvolume set-default " + mnt + "/decoy");
  };
  body();
  ASSERT_EQ(run("umount " + mnt).exit_code, 0);
  auto r = inspect(img);
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->linux_guest.has_value());
  EXPECT_EQ(r->linux_guest->distribution.id, "debian");
  ASSERT_EQ(r->linux_guest->mounts.size(), 1u);
  EXPECT_TRUE(r->linux_guest->mounts[0].found) << r->linux_guest->mounts[0].error;
  EXPECT_EQ(r->linux_guest->mounts[0].error, "");
  // /boot/vmlinuz-* lives in @boot.
  EXPECT_TRUE(std::any_of(r->linux_guest->kernels.begin(), r->linux_guest->kernels.end(),
                          [](const KernelInfo& k) { return k.version == "6.1.0-13-amd64" && k.has_vmlinuz; }));
}

TEST_F(LinuxInspect, RootOnAnLvmLogicalVolume) {
  // The CentOS-family layout: the root is an LV on a PV partition.
  const std::string lv = dir_.file("lv.img");
  run_ok("mke2fs -q -F -t ext4 -d " + root_.string() + " " + lv + " 40M");
  const LvmDisk lvm = make_lvm_disk(dir_, lv);
  if (lvm.path.empty()) GTEST_SKIP() << "the LVM disk could not be made: " << lvm.error;
  auto r = inspect(lvm.path);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->volumes.size(), 2u);
  EXPECT_EQ(r->volumes[0].kind, "LVM2 PV");
  EXPECT_EQ(r->volumes[1].lv, lvm.vg + "/root");
  EXPECT_EQ(r->volumes[1].fs_kind, "ext4");
  ASSERT_TRUE(r->linux_guest.has_value());
  EXPECT_EQ(r->linux_guest->root_partition, 1u);
  EXPECT_EQ(r->linux_guest->root_lv, lvm.vg + "/root");
  EXPECT_EQ(r->linux_guest->distribution.id, "debian");
  EXPECT_EQ(r->linux_guest->architecture, "x86_64");
}

TEST(ElfArchitecture, Machines) {
  auto header = [](std::uint8_t data, std::uint16_t machine) {
    std::vector<std::byte> h(20);
    const char magic[] =
        "\x7f"
        "ELF";
    for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = static_cast<std::byte>(magic[i]);
    h[5] = std::byte{data};
    h[18] = static_cast<std::byte>(data == 2 ? machine >> 8 : machine & 0xff);
    h[19] = static_cast<std::byte>(data == 2 ? machine & 0xff : machine >> 8);
    return h;
  };
  EXPECT_EQ(elf_architecture(header(1, 0x3e)), "x86_64");
  EXPECT_EQ(elf_architecture(header(1, 0x03)), "i386");
  EXPECT_EQ(elf_architecture(header(1, 0xb7)), "arm_64");
  EXPECT_EQ(elf_architecture(header(2, 0x15)), "");  // PowerPC64, big-endian
  EXPECT_EQ(elf_architecture(std::vector<std::byte>(20)), "");
}

}  // namespace
}  // namespace ig::test
