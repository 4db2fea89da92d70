// `imagegate check` on FreeBSD disks (support/freebsd.h: makefs UFS2 in a BSD label inside an MBR
// slice), as a user runs it: the exit code, the human report and the JSON.
#include <filesystem>

#include "support/freebsd.h"

namespace ig::test {
namespace {

const std::string kCli = IG_CLI_PATH;

class FreeBsdCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v makefs").exit_code != 0) GTEST_SKIP() << "makefs is not installed (Debian package makefs)";
    tree_ = std::make_unique<FreeBsdTree>(dir_.path() / "tree");
  }
  std::string disk(const FreeBsdDiskSpec& spec = {}) { return make_freebsd_disk(dir_, tree_->root().string(), spec); }
  TempDir dir_;
  std::unique_ptr<FreeBsdTree> tree_;
};

TEST_F(FreeBsdCli, HealthyFreeBsdVmdkImports) {
  const std::string vmdk = disk({FreeBsdLayout::kMbrBsdLabel, false, "vmdk"});
  const CommandResult h = run(kCli + " check --lang en " + vmdk);
  ASSERT_EQ(h.exit_code, 0) << h.out;
  EXPECT_EQ(h.out.rfind("The image meets every import rule.\n", 0), 0u) << h.out;
  for (const char* line :
       {"✔ Root partition: partition 1a, ufs2\n", "✔ Operating system: FreeBSD 14.1\n", "✔ Architecture: x86_64\n",
        "✔ Virtio drivers: kernel /boot/kernel/kernel (14.1-RELEASE-p5) has virtio_blk, vtnet and "
        "virtio_pci, compiled in or loaded by the boot loader\n",
        "✔ cloud-init: installed and enabled 24.1.4\n"}) {
    EXPECT_NE(h.out.find(line), std::string::npos) << line << "\n" << h.out;
  }
  const CommandResult j = run(kCli + " check --output=json --os-type FreeBSD --os-version 14 --arch x86_64 " + vmdk);
  ASSERT_EQ(j.exit_code, 0) << j.out;
  const auto r = nlohmann::json::parse(j.out);
  EXPECT_EQ(r["result"], "pass");
  EXPECT_EQ(r["os"]["type"], "freebsd");
  EXPECT_EQ(r["os"]["distribution"], "freebsd");
  EXPECT_EQ(r["os"]["name"], "FreeBSD");
  EXPECT_EQ(r["os"]["version"], "14.1");
  EXPECT_EQ(r["os"]["architecture"], "x86_64");
  EXPECT_EQ(r["os"]["kernels"][0]["version"], "14.1-RELEASE-p5");
  EXPECT_EQ(r["os"]["kernels"][0]["virtio"]["virtio_blk"]["state"], "built-in");
  EXPECT_EQ(r["os"]["cloud-init"]["version"], "24.1.4");
  for (const auto& c : r["checks"]) {
    if (c["name"] == "declared") {
      EXPECT_EQ(c["status"], "pass");
    }
  }
}

TEST_F(FreeBsdCli, KernelWithoutVirtioFailsInEveryLanguage) {
  tree_->write_kernel(kernel_strings_without_virtio());
  for (const char* ko : {"virtio.ko", "virtio_pci.ko", "virtio_blk.ko", "if_vtnet.ko"}) {
    tree_->remove(std::string("/boot/kernel/") + ko);
  }
  const std::string qcow2 = disk();
  for (const char* lang : {"en", "zh", "ja", "id", "pt"}) {
    const CommandResult r = run(kCli + " check --output=json --lang " + lang + " " + qcow2);
    ASSERT_EQ(r.exit_code, 1) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["error-code"], "VirtioNotInstall") << lang;
    EXPECT_EQ(j["reason-id"], "virtio.bsd-absent") << lang;
    EXPECT_NE(j["reason"].get<std::string>().find("virtio_blk"), std::string::npos) << j["reason"];
    if (std::string(lang) == "zh") {
      EXPECT_NE(j["reason"].get<std::string>().find("既未编译进内核"), std::string::npos) << j["reason"];
    }
  }
}

// A loaded module behind a module_path directory that cannot be looked in (a symbolic link to
// itself): exit 3, "cannot verify", the lookup named (the review of 2026-12-07).
TEST_F(FreeBsdCli, ModuleBehindADirectoryThatCannotBeReadIsUnverified) {
  tree_->write_kernel(kernel_strings_without_virtio());
  tree_->remove("/boot/kernel/if_vtnet.ko");
  std::filesystem::create_symlink("loop", tree_->root() / "boot/loop");
  tree_->write("/boot/loader.conf",
               "virtio_blk_load=\"YES\"\nvirtio_pci_load=\"YES\"\nif_vtnet_load=\"YES\"\n"
               "module_path=\"/boot/modules;/boot/loop\"\n");
  const CommandResult r = run(kCli + " check --output=json " + disk());
  ASSERT_EQ(r.exit_code, 3) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& c : j["checks"]) {
    if (c["name"] != "virtio") continue;
    EXPECT_EQ(c["status"], "unverified") << c;
    EXPECT_EQ(c["message-id"], "virtio.unreadable") << c;
    EXPECT_EQ(c["message-args"][0].get<std::string>().rfind("/boot/loop/if_vtnet.ko: ", 0), 0u) << c;
  }
}

// A root on ZFS cannot be read: exit 3, "cannot verify", the volume named.
TEST_F(FreeBsdCli, ZfsRootIsUnverified) {
  const CommandResult r = run(kCli + " check " + disk({FreeBsdLayout::kMbrBsdLabel, true}));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("partition 1a (zfs)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("RootPartitionNotFound"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ig::test
