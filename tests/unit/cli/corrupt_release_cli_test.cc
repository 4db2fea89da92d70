// Issue 15, finding 7: corruption is not absence. An /etc/os-release whose inode or extent tree is
// damaged, or which is larger than what is read, used to make `imagegate check` say "no
// os-release; it imports as Other Linux". The os check now names the file and the damage
// (message os.unreadable). The guest is a bare ext4 file system (mke2fs -d), damaged by debugfs.
#include <filesystem>
#include <fstream>

#include "support/guest.h"

namespace ig::test {
namespace {

const std::string kCli = IG_CLI_PATH;

class CorruptRelease : public ::testing::Test {
 protected:
  void SetUp() override {
    LinuxTree tree(dir_.path() / "tree");
    tree.remove("/etc/os-release");
    tree.remove("/usr/lib/os-release");
    tree_ = std::make_unique<LinuxTree>(tree);
    tree_->write("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=12\n");
  }
  std::string disk() {
    DiskSpec spec;
    spec.table = Table::kNone;
    spec.format = "raw";
    return make_guest_disk(dir_, tree_->root().string(), spec);
  }
  static std::string debugfs(const std::string& image, const std::string& request, bool write = false) {
    return run_ok(std::string("debugfs ") + (write ? "-w " : "") + "-R " + shell_quote(request) + " " + image +
                  " 2>/dev/null");
  }
  static std::uint64_t number_after(const std::string& text, const std::string& key) {
    const auto at = text.find(key);
    EXPECT_NE(at, std::string::npos) << key << " in " << text;
    return std::stoull(text.substr(at + key.size()));
  }
  // The os check of `imagegate check --output=json`: its message id and first argument.
  static std::pair<std::string, std::string> os_check(const std::string& image) {
    const CommandResult r = run(kCli + " check --output=json " + image);
    const auto j = nlohmann::json::parse(r.out);
    for (const auto& c : j["checks"]) {
      if (c["name"] == "os") {
        return {c["message-id"], c["message-args"].empty() ? "" : c["message-args"][0].get<std::string>()};
      }
    }
    return {};
  }
  TempDir dir_;
  std::unique_ptr<LinuxTree> tree_;
};

TEST_F(CorruptRelease, HealthyAndAbsentStayAsTheyWere) {
  EXPECT_EQ(os_check(disk()), (std::pair<std::string, std::string>{"os.named", "Debian"}));
  tree_->remove("/etc/os-release");
  EXPECT_EQ(os_check(disk()).first, "os.unknown");
}

TEST_F(CorruptRelease, SizeOfTwoToTheSixtyThree) {
  const std::string image = disk();
  debugfs(image, "sif /etc/os-release size 0x8000000000000000", true);
  EXPECT_EQ(os_check(image),
            (std::pair<std::string, std::string>{
                "os.unreadable", "/etc/os-release: 9223372036854775808 bytes, more than the 65536 read"}));
}

TEST_F(CorruptRelease, TwoHundredKilobyteLine) {
  const std::string text = "PRETTY_NAME=\"" + std::string(200 * 1024, 'A') + "\"\n";
  tree_->write("/etc/os-release", text);
  EXPECT_EQ(os_check(disk()),
            (std::pair<std::string, std::string>{
                "os.unreadable", fmt::format("/etc/os-release: {} bytes, more than the 65536 read", text.size())}));
}

TEST_F(CorruptRelease, ExtentBeyondTheFileSystem) {
  const std::string image = disk();
  const std::uint64_t inode = number_after(debugfs(image, "stat /etc/os-release"), "Inode: ");
  const std::uint64_t blocks = number_after(debugfs(image, "stats"), "Block count:");
  // i_block words 3..5 are the first extent: ee_block, ee_len | ee_start_hi, ee_start_lo.
  debugfs(image, "sif /etc/os-release block[5] 0x7fffffff", true);
  EXPECT_EQ(os_check(image), (std::pair<std::string, std::string>{
                                 "os.unreadable", fmt::format("/etc/os-release: ext: inode {}: blocks 2147483647..+1 "
                                                              "beyond the file system's {} blocks",
                                                              inode, blocks)}));
}

TEST_F(CorruptRelease, SelfReferencingExtentTree) {
  const std::string image = disk();
  // Without metadata checksums, so that the loop itself is what is found, not a bad checksum.
  run_ok("tune2fs -O ^metadata_csum " + image + " > /dev/null 2>&1");
  const std::uint64_t inode = number_after(debugfs(image, "stat /etc/os-release"), "Inode: ");
  const std::uint64_t block_size = number_after(debugfs(image, "stats"), "Block size:");
  // bmap prints the block alone on stdout (debugfs's banner goes to stderr).
  const std::uint64_t x = std::stoull(debugfs(image, "bmap /etc/os-release 0"));
  // Block x becomes an index node (depth 1) whose one entry points at block x itself...
  std::vector<std::byte> node(block_size, std::byte{0});
  auto put = [&](std::size_t at, const std::vector<std::byte>& v) {
    std::copy(v.begin(), v.end(), node.begin() + static_cast<std::ptrdiff_t>(at));
  };
  put(0, le32(0x0001F30A));                                                       // eh_magic, eh_entries 1
  put(4, le32(0x00010000 | static_cast<std::uint32_t>((block_size - 12) / 12)));  // eh_max, eh_depth 1
  put(16, le32(static_cast<std::uint32_t>(x)));                                   // ei_leaf_lo
  patch_file(image, x * block_size, node);
  // ...and the inode's root (depth 1) points at block x.
  for (const auto& [word, value] :
       std::vector<std::pair<int, std::uint64_t>>{{0, 0x0001F30A}, {1, 0x00010004}, {2, 0}, {3, 0}, {4, x}, {5, 0}}) {
    debugfs(image, fmt::format("sif /etc/os-release block[{}] {:#x}", word, value), true);
  }
  EXPECT_EQ(os_check(image),
            (std::pair<std::string, std::string>{
                "os.unreadable", fmt::format("/etc/os-release: ext: inode {}: extent tree depth 1 exceeds 5", inode)}));
}

}  // namespace
}  // namespace ig::test
