// The attacks of SPEC.md §7: images that name other files (a qcow2 backing file or external data
// file, a VMDK extent or parent, a VHD parent) and files that pretend to be one format while being
// another. Each must be refused with the reason, and strace must show that `imagegate info` opens
// no path but the image itself.
#include <fstream>
#include <set>

#include "support/test_support.h"

namespace ig::test {
namespace {

// Replaces the file name of the embedded descriptor's extent line (`RW 2048 SPARSE "x.vmdk"`,
// the text from byte 512 to its NUL) in a file qemu-img made, keeping the NUL padding.
void patch_extent_name(const std::string& path, const std::string& name, const std::string& sectors = "") {
  const std::vector<std::byte> bytes = read_file(path);
  std::string text(reinterpret_cast<const char*>(bytes.data()) + 512, 64 * 512);
  text.resize(text.find('\0'));
  const std::size_t line = text.find("RW ");
  ASSERT_NE(line, std::string::npos) << text;
  const std::size_t open = text.find('"', line);
  const std::size_t close = text.find('"', open + 1);
  std::string patched = text;
  patched.replace(open + 1, close - open - 1, name);
  if (!sectors.empty()) {
    const std::size_t start = line + 3;
    patched.replace(start, text.find(' ', start) - start, sectors);
  }
  patched.resize(std::max(patched.size(), text.size()), '\0');
  patch_file(path, 512, ::ig::test::text(patched));
}

struct Attack {
  std::string name;
  std::string image;               // path of the hostile file
  std::optional<Format> declared;  // what the user declares, if anything
  std::string fragment;            // what the refusal must say
  std::vector<std::string> bait;   // paths named inside the image that must never be opened
};

class Attacks : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path().string();
    // Bait files exist, so that opening them would succeed and be visible.
    for (const char* b : {"backing.raw", "data.raw", "parent.vhd", "base.vmdk", "flat-extent.bin"}) {
      run_ok("head -c 1048576 /dev/zero > " + dir_.file(b));
    }

    const std::string passwd_backed = dir_.file("passwd-backed.qcow2");
    run_ok("qemu-img create -q -f qcow2 -F raw -b /etc/passwd -u " + passwd_backed + " 1M");
    attacks_.push_back({"qcow2 backing file /etc/passwd",
                        passwd_backed,
                        std::nullopt,
                        "backing file '/etc/passwd' refused",
                        {"/etc/passwd"}});

    const std::string local_backed = dir_.file("local-backed.qcow2");
    run_ok("qemu-img create -q -f qcow2 -F raw -b " + dir_.file("backing.raw") + " " + local_backed + " 1M");
    attacks_.push_back(
        {"qcow2 backing file beside it", local_backed, std::nullopt, "backing file", {dir_.file("backing.raw")}});

    const std::string data_file = dir_.file("external-data.qcow2");
    run_ok("qemu-img create -q -f qcow2 -o data_file=" + dir_.file("data.raw") + " " + data_file + " 1M");
    attacks_.push_back(
        {"qcow2 external data file", data_file, std::nullopt, "external data file", {dir_.file("data.raw")}});

    const std::string descriptor = dir_.file("descriptor.vmdk");
    {
      std::ofstream out(descriptor);
      out << "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
             "# Extent description\nRW 2048 FLAT \"/etc/hosts\" 0\nRW 2048 FLAT \""
          << dir_.file("flat-extent.bin") << "\" 0\n";
    }
    attacks_.push_back({"vmdk descriptor with a flat extent /etc/hosts",
                        descriptor,
                        std::nullopt,
                        "'/etc/hosts' (FLAT)",
                        {"/etc/hosts", dir_.file("flat-extent.bin")}});

    run_ok("qemu-img create -q -f vmdk " + dir_.file("base.vmdk") + " 1M");
    const std::string child = dir_.file("child.vmdk");
    run_ok("qemu-img create -q -f vmdk -F vmdk -b " + dir_.file("base.vmdk") + " " + child + " 1M");
    attacks_.push_back(
        {"sparse vmdk with a parent hint", child, std::nullopt, "parent link to", {dir_.file("base.vmdk")}});

    // A monolithicSparse file whose embedded descriptor names another file as its SPARSE extent
    // (issue 15, finding 4): qemu-img's file, the extent line's name patched.
    for (const auto& [name, extent] :
         std::vector<std::pair<std::string, std::string>>{{"shadow", "/etc/shadow"},
                                                          {"nbd", "nbd://attacker.example:10809/export"},
                                                          {"dotdot", "../base.vmdk"},
                                                          {"drive", "C:\\disks\\base.vmdk"}}) {
      const std::string sparse = dir_.file("sparse-" + name + ".vmdk");
      run_ok("qemu-img create -q -f vmdk " + sparse + " 1M");
      patch_extent_name(sparse, extent);
      attacks_.push_back({"sparse vmdk naming " + extent,
                          sparse,
                          std::nullopt,
                          "sparse extent '" + extent + "' is not the file",
                          {extent}});
    }

