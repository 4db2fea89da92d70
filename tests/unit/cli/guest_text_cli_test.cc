// Hostile guest text through `imagegate check` (issue 15, findings 1 and 2): invalid UTF-8 and
// terminal, C1 and bidi controls written by the guest into os-release, a GRUB title, a kernel
// file name, fstab and a Windows ProductName. The JSON report must stay valid JSON and the human
// report must carry no control or bidi character: both show the visible escapes of
// base/guest_text.h.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/guest_text.h"
#include "support/guest.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;
const std::string kCli = IG_CLI_PATH;

// True when every line of `out` is already printable UTF-8 (guest_text leaves it unchanged):
// no ESC or other C0 control, no DEL, no C1, no bidi control, no invalid byte.
void expect_printable(const std::string& out) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(guest_text(line, kGuestTextUncapped), line);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

class HostileGuestText : public ::testing::Test {
 protected:
  void SetUp() override {
    LinuxTree tree(dir_.path() / "tree");
    tree.remove("/etc/os-release");
    tree.write("/etc/os-release",
               "PRETTY_NAME=\"\x1b]0;PWNED\a\x1b[2J\xff\"\nNAME=\"Evil\"\nID=\"\x1b[31mevil\x1b[0m\"\n"
               "VERSION_ID=\"12\xff\"\n");
    // A second kernel whose file name carries a terminal escape and an invalid byte.
    tree.write("/boot/vmlinuz-6.6.6-evil\x1b[2J\xff", "not a kernel");
    // The default entry's title carries an invalid byte and an escape.
    const std::string v = LinuxTree::kKernel;
    tree.write("/boot/grub/grub.cfg",
               "set default=\"0\"\nmenuentry 'Debian\xff\x1b[2J GNU/Linux' {\n\tlinux\t/boot/vmlinuz-" + v +
                   " root=UUID=" + kRootUuid + " ro\n\tinitrd\t/boot/initrd.img-" + v + "\n}\n");
    tree.write("/etc/fstab",
               std::string("UUID=") + kRootUuid + " / ext4 defaults 0 1\nUUID=\xff\x1b[2J /boot ext4 defaults 0 2\n");
    disk_ = make_guest_disk(dir_, tree.root().string());
  }
  TempDir dir_;
  std::string disk_;
};

TEST_F(HostileGuestText, JsonReportIsValidAndShowsEscapes) {
  const CommandResult r = run(kCli + " check --output=json " + disk_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);  // throws on invalid UTF-8
  EXPECT_EQ(j["result"], "pass");
  EXPECT_EQ(j["os"]["distribution"], "\\x1B[31mevil\\x1B[0m");
  EXPECT_EQ(j["os"]["name"], "Other Linux");
  EXPECT_EQ(j["os"]["version"], "12\\xFF");
  std::vector<std::string> versions;
  for (const auto& k : j["os"]["kernels"]) versions.push_back(k["version"]);
  EXPECT_EQ(versions, (std::vector<std::string>{"6.1.0-13-amd64", "6.6.6-evil\\x1B[2J\\xFF"}));
  std::map<std::string, std::vector<std::string>> evidence;
  for (const auto& c : j["checks"]) evidence[c["name"]] = c["evidence"].get<std::vector<std::string>>();
  EXPECT_THAT(evidence["os"], ::testing::ElementsAre("/etc/os-release: \\x1B]0;PWNED\\x07\\x1B[2J\\xFF"));
  EXPECT_THAT(evidence["root"],
              ::testing::Contains("fstab mounts UUID=\\xFF\\x1B[2J on /boot: no volume of this disk matches it"));
  EXPECT_THAT(evidence["virtio"],
              ::testing::Contains("grub2 /boot/grub/grub.cfg: the default entry \"Debian\\xFF\\x1B[2J "
                                  "GNU/Linux\" boots /boot/vmlinuz-6.1.0-13-amd64"));
  expect_printable(r.out);
}

TEST_F(HostileGuestText, HumanReportCarriesNoControlCharacters) {
  const CommandResult r = run(kCli + " check --lang en " + disk_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  expect_printable(r.out);
  EXPECT_NE(r.out.find("/etc/os-release: \\x1B]0;PWNED\\x07\\x1B[2J\\xFF"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("6.6.6-evil\\x1B[2J\\xFF"), std::string::npos) << r.out;
}

TEST(HostileWindowsText, ProductNameWithCrC1AndBidiIsEscaped) {
  TempDir dir;
  if (const std::string missing = windows_tools_missing(); !missing.empty()) GTEST_SKIP() << missing;
  // The 2022 SOFTWARE hive with ProductName "Windows Server 2022\r\u009B\u202Eevil" as REG_SZ.
  std::ifstream in(software_reg(dir, WindowsRelease::kServer2022));
  std::stringstream reg_text;
  reg_text << in.rdbuf();
  std::string reg = reg_text.str();
  const std::u16string name = u"Windows Server 2022\r\u009B\u202Eevil";
  std::string hex = "hex(1):";
  for (const char16_t c : name + u'\0') hex += fmt::format("{:02x},{:02x},", c & 0xff, c >> 8);
  hex.pop_back();
  const std::string old_line = "\"ProductName\"=str(1):\"Windows Server 2022 Phony Edition\"";
  ASSERT_NE(reg.find(old_line), std::string::npos);
  reg.replace(reg.find(old_line), old_line.size(), "\"ProductName\"=" + hex);
  const std::string reg_path = dir.file("software.reg");
  std::ofstream(reg_path) << reg;
  WindowsSpec spec;
  spec.software_reg = reg_path;  // absolute: corpus_path() keeps it
  const std::string disk = make_windows_disk(dir, spec);
  if (disk.empty()) GTEST_SKIP() << "hivex tools or wimtools missing";
  const CommandResult j = run(kCli + " check --output=json " + disk);
  ASSERT_EQ(j.exit_code, 0) << j.out;
  const auto report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["os"]["product-name"], "Windows Server 2022\\x0D\\u009B\\u202Eevil");
  expect_printable(j.out);
  const CommandResult h = run(kCli + " check --lang en " + disk);
  ASSERT_EQ(h.exit_code, 0) << h.out;
  expect_printable(h.out);
}

}  // namespace
}  // namespace ig::test
