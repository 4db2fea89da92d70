// The Windows import rules on real NTFS disks (mkntfs + wimlib) with hives built by hivexregedit
// over an empty hive (the corpus's minimal hive and dumps when ../shared/corpus is present, else
// ones the fixture writes itself): one cause per test, each asserting the exact code and cause.
#include <filesystem>

#include "io/sources.h"
#include "registry/hive.h"
#include "rules/check.h"
#include "rules/messages.h"
#include "support/guest.h"
#include "unit/rules/check_expect.h"

namespace ig::test {
namespace {

class WindowsCheck : public ::testing::Test {
 protected:
  CheckReport check(const WindowsSpec& spec, CheckOptions options = {}) {
    const std::string disk = make_windows_disk(dir_, spec);
    if (disk.empty()) return {};
    auto file = FileSource::open(disk);
    EXPECT_THAT(file, IsOk());
    auto r = check_image(SourcePtr(std::move(*file)), options);
    EXPECT_THAT(r, IsOk());
    return r ? *r : CheckReport{};
  }
  void SetUp() override {
    if (const std::string missing = windows_tools_missing(); !missing.empty()) GTEST_SKIP() << missing;
  }
  TempDir dir_;
};

TEST_F(WindowsCheck, Server2022WithVirtioAndCloudbaseInitPasses) {
  const CheckReport r = check({});
  EXPECT_TRUE(r.pass) << render(r.reason, Lang::kEn);
  EXPECT_EQ(r.os_type, "windows");
  EXPECT_EQ(r.distribution_name, "Windows Server 2022");
  EXPECT_EQ(r.product_name, "Windows Server 2022 Phony Edition");
  EXPECT_EQ(r.version, "2022");
  EXPECT_EQ(r.architecture, "x86_64");
  EXPECT_EQ(result(r, "root").message.id, "root.windows");
  EXPECT_EQ(args_en(result(r, "virtio").message), std::vector<std::string>{"viostor"});
  EXPECT_EQ(result(r, "cloud-init").message.id, "cbinit.ok");
}

TEST_F(WindowsCheck, NoVirtioStorageDriver) {
  WindowsSpec s;
  s.viostor_file = false;
  s.viostor_service = false;
  expect_failure(check(s), kVirtioNotInstall, "virtio", "virtio.win-storage-missing");
}

TEST_F(WindowsCheck, StorageDriverFileWithoutItsService) {
  WindowsSpec s;
  s.viostor_service = false;
  const CheckReport r = check(s);
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.win-no-service");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{"viostor", "ControlSet001"}));
}

TEST_F(WindowsCheck, StorageDriverThatDoesNotStartAtBoot) {
  WindowsSpec s;
  s.viostor_start = 3;
  const CheckReport r = check(s);
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.win-not-boot");
  EXPECT_EQ(args_en(r.reason), (std::vector<std::string>{"viostor", "3"}));
}

TEST_F(WindowsCheck, NoNetkvm) {
  WindowsSpec s;
  s.netkvm = false;
  const CheckReport r = check(s);
  expect_failure(r, kVirtioNotInstall, "virtio", "virtio.win-netkvm-missing");
  EXPECT_EQ(args_en(r.reason), std::vector<std::string>{"its driver file and its service"});
}

TEST_F(WindowsCheck, NoCloudbaseInitUnlessForced) {
  WindowsSpec s;
  s.cloudbase = false;
  expect_failure(check(s), kCloudInitNotInstalled, "cloud-init", "cbinit.missing");
  CheckOptions forced;
  forced.force = true;
  EXPECT_TRUE(check(s, forced).pass);
}

TEST_F(WindowsCheck, GptDisk) {
  WindowsSpec s;
  s.table = Table::kGpt;
  const CheckReport r = check(s);
  expect_failure(r, kPartitionNotPresent, "partition-table", "ptable.gpt");
  EXPECT_EQ(r.distribution_name, "Windows Server 2022");  // still inspected
}

TEST_F(WindowsCheck, DynamicDisk) {
  WindowsSpec s;
  s.mbr_type = 0x42;
  const CheckReport r = check(s);
  expect_failure(r, kPartitionNotPresent, "partitions", "parts.dynamic");
  EXPECT_EQ(args_en(r.reason), std::vector<std::string>{"partition 1 has MBR type 0x42"});
}

TEST_F(WindowsCheck, ClientWindowsIsNotSupported) {
  WindowsSpec s;
  s.release = WindowsRelease::kWindows10;
  const CheckReport r = check(s);
  expect_failure(r, kInternalError, "os", "os.windows-client");
  EXPECT_NE(args_en(r.reason).at(0).find("Windows 10"), std::string::npos) << args_en(r.reason).at(0);
}

TEST_F(WindowsCheck, ThirtyTwoBitKernel) {
  WindowsSpec s;
  s.pe_machine = 0x014C;
  const CheckReport r = check(s);
  EXPECT_TRUE(r.pass);
  EXPECT_EQ(r.architecture, "i386");
  CheckOptions declared;
  declared.architecture = "x86_64";
  EXPECT_EQ(result(check(s, declared), "declared").message.id, "declared.arch");
}

// arm64 Windows: ntoskrnl.exe's PE Machine 0xAA64.
TEST_F(WindowsCheck, Arm64Kernel) {
  WindowsSpec s;
  s.pe_machine = 0xAA64;
  const CheckReport r = check(s);
  EXPECT_EQ(r.architecture, "arm_64");
  EXPECT_EQ(result(r, "architecture").message.id, "arch.ok");
  CheckOptions declared;
  declared.architecture = "x86_64";
  EXPECT_EQ(args_en(result(check(s, declared), "declared").message), (std::vector<std::string>{"x86_64", "arm_64"}));
}

}  // namespace
}  // namespace ig::test
