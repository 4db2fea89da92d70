// The FreeBSD inspector over UFS2 roots made by makefs from trees shaped like a FreeBSD install
// (support/freebsd.h): the release, the architecture, the kernel the loader boots and how it gets
// its virtio drivers, cloud-init; then the whole disk, a BSD label inside an MBR slice.
#include "inspect/freebsd.h"

#include <filesystem>
#include <fstream>

#include "fs/ufs.h"
#include "inspect/linux.h"
#include "support/freebsd.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class FreeBsdInspect : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v makefs").exit_code != 0) GTEST_SKIP() << "makefs is not installed (Debian package makefs)";
    tree_ = std::make_unique<FreeBsdTree>(dir_.path() / "root");
  }
  // describe_freebsd over the tree made into UFS2 by makefs.
  std::optional<FreeBsdGuest> describe() {
    const std::string image = dir_.file("ufs.img");
    run_ok("rm -f " + image + " && makefs -t ffs -o version=2 -s 12m " + image + " " + tree_->root().string() +
           " > /dev/null");
    auto file = FileSource::open(image);
    EXPECT_THAT(file, IsOk());
    auto ufs = ufs::open(std::shared_ptr<const ByteSource>(std::move(*file)));
    EXPECT_THAT(ufs, IsOk());
    return describe_freebsd(**ufs);
  }
  static const DriverInfo& driver(const FreeBsdGuest& g, const std::string& name) {
    for (const DriverInfo& d : g.kernel.virtio) {
      if (d.name == name) return d;
    }
    ADD_FAILURE() << "no driver " << name;
    static const DriverInfo none;
    return none;
  }
  TempDir dir_;
  std::unique_ptr<FreeBsdTree> tree_;
};

// The whole disk: partition 'a' of the BSD label in MBR slice 1 is the root, read through qcow2.
TEST_F(FreeBsdInspect, HealthyGuestInABsdLabelThroughQcow2) {
  auto image = open_file(make_freebsd_disk(dir_, tree_->root().string()));
  ASSERT_THAT(image, IsOk());
  auto r = inspect_disk(SourcePtr(std::move(*image)));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->volumes.size(), 2u);
  const VolumeSummary& a = r->volumes[0];
  EXPECT_EQ(a.partition, 1u);
  EXPECT_EQ(a.bsd_partition, "a");
  EXPECT_EQ(a.kind, "ufs");
  EXPECT_EQ(a.fs_kind, "ufs2");
  EXPECT_TRUE(a.freebsd_root);
  EXPECT_FALSE(a.linux_root);
  EXPECT_EQ(r->volumes[1].bsd_partition, "b");
  EXPECT_FALSE(r->linux_guest.has_value());
  ASSERT_TRUE(r->freebsd_guest.has_value());
  const FreeBsdGuest& g = *r->freebsd_guest;
  EXPECT_EQ(g.root_partition, 1u);
  EXPECT_EQ(g.root_bsd_partition, "a");
  EXPECT_EQ(g.userland_version, "14.1-RELEASE-p5");
  EXPECT_EQ(g.version, "14.1");
  EXPECT_EQ(g.version_source, "/bin/freebsd-version");
  EXPECT_EQ(g.os_release.at("ID"), "freebsd");
  EXPECT_EQ(g.os_release.at("PRETTY_NAME"), "FreeBSD 14.1-RELEASE-p5");
  EXPECT_EQ(g.architecture, "x86_64");
  EXPECT_EQ(g.architecture_source, "/boot/kernel/kernel");
  EXPECT_EQ(g.loader_conf, (std::vector<std::string>{"/boot/loader.conf"}));
  EXPECT_TRUE(g.kernel.found);
  EXPECT_EQ(g.kernel.path, "/boot/kernel/kernel");
  EXPECT_EQ(g.kernel.version, "14.1-RELEASE-p5");
  EXPECT_EQ(g.kernel.ident, "FreeBSD 14.1-RELEASE-p5 releng/14.1-n267718-2a7d1e3ae5a3 GENERIC");
  EXPECT_EQ(g.kernel.scanned_bytes, fs::file_size(tree_->root() / "boot/kernel/kernel"));
  EXPECT_EQ(g.kernel.error, "");
  ASSERT_EQ(g.kernel.virtio.size(), 4u);
  for (const DriverInfo& d : g.kernel.virtio) {
    EXPECT_EQ(d.state, DriverState::kBuiltIn) << d.name;
    EXPECT_EQ(d.config, "") << d.name;
  }
  EXPECT_EQ(driver(g, "vtnet").module, "/boot/kernel/if_vtnet.ko");  // GENERIC ships the modules too
  EXPECT_TRUE(g.cloud_init.installed);
  EXPECT_FALSE(g.cloud_init.disabled);
  EXPECT_EQ(g.cloud_init.version, "24.1.4");
  EXPECT_EQ(g.cloud_init.evidence,
            (std::vector<std::string>{"/usr/local/bin/cloud-init", "/usr/local/lib/python3.11/site-packages/cloudinit",
                                      "/usr/local/etc/cloud/cloud.cfg", "/etc/rc.conf: cloudinit_enable=\"YES\""}));
  EXPECT_TRUE(g.notes.empty()) << g.notes.front();
}