    // qemu cannot write a differencing VHD: turn a dynamic one into one, parent name included.
    const std::string diff = dir_.file("differencing.vhd");
    run_ok("qemu-img create -q -f vpc " + diff + " 8M");
    const std::uint64_t size = read_file(diff).size();
    for (std::uint64_t at : {std::uint64_t{0}, size - 512}) {
      patch_file(diff, at + 60, be32(4));
      fix_vhd_checksum(diff, at, 512, 64);
    }
    std::vector<std::byte> utf16;
    for (char c : dir_.file("parent.vhd")) {
      utf16.push_back(std::byte{0});
      utf16.push_back(static_cast<std::byte>(c));
    }
    patch_file(diff, 512 + 64, utf16);
    fix_vhd_checksum(diff, 512, 1024, 36);
    attacks_.push_back(
        {"differencing vhd", diff, std::nullopt, "differencing disk refused", {dir_.file("parent.vhd")}});

    const std::string raw_over_qcow2 = dir_.file("disk.img");
    run_ok("cp " + passwd_backed + " " + raw_over_qcow2);
    attacks_.push_back({"raw declared over a qcow2 header",
                        raw_over_qcow2,
                        Format::kRaw,
                        "declared raw, but the file starts with a qcow2 header",
                        {"/etc/passwd"}});

    const std::string iso = dir_.file("polyglot.iso");
    run_ok("genisoimage -quiet -o " + iso + " " + dir_.file("backing.raw"));
    run_ok("dd if=" + passwd_backed + " of=" + iso + " bs=4096 count=1 conv=notrunc status=none");
    attacks_.push_back({"iso with a qcow2 header in its system area",
                        iso,
                        std::nullopt,
                        "polyglot file refused: its content matches qcow2 image and ISO 9660",
                        {"/etc/passwd"}});
    attacks_.push_back({"the same polyglot declared raw", iso, Format::kRaw, "polyglot", {"/etc/passwd"}});
  }

  TempDir dir_;
  std::vector<Attack> attacks_;
};

// What qemu-img writes, and a renamed copy whose extent line still names the old file, open: the
// extent check refuses paths and URLs, not the bare name of a renamed upload.
TEST_F(Attacks, SparseVmdkNamingItselfOrItsOldNameOpens) {
  const std::string made = dir_.file("made.vmdk");
  run_ok("qemu-img create -q -f vmdk " + made + " 1M");
  EXPECT_THAT(open_file(made), IsOk());
  const std::string renamed = dir_.file("upload-1234.vmdk");
  run_ok("cp " + made + " " + renamed);
  EXPECT_THAT(open_file(renamed), IsOk());
  patch_extent_name(renamed, "Windows Server 2022-disk1.vmdk");  // VMware's naming
  EXPECT_THAT(open_file(renamed), IsOk());
  // An extent line whose size is not the header's capacity is not this one sparse extent.
  patch_extent_name(renamed, "upload-1234.vmdk", "4096");
  EXPECT_THAT(open_file(renamed), HasError(ErrorCode::kUnsupported,
                                           "sparse extent 'upload-1234.vmdk' of 4096 sectors, but the header's "
                                           "capacity is 2048"));
}

TEST_F(Attacks, EachIsRefusedWithItsReason) {
  for (const Attack& a : attacks_) {
    EXPECT_THAT(open_file(a.image, a.declared), HasError(ErrorCode::kUnsupported, a.fragment)) << a.name;
  }
}

// Every path a process opened or looked at, from an strace log: the first quoted argument of
// each traced call (`1234 openat(AT_FDCWD, "/etc/passwd", ...)`).
std::set<std::string> opened_paths(const std::string& log) {
  std::set<std::string> paths;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const auto paren = line.find('(');
    const auto open = line.find('"', paren == std::string::npos ? 0 : paren);
    if (paren == std::string::npos || open == std::string::npos) continue;
    const auto close = line.find('"', open + 1);
    if (close == std::string::npos) continue;
    paths.insert(line.substr(open + 1, close - open - 1));
  }
  return paths;
}

TEST_F(Attacks, StraceShowsNoPathButTheImageIsOpened) {
  if (run("strace -V").exit_code != 0) GTEST_SKIP() << "strace is not installed";
  for (const Attack& a : attacks_) {
    const std::string log = dir_.file("strace.log");
    // LeakSanitizer cannot run under ptrace; the CLI's leaks are checked by cli_test.
    std::string cmd =
        "ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e "
        "trace=open,openat,openat2,creat,stat,lstat,newfstatat,statx,access,readlink -o " +
        log + " " + IG_CLI_PATH + " info";
    if (a.declared) cmd += std::string(" -f ") + std::string(format_name(*a.declared));
    const CommandResult r = run(cmd + " " + a.image);
    EXPECT_EQ(r.exit_code, 1) << a.name << ": " << r.out;
    EXPECT_NE(r.out.find(a.fragment), std::string::npos) << a.name << ": " << r.out;
    const std::set<std::string> paths = opened_paths(log);
    EXPECT_TRUE(paths.count(a.image) == 1) << a.name << ": the image itself was not seen opened; strace broken?";
    for (const std::string& p : paths) {
      for (const std::string& bait : a.bait) EXPECT_NE(p, bait) << a.name << " opened " << p;
      if (p.rfind(dir_.path().string(), 0) == 0) {
        EXPECT_EQ(p, a.image) << a.name << " touched " << p;
      }
    }
  }
}

}  // namespace
}  // namespace ig::test
