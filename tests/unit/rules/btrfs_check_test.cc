// The import rules on the btrfs layouts distributions install (issue 14), made by the real tools
// on a loop-mounted btrfs (root only; skipped elsewhere):
//   - openSUSE: the root in the snapshot snapper sets as default (@/.snapshots/1/snapshot), /home
//     and /var in their own subvolumes under @, every file written under compress=zstd;
//   - Fedora: the root and /home in the subvolumes "root" and "home" of the top level (which
//     stays the default), mounted by fstab's subvol=, and /boot on a separate ext4 partition.
// Each gets the right verdict, distribution and version.
#include <unistd.h>

#include <filesystem>

#include "rules/check.h"
#include "rules/messages.h"
#include "support/guest.h"
#include "unit/rules/check_expect.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kVirtioBuiltIn =
    "CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n";

class BtrfsLayouts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v mkfs.btrfs").exit_code != 0) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
    if (geteuid() != 0) GTEST_SKIP() << "loop-mounting btrfs needs root";
    mnt_ = dir_.file("mnt");
    fs::create_directories(mnt_);
  }
  void TearDown() override {
    if (mounted_) run("umount " + mnt_);
  }
  // A fresh btrfs of `size` mounted at mnt_ with `options`; its UUID. Skips when the kernel cannot.
  std::string mount_new(const std::string& image, const std::string& size, const std::string& options) {
    run_ok("truncate -s " + size + " " + image + " && mkfs.btrfs -q -f " + image + " 2>&1");
    const auto m = run("mount -o loop," + options + " " + image + " " + mnt_);
    if (m.exit_code != 0) return "";
    mounted_ = true;
    return run_ok("blkid -o value -s UUID " + image).substr(0, 36);
  }
  void unmount() {
    ASSERT_EQ(run("umount " + mnt_).exit_code, 0);
    mounted_ = false;
  }

  TempDir dir_;
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(BtrfsLayouts, OpenSuseSnapperDefaultSnapshotWithZstdExtents) {
  LinuxTree tree(dir_.path() / "tree");
  tree.remove("/usr/lib/os-release");
  tree.write("/usr/lib/os-release",
             "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n"
             "VERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\nCPE_NAME=\"cpe:/o:opensuse:leap:15.5\"\n");
  tree.remove("/boot/grub");
  tree.remove("/boot/vmlinuz-6.1.0-13-amd64");
  tree.add_kernel("5.14.21-150500.55.39-default", kVirtioBuiltIn, {}, {}, false);
  const std::string part = dir_.file("root.btrfs");
  const std::string uuid = mount_new(part, "300M", "compress=zstd");
  if (uuid.empty()) GTEST_SKIP() << "mount -o loop,compress=zstd of a btrfs image failed";
  // The subvolumes openSUSE's installer and snapper make; the system lives in snapshot 1.
  run_ok("cd " + mnt_ +
         " && btrfs -q subvolume create @ && btrfs -q subvolume create @/.snapshots && mkdir @/.snapshots/1"
         " && btrfs -q subvolume create @/.snapshots/1/snapshot && btrfs -q subvolume create @/home"
         " && btrfs -q subvolume create @/var");
  const std::string snap = mnt_ + "/@/.snapshots/1/snapshot";
  run_ok("cp -a " + tree.root().string() + "/. " + snap + "/");
  run_ok("printf 'UUID=" + uuid + " / btrfs defaults 0 0\\nUUID=" + uuid +
         " /.snapshots btrfs subvol=/@/.snapshots 0 0\\nUUID=" + uuid + " /home btrfs subvol=/@/home 0 0\\nUUID=" +
         uuid + " /var btrfs subvol=/@/var 0 0\\n' > " + snap + "/etc/fstab");
  // A decoy in @ itself: the root is the default subvolume, not the first one found.
  run_ok("mkdir -p " + mnt_ + "/@/etc && echo ID=decoy > " + mnt_ + "/@/etc/os-release");
  run_ok("sync && btrfs subvolume set-default " + snap);
  const std::string frag = run_ok("filefrag -v " + snap + "/usr/bin/dash 2>&1 || true");
  unmount();
  EXPECT_NE(frag.find("encoded"), std::string::npos) << "not written compressed: " << frag;

  const std::string disk = dir_.file("opensuse.qcow2");
  const std::string raw = dir_.file("opensuse.raw");
  run_ok("truncate -s 320M " + raw + " && printf 'label: dos\\nstart=2048,type=83,bootable\\n' | sfdisk -q " + raw +
         " && dd if=" + part + " of=" + raw + " bs=512 seek=2048 conv=notrunc,sparse status=none" +
         " && qemu-img convert -f raw -O qcow2 " + raw + " " + disk);
  const CheckReport r = check_file(disk);
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.distribution_name, "openSUSE");
  EXPECT_EQ(r.version, "15.5");
  EXPECT_EQ(args_en(result(r, "root").message), (std::vector<std::string>{"partition 1", "btrfs"}));
  EXPECT_EQ(args_en(result(r, "virtio").message).at(0), "5.14.21-150500.55.39-default");
}