// Never booted: /var/run/os-release does not exist yet, so /etc/os-release dangles. The script
// alone says FreeBSD; an AArch64 kernel is arm_64.
TEST_F(FreeBsdInspect, NeverBootedImageWithoutOsRelease) {
  tree_->remove("/var/run/os-release");
  tree_->write_kernel(generic_kernel_strings(), "/boot/kernel/kernel", 0xb7);
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->version, "14.1");
  EXPECT_TRUE(g->os_release.empty());
  EXPECT_EQ(g->architecture, "arm_64");
  ASSERT_EQ(g->notes.size(), 1u);
  EXPECT_NE(g->notes[0].find("/etc/os-release"), std::string::npos) << g->notes[0];
}

// os-release alone (the script removed): the version comes from VERSION_ID. No kernel: the kernel
// is not found, and the architecture comes from /bin/sh.
TEST_F(FreeBsdInspect, OsReleaseAloneAndNoKernel) {
  tree_->remove("/bin/freebsd-version");
  tree_->write("/var/run/os-release", "NAME=FreeBSD\nVERSION_ID=13.3\nID=freebsd\n");
  tree_->remove("/boot/kernel/kernel");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->version, "13.3");
  EXPECT_EQ(g->version_source, "/etc/os-release");
  EXPECT_EQ(g->userland_version, "");
  EXPECT_FALSE(g->kernel.found);
  EXPECT_NE(g->kernel.error.find("/boot/kernel/kernel"), std::string::npos) << g->kernel.error;
  EXPECT_EQ(g->architecture, "x86_64");
  EXPECT_EQ(g->architecture_source, "/bin/sh");
  for (const DriverInfo& d : g->kernel.virtio) EXPECT_EQ(d.state, DriverState::kAbsent) << d.name;
}

TEST_F(FreeBsdInspect, NotFreeBsd) {
  tree_->remove("/bin/freebsd-version");
  tree_->write("/var/run/os-release", "ID=debian\nVERSION_ID=12\n");
  EXPECT_FALSE(describe().has_value());
}

