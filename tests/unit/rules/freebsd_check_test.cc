// The import rules on FreeBSD disks made from real tools (makefs, sfdisk, sgdisk, qemu-img; the
// BSD label as bsdlabel(8) writes it): the healthy guest passes, and each broken thing gets the
// exact code, check and cause. Also an openSUSE-like guest on btrfs (mkfs.btrfs --rootdir).
#include <filesystem>

#include "io/sources.h"
#include "rules/check.h"
#include "rules/messages.h"
#include "rules/render.h"
#include "support/freebsd.h"
#include "support/guest.h"
#include "unit/rules/check_expect.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class FreeBsdCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v makefs").exit_code != 0) GTEST_SKIP() << "makefs is not installed (Debian package makefs)";
    tree_ = std::make_unique<FreeBsdTree>(dir_.path() / "tree");
  }
  static CheckReport check(const std::string& path, CheckOptions options = {}) { return check_file(path, options); }
  CheckReport check_disk(const FreeBsdDiskSpec& spec = {}, CheckOptions options = {}) {
    return check(make_freebsd_disk(dir_, tree_->root().string(), spec), options);
  }
  TempDir dir_;
  std::unique_ptr<FreeBsdTree> tree_;
};

TEST_F(FreeBsdCheck, HealthyGuestPasses) {
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.reason.id, "verdict.pass");
  EXPECT_EQ(r.partition_table, "mbr");
  EXPECT_EQ(r.os_type, "freebsd");
  EXPECT_EQ(r.distribution, "freebsd");
  EXPECT_EQ(r.distribution_name, "FreeBSD");
  EXPECT_EQ(r.version, "14.1");
  EXPECT_EQ(r.architecture, "x86_64");
  for (const CheckResult& c : r.checks) {
    EXPECT_EQ(c.status == CheckStatus::kPass || (c.name == "declared" && c.status == CheckStatus::kSkipped), true)
        << c.name << ": " << render(c.message, Lang::kEn);
  }
  const CheckResult& root = result(r, "root");
  EXPECT_EQ(root.message.id, "root.ok");
  EXPECT_EQ(args_en(root.message), (std::vector<std::string>{"partition 1a", "ufs2"}));
  EXPECT_EQ(args_en(result(r, "os").message), (std::vector<std::string>{"FreeBSD", "14.1"}));
  EXPECT_EQ(evidence_en(result(r, "os")).at(0), "/bin/freebsd-version: USERLAND_VERSION=\"14.1-RELEASE-p5\"");
  EXPECT_EQ(evidence_en(result(r, "architecture")),
            (std::vector<std::string>{"from the ELF header of /boot/kernel/kernel"}));
  const CheckResult& virtio = result(r, "virtio");
  EXPECT_EQ(virtio.message.id, "virtio.bsd-ok");
  EXPECT_EQ(args_en(virtio.message), (std::vector<std::string>{"/boot/kernel/kernel (14.1-RELEASE-p5)"}));
  EXPECT_EQ(evidence_en(virtio).at(1), "virtio_blk: built-in, compiled into /boot/kernel/kernel");
  ASSERT_EQ(r.kernels.size(), 1u);
  EXPECT_EQ(r.kernels[0].version, "14.1-RELEASE-p5");
  EXPECT_TRUE(r.kernels[0].is_default);
  EXPECT_EQ(r.kernels[0].virtio.size(), 4u);
  const CheckResult& cloud = result(r, "cloud-init");
  EXPECT_EQ(cloud.message.id, "cinit.ok");
  EXPECT_EQ(args_en(cloud.message), (std::vector<std::string>{"24.1.4"}));
  ASSERT_TRUE(r.cloud_init.has_value());
  EXPECT_TRUE(r.cloud_init->enabled);
  // The JSON names the OS; the declared OS agrees when it is FreeBSD 14.
  const auto j = render_json(r, Lang::kEn);
  EXPECT_EQ(j["os"]["type"], "freebsd");
  EXPECT_EQ(j["os"]["name"], "FreeBSD");
  EXPECT_EQ(j["os"]["kernels"][0]["virtio"]["vtnet"]["state"], "built-in");
  CheckOptions declared;
  declared.os_type = "FreeBSD";
  declared.os_version = "14";
  declared.architecture = "x86_64";
  EXPECT_EQ(result(check_disk({}, declared), "declared").status, CheckStatus::kPass);
  declared.os_type = "Debian";
  const CheckReport mismatch = check_disk({}, declared);
  EXPECT_EQ(result(mismatch, "declared").message.id, "declared.type");
  EXPECT_EQ(mismatch.reason.id, "verdict.pass-warnings");
}