TEST_F(BtrfsLayouts, FedoraRootAndHomeSubvolumesWithExt4Boot) {
  LinuxTree tree(dir_.path() / "tree");
  tree.remove("/usr/lib/os-release");
  tree.write("/usr/lib/os-release",
             "NAME=\"Fedora Linux\"\nVERSION=\"39 (Server Edition)\"\nID=fedora\nVERSION_ID=39\n"
             "VERSION_CODENAME=\"\"\nPLATFORM_ID=\"platform:f39\"\nPRETTY_NAME=\"Fedora Linux 39 (Server Edition)\"\n"
             "VARIANT=\"Server Edition\"\nVARIANT_ID=server\n");
  tree.remove("/boot/vmlinuz-6.1.0-13-amd64");
  tree.add_kernel("6.5.6-300.fc39.x86_64", kVirtioBuiltIn, {}, {}, false);
  tree.write_grub({"6.5.6-300.fc39.x86_64"}, "");
  // /boot moves to its own ext4 partition, as Fedora's installer lays it out.
  const fs::path boot = dir_.path() / "boot";
  fs::rename(tree.root() / "boot", boot);
  fs::create_directories(tree.root() / "boot");
  const std::string boot_fs = dir_.file("boot.ext4");
  run_ok("mke2fs -q -t ext4 -U 11111111-2222-4333-8444-555555555555 -d " + boot.string() + " " + boot_fs + " 16M");

  const std::string part = dir_.file("root.btrfs");
  const std::string uuid = mount_new(part, "300M", "compress=zstd:1");
  if (uuid.empty()) GTEST_SKIP() << "mount -o loop of a btrfs image failed";
  run_ok("cd " + mnt_ + " && btrfs -q subvolume create root && btrfs -q subvolume create home");
  run_ok("cp -a " + tree.root().string() + "/. " + mnt_ + "/root/");
  run_ok("printf 'UUID=" + uuid + " / btrfs subvol=root,compress=zstd:1 0 0\\n" +
         "UUID=11111111-2222-4333-8444-555555555555 /boot ext4 defaults 1 2\\nUUID=" + uuid +
         " /home btrfs subvol=home,compress=zstd:1 0 0\\n' > " + mnt_ + "/root/etc/fstab");
  unmount();

  const std::string raw = dir_.file("fedora.raw");
  run_ok("truncate -s 340M " + raw + " && printf 'label: dos\\nstart=2048,size=32768,type=83,bootable\\nstart=34816," +
         "type=83\\n' | sfdisk -q " + raw + " && dd if=" + boot_fs + " of=" + raw +
         " bs=512 seek=2048 conv=notrunc status=none && dd if=" + part + " of=" + raw +
         " bs=512 seek=34816 conv=notrunc,sparse status=none");
  const CheckReport r = check_file(raw);
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.distribution_name, "Fedora");
  EXPECT_EQ(r.version, "39");
  EXPECT_EQ(args_en(result(r, "root").message), (std::vector<std::string>{"partition 2", "btrfs"}));
  EXPECT_EQ(args_en(result(r, "virtio").message).at(0), "6.5.6-300.fc39.x86_64");
}

}  // namespace
}  // namespace ig::test