// A kernel without virtio, and the modules loaded by the loader's files in their order:
// loader.conf, loader.conf.d/*.conf, loader.conf.local (the last assignment wins).
TEST_F(FreeBsdInspect, VirtioModulesLoadedByTheLoaderConfiguration) {
  tree_->write_kernel(kernel_strings_without_virtio());
  tree_->write("/boot/loader.conf", "autoboot_delay=\"-1\"\nvirtio_blk_load=\"YES\"\nif_vtnet_load=\"NO\"\n");
  tree_->write("/boot/loader.conf.d/virtio.conf", "virtio_pci_load=\"yes\" # lower case is fine\n");
  tree_->write("/boot/loader.conf.d/ignored.txt", "virtio_pci_load=\"NO\"\n");
  tree_->write("/boot/loader.conf.local", "if_vtnet_load=YES\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->loader_conf, (std::vector<std::string>{"/boot/loader.conf", "/boot/loader.conf.d/virtio.conf",
                                                      "/boot/loader.conf.local"}));
  const DriverInfo& blk = driver(*g, "virtio_blk");
  EXPECT_EQ(blk.state, DriverState::kModule);
  EXPECT_EQ(blk.config, "/boot/loader.conf: virtio_blk_load=\"YES\"");
  EXPECT_EQ(blk.module, "/boot/kernel/virtio_blk.ko");
  EXPECT_EQ(driver(*g, "vtnet").state, DriverState::kModule);
  EXPECT_EQ(driver(*g, "vtnet").config, "/boot/loader.conf.local: if_vtnet_load=\"YES\"");
  EXPECT_EQ(driver(*g, "virtio_pci").config, "/boot/loader.conf.d/virtio.conf: virtio_pci_load=\"yes\"");
  // The core is loaded as their dependency.
  EXPECT_EQ(driver(*g, "virtio").state, DriverState::kModule);
  EXPECT_EQ(driver(*g, "virtio").config, "");
  EXPECT_EQ(driver(*g, "virtio").module, "/boot/kernel/virtio.ko");
}