TEST_F(FreeBsdCheck, NoVirtioIsVirtioNotInstall) {
  tree_->write_kernel(kernel_strings_without_virtio());
  const CheckReport r = check_disk();
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.bsd-not-loaded");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{"/boot/kernel/kernel (14.1-RELEASE-p5)", "virtio_blk",
                                                         "/boot/kernel/virtio_blk.ko"}));
  EXPECT_EQ(result(r, "virtio").advice->id, "advice.bsd-virtio");
  EXPECT_EQ(evidence_en(result(r, "virtio")).at(1),
            "virtio_blk: absent, /boot/kernel/virtio_blk.ko is there but nothing loads it");
  EXPECT_EQ(r.kernels.at(0).virtio.at(0).state, "absent");
  // Without the module files either: absent.
  for (const char* ko : {"virtio.ko", "virtio_pci.ko", "virtio_blk.ko", "if_vtnet.ko"}) {
    tree_->remove(std::string("/boot/kernel/") + ko);
  }
  expect_failure(check_disk(), kVirtioNotInstall, "virtio", "virtio.bsd-absent");
  // Loaded, but a file is missing.
  tree_->write("/boot/loader.conf", "virtio_blk_load=\"YES\"\n");
  const CheckReport missing = check_disk();
  expect_failure(missing, kVirtioNotInstall, "virtio", "virtio.bsd-module-missing");
  EXPECT_EQ(args_en(missing.reason).at(2), "/boot/loader.conf: virtio_blk_load=\"YES\"");
  // No kernel at all.
  tree_->remove("/boot/kernel");
  const CheckReport none = check_disk();
  expect_failure(none, kVirtioNotInstall, "virtio", "virtio.bsd-no-kernel");
  EXPECT_EQ(result(none, "virtio").advice->id, "advice.bsd-no-kernel");
}

// The drivers as modules that loader.conf loads pass, as virtio(4) documents them.
TEST_F(FreeBsdCheck, VirtioModulesFromLoaderConfPass) {
  tree_->write_kernel(kernel_strings_without_virtio());
  tree_->write("/boot/loader.conf",
               "virtio_load=\"YES\"\nvirtio_pci_load=\"YES\"\nvirtio_blk_load=\"YES\"\nif_vtnet_load=\"YES\"\n");
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  for (const auto& d : r.kernels.at(0).virtio) EXPECT_EQ(d.state, "module") << d.name;
}

TEST_F(FreeBsdCheck, NoCloudInitIsCloudInitNotInstalled) {
  tree_->remove("/usr/local/bin/cloud-init");
  tree_->remove("/usr/local/lib/python3.11");
  const CheckReport r = check_disk();
  expect_failure(r, kCloudInitNotInstalled, "cloud-init", "cinit.missing");
  EXPECT_EQ(result(r, "cloud-init").advice->id, "advice.bsd-cloud-init");
  CheckOptions force;
  force.force = true;
  const CheckReport forced = check_disk({}, force);
  EXPECT_TRUE(forced.pass) << render(forced.reason, Lang::kEn);
  EXPECT_EQ(result(forced, "cloud-init").message.id, "cinit.forced");
  // Installed but not enabled in rc.conf.
  tree_->write("/usr/local/bin/cloud-init", "#!/usr/local/bin/python3.11\n");
  tree_->write("/etc/rc.conf", "sshd_enable=\"YES\"\ncloudinit_enable=\"NO\"\n");
  const CheckReport off = check_disk();
  expect_failure(off, kCloudInitNotInstalled, "cloud-init", "cinit.disabled");
  EXPECT_EQ(args_en(off.reason), (std::vector<std::string>{"/etc/rc.conf: cloudinit_enable=\"NO\""}));
  EXPECT_EQ(result(off, "cloud-init").advice->id, "advice.bsd-cloud-init-enable");
  // Set nowhere: the reason is the report's own sentence, in its language.
  tree_->write("/etc/rc.conf", "sshd_enable=\"YES\"\n");
  const CheckReport unset = check_disk();
  expect_failure(unset, kCloudInitNotInstalled, "cloud-init", "cinit.disabled");
  EXPECT_EQ(render(unset.reason, Lang::kEn),
            "cloud-init is installed but disabled: cloudinit_enable is not set in /etc/rc.conf");
  EXPECT_EQ(render(unset.reason, Lang::kZh), "已安装 cloud-init，但被禁用：/etc/rc.conf 中未设置 cloudinit_enable");
}

TEST_F(FreeBsdCheck, GptIsThePartitionTableRule) {
  if (run("command -v sgdisk").exit_code != 0) GTEST_SKIP() << "sgdisk (gdisk) is not installed";
  const CheckReport r = check_disk({FreeBsdLayout::kGpt});
  expect_failure(r, kPartitionNotPresent, "partition-table", "ptable.gpt");
  // The rest is still judged: the report names the OS on the GPT disk.
  EXPECT_EQ(args_en(result(r, "root").message), (std::vector<std::string>{"partition 1", "ufs2"}));
  EXPECT_EQ(r.distribution_name, "FreeBSD");
  EXPECT_EQ(r.version, "14.1");
  EXPECT_EQ(result(r, "virtio").status, CheckStatus::kPass);
}

// A ZFS root (a BSD label partition of fstype ZFS, or a GPT freebsd-zfs partition): imagegate
// cannot read it, which is "cannot verify", never RootPartitionNotFound.
TEST_F(FreeBsdCheck, ZfsRootCannotBeVerified) {
  const CheckReport r = check_disk({FreeBsdLayout::kMbrBsdLabel, true});
  EXPECT_FALSE(r.pass);
  EXPECT_TRUE(r.unverified);
  EXPECT_EQ(r.error_code, "");
  EXPECT_EQ(r.reason.id, "root.cannot-read");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{"partition 1a (zfs)"}));
  EXPECT_EQ(result(r, "virtio").message.id, "skipped.unverified");
  if (run("command -v sgdisk").exit_code == 0) {
    const CheckReport gpt = check_disk({FreeBsdLayout::kGpt, true});
    expect_failure(gpt, kPartitionNotPresent, "partition-table", "ptable.gpt");
    EXPECT_EQ(result(gpt, "root").status, CheckStatus::kUnverified);
    EXPECT_EQ(args_en(result(gpt, "root").message), (std::vector<std::string>{"partition 1 (zfs)"}));
  }
}

// A release outside the cloud's FreeBSD list, and an architecture it does not list for FreeBSD:
// warnings, not failures.
TEST_F(FreeBsdCheck, UnlistedReleaseAndArchitectureWarn) {
  tree_->write("/bin/freebsd-version", "USERLAND_VERSION=\"15.0-RELEASE\"\n");
  tree_->write_kernel(generic_kernel_strings(), "/boot/kernel/kernel", 0xb7);
  const CheckReport r = check_disk();
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(result(r, "os").status, CheckStatus::kWarn);
  EXPECT_EQ(result(r, "os").message.id, "os.freebsd-unlisted");
  EXPECT_EQ(args_en(result(r, "os").message), (std::vector<std::string>{"15.0", "11, 12, 13, 14"}));
  EXPECT_EQ(result(r, "architecture").message.id, "arch.unlisted-freebsd");
  EXPECT_EQ(args_en(result(r, "architecture").message), (std::vector<std::string>{"arm_64", "FreeBSD", "x86_64"}));
  EXPECT_EQ(r.reason.id, "verdict.pass-warnings");
}

// openSUSE on btrfs (mkfs.btrfs --rootdir from the healthy guest with openSUSE's os-release and
// a kernel with the virtio drivers built in): the root is read and the guest passes.
TEST(BtrfsCheck, OpenSuseOnBtrfsPasses) {
  if (run("command -v mkfs.btrfs").exit_code != 0) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
  TempDir dir;
  LinuxTree tree(dir.path() / "tree");
  tree.remove("/usr/lib/os-release");
  tree.write("/usr/lib/os-release",
             "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n"
             "VERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\n");
  tree.remove("/boot/grub");
  tree.add_kernel("5.14.21-150500.55.39-default",
                  "CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n", {}, {}, false);
  tree.remove("/boot/vmlinuz-6.1.0-13-amd64");
  const std::string part = dir.file("root.btrfs");
  run_ok("truncate -s 200M " + part + " && mkfs.btrfs -q -f --rootdir " + tree.root().string() + " " + part + " 2>&1");
  const std::string raw = dir.file("opensuse.raw");
  run_ok("truncate -s 220M " + raw + " && printf 'label: dos\\nstart=2048,type=83,bootable\\n' | sfdisk -q " + raw +
         " && dd if=" + part + " of=" + raw + " bs=512 seek=2048 conv=notrunc,sparse status=none");
  auto file = FileSource::open(raw);
  ASSERT_THAT(file, IsOk());
  auto r = check_image(SourcePtr(std::move(*file)), {});
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->pass) << render(r->reason, Lang::kEn);
  EXPECT_EQ(args_en(result(*r, "root").message), (std::vector<std::string>{"partition 1", "btrfs"}));
  EXPECT_EQ(r->distribution_name, "openSUSE");
  EXPECT_EQ(r->version, "15.5");
  EXPECT_EQ(args_en(result(*r, "virtio").message).at(0), "5.14.21-150500.55.39-default");
}

}  // namespace
}  // namespace ig::test