// Loaded but the file is gone; there but not loaded; and a module found in module_path.
TEST_F(FreeBsdInspect, ModulesMissingOrNotLoaded) {
  tree_->write_kernel(kernel_strings_without_virtio());
  tree_->remove("/boot/kernel/if_vtnet.ko");
  tree_->remove("/boot/kernel/virtio_pci.ko");
  tree_->write("/boot/modules/virtio_pci.ko", "module");
  tree_->write("/boot/loader.conf", "if_vtnet_load=\"YES\"\nvirtio_pci_load=\"YES\"\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(driver(*g, "vtnet").state, DriverState::kModuleMissing);
  EXPECT_EQ(driver(*g, "vtnet").module, "");
  EXPECT_EQ(driver(*g, "virtio_blk").state, DriverState::kAbsent);
  EXPECT_EQ(driver(*g, "virtio_blk").module, "/boot/kernel/virtio_blk.ko");
  EXPECT_EQ(driver(*g, "virtio_pci").state, DriverState::kModule);
  EXPECT_EQ(driver(*g, "virtio_pci").module, "/boot/modules/virtio_pci.ko");
}

// A module_path directory that cannot be looked in (a symbolic link to itself, its name with an
// escape): a loaded module not found elsewhere is unknown, not missing, and the lookup is named as
// printable text (the review of 2026-12-07).
TEST_F(FreeBsdInspect, ModuleBehindADirectoryThatCannotBeReadIsNoted) {
  tree_->write_kernel(kernel_strings_without_virtio());
  tree_->remove("/boot/kernel/if_vtnet.ko");
  fs::create_symlink("l\x1bop", tree_->root() / "boot/l\x1bop");
  tree_->write("/boot/loader.conf", "if_vtnet_load=\"YES\"\nmodule_path=\"/boot/modules;/boot/l\x1bop\"\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(driver(*g, "vtnet").state, DriverState::kModuleMissing);
  ASSERT_FALSE(g->kernel.unreadable.empty());
  EXPECT_THAT(g->kernel.unreadable.front(), ::testing::StartsWith("/boot/l\\x1Bop/if_vtnet.ko: "));
}

// loader.conf's kernel= names the kernel's directory; its modules are looked for there.
TEST_F(FreeBsdInspect, KernelChosenByLoaderConf) {
  tree_->write_kernel(kernel_strings_without_virtio());
  tree_->write_kernel(generic_kernel_strings(), "/boot/kernel.virtio/kernel");
  tree_->write("/boot/kernel.virtio/virtio_blk.ko", "module");
  tree_->write("/boot/loader.conf", "kernel=\"kernel.virtio\"\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->kernel.path, "/boot/kernel.virtio/kernel");
  EXPECT_EQ(g->kernel.path_source, "/boot/loader.conf: kernel=\"kernel.virtio\"");
  EXPECT_EQ(driver(*g, "virtio_blk").state, DriverState::kBuiltIn);
  EXPECT_EQ(driver(*g, "virtio_blk").module, "/boot/kernel.virtio/virtio_blk.ko");
  // A path is not a kernel name: the default stays, with a note.
  tree_->write("/boot/loader.conf", "kernel=\"../../etc\"\n");
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->kernel.path, "/boot/kernel/kernel");
  EXPECT_EQ(driver(*g, "virtio_blk").state, DriverState::kAbsent);
  ASSERT_EQ(g->notes.size(), 1u);
  EXPECT_NE(g->notes[0].find("not a plain name"), std::string::npos) << g->notes[0];
}

// The kernel is searched in 1 MiB chunks: names lying across a chunk border are found, and the
// ident is read whole. The file need not be ELF for the search (the architecture then comes
// from /bin/sh).
TEST_F(FreeBsdInspect, KernelNamesAcrossChunkBorders) {
  std::string kernel(3 << 20, 'k');
  auto put = [&](std::size_t at, std::string_view s) { kernel.replace(at, s.size(), s); };
  put((1 << 20) - 7, std::string_view("virtio_pci/virtio_blk\0", 22));
  put((2 << 20) - 10, std::string_view("@(#)FreeBSD 13.3-RELEASE-p4 GENERIC\n", 36));
  put((2 << 20) + 100, std::string_view("virtio_pci/vtnet\0", 17));
  put((3 << 20) - 15, std::string_view("pci/virtio_pci\0", 15));  // FreeBSD 12 and older
  tree_->write("/boot/kernel/kernel", kernel);
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->kernel.ident, "FreeBSD 13.3-RELEASE-p4 GENERIC");
  EXPECT_EQ(g->kernel.version, "13.3-RELEASE-p4");
  EXPECT_EQ(g->kernel.scanned_bytes, 3u << 20);
  for (const DriverInfo& d : g->kernel.virtio) EXPECT_EQ(d.state, DriverState::kBuiltIn) << d.name;
  EXPECT_EQ(g->architecture_source, "/bin/sh");
  // A name without its NUL is another name ("virtio_pci/virtio_blk_iocap" is not virtio_blk).
  put((1 << 20) - 7, "virtio_pci/virtio_blk_iocap");
  tree_->write("/boot/kernel/kernel", kernel);
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(driver(*g, "virtio_blk").state, DriverState::kAbsent);
}

// Hostile text in the kernel's ident and the script: made printable, never taken as a version.
TEST_F(FreeBsdInspect, HostileIdentAndVersion) {
  tree_->write_kernel({"@(#)FreeBSD 14.1\x1b[2J-RELEASE GENERIC\n"});
  tree_->write("/bin/freebsd-version", "USERLAND_VERSION=\"$(reboot)\"\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->kernel.version, "");
  EXPECT_EQ(g->kernel.ident, "FreeBSD 14.1\\x1B[2J-RELEASE GENERIC");
  EXPECT_EQ(g->userland_version, "");
  EXPECT_EQ(g->version, "14.1");  // from os-release
  EXPECT_EQ(g->version_source, "/etc/os-release");
}

TEST_F(FreeBsdInspect, CloudInitDisabledOrAbsent) {
  tree_->write("/etc/rc.conf", "cloudinit_enable=\"NO\"\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->cloud_init.installed);
  EXPECT_TRUE(g->cloud_init.disabled);
  EXPECT_EQ(g->cloud_init.disabled_by, (std::vector<std::string>{"/etc/rc.conf: cloudinit_enable=\"NO\""}));
  // rc.conf.local comes after rc.conf and wins; rc.subr's checkyesno takes "on".
  tree_->write("/etc/rc.conf.local", "cloudinit_enable=on\n");
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_FALSE(g->cloud_init.disabled);
  // cloud-init.disabled turns it off whatever rc.conf says.
  tree_->write("/usr/local/etc/cloud/cloud-init.disabled", "");
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->cloud_init.disabled);
  EXPECT_EQ(g->cloud_init.disabled_by, (std::vector<std::string>{"/usr/local/etc/cloud/cloud-init.disabled"}));
  // Not set at all: the rc.d scripts do not run.
  tree_->remove("/usr/local/etc/cloud/cloud-init.disabled");
  tree_->remove("/etc/rc.conf.local");
  tree_->write("/etc/rc.conf", "sshd_enable=\"YES\"\n");
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->cloud_init.disabled);
  EXPECT_TRUE(g->cloud_init.disabled_by.empty());
  EXPECT_TRUE(g->cloud_init.enable_unset);
  // Not installed; FreeBSD's own nuageinit is named, not counted.
  tree_->remove("/usr/local/bin/cloud-init");
  tree_->remove("/usr/local/lib/python3.11");
  tree_->write("/usr/libexec/nuageinit", "#!/usr/libexec/flua\n");
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_FALSE(g->cloud_init.installed);
  EXPECT_EQ(g->cloud_init.evidence, (std::vector<std::string>{"/usr/local/etc/cloud/cloud.cfg"}));
  ASSERT_EQ(g->cloud_init.notes.size(), 1u);
  EXPECT_NE(g->cloud_init.notes[0].find("nuageinit"), std::string::npos);
}

// bsd-cloudinit as its installer leaves it: /root/bsd-cloudinit, run once by /etc/rc.local.
TEST_F(FreeBsdInspect, BsdCloudinit) {
  tree_->remove("/usr/local/bin/cloud-init");
  tree_->remove("/usr/local/lib/python3.11");
  tree_->remove("/usr/local/etc/cloud");
  tree_->write("/root/bsd-cloudinit/run.py", "#!/usr/bin/env python\n");
  tree_->write("/etc/rc.local",
               "# Generated by bsd-cloudinit-installer 2024/09/20 10:00:00\n(\n"
               "\t/usr/local/bin/python2.7 /root/bsd-cloudinit/run.py --log-file /tmp/cloudinit.log \n"
               "\tcp -pf /etc/rc.local.bak /etc/rc.local\n\trm -r /root/bsd-cloudinit\n)\n");
  auto g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->cloud_init.installed);
  EXPECT_FALSE(g->cloud_init.disabled);
  EXPECT_EQ(g->cloud_init.evidence,
            (std::vector<std::string>{"bsd-cloudinit: /root/bsd-cloudinit/run.py, run by /etc/rc.local"}));
  tree_->remove("/etc/rc.local");
  g = describe();
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->cloud_init.disabled);
  EXPECT_TRUE(g->cloud_init.disabled_by.empty());
  EXPECT_TRUE(g->cloud_init.rc_local_missing);
}

TEST(FreeBsdVersion, ParsesTheScriptsAssignment) {
  EXPECT_EQ(parse_freebsd_version("set -e\n\nUSERLAND_VERSION=\"14.1-RELEASE-p5\"\n"), "14.1-RELEASE-p5");
  EXPECT_EQ(parse_freebsd_version("USERLAND_VERSION=15.0-CURRENT\n"), "15.0-CURRENT");
  EXPECT_EQ(parse_freebsd_version("  USERLAND_VERSION='13.2-STABLE'  \r\n"), "13.2-STABLE");
  EXPECT_EQ(parse_freebsd_version("KERNEL_VERSION=1\n"), "");
  EXPECT_EQ(parse_freebsd_version("USERLAND_VERSION=\"$(evil)\"\n"), "");  // not a version: never run
  EXPECT_EQ(parse_freebsd_version("USERLAND_VERSION=\"14.1\x1b[2J\"\n"), "");
  EXPECT_EQ(parse_freebsd_version(""), "");
}

TEST(BsdConf, AssignmentsAsTheLoaderAndRcRead) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parse_bsd_conf("# comment\n\nvirtio_blk_load=\"YES\"\n  kern.vty = vt  # spaces\n"
                           "if_vtnet_load='YES'\nbad=\"unterminated\n: ${ROOT:=}\nset -e\n=x\n"
                           "hw.memtest.tests=\"0\" # trailing\ncloudinit_enable=YES;\n"),
            (Pairs{{"virtio_blk_load", "YES"},
                   {"kern.vty", "vt"},
                   {"if_vtnet_load", "YES"},
                   {"hw.memtest.tests", "0"},
                   {"cloudinit_enable", "YES"}}));
  EXPECT_TRUE(parse_bsd_conf(std::string(100000, '=')).empty());
}

}  // namespace
}  // namespace ig::test
