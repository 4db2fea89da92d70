#include "support/guest.h"

#include <cstring>
#include <fstream>
#include <utility>

#include "base/bytes.h"

namespace ig::test {

namespace fs = std::filesystem;

LinuxTree::LinuxTree(fs::path root) : root_(std::move(root)) {
  for (const char* d : {"etc", "usr/bin", "usr/lib/modules", "boot/grub", "var/lib/dpkg", "etc/systemd/system",
                        "usr/lib/python3/dist-packages/cloudinit", "etc/cloud"}) {
    fs::create_directories(root_ / d);
  }
  write("/usr/lib/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
        "VERSION=\"12 (bookworm)\"\nID=debian\n");
  fs::create_symlink("../usr/lib/os-release", root_ / "etc/os-release");
  fs::copy_file("/usr/bin/dash", root_ / "usr/bin/dash");
  fs::create_symlink("dash", root_ / "usr/bin/sh");
  fs::create_symlink("usr/bin", root_ / "bin");
  fs::create_symlink("usr/lib", root_ / "lib");
  write("/etc/fstab", std::string("# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=") + kRootUuid +
                          " / ext4 errors=remount-ro 0 1\n/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n");
  write("/usr/bin/cloud-init", "#!/usr/bin/python3\n");
  write("/var/lib/dpkg/status",
        "Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\n\nPackage: cloud-init\n"
        "Status: install ok installed\nVersion: 22.4.2-1\n\n");
  add_kernel(
      kKernel, "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO=m\n",
      {"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/net/virtio_net.ko", "kernel/drivers/virtio/virtio_pci.ko",
       "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"},
      {"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/virtio/virtio_pci.ko",
       "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"});
  write_grub({kKernel});
}

void LinuxTree::write(const std::string& guest_path, const std::string& content) const {
  const fs::path p = root_ / guest_path.substr(1);
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

void LinuxTree::remove(const std::string& guest_path) const {
  fs::remove_all(root_ / guest_path.substr(1));
}

void LinuxTree::add_kernel(const std::string& version, const std::string& config,
                           const std::vector<std::string>& modules, const std::vector<std::string>& in_initramfs,
                           bool initramfs) const {
  run_ok("head -c 8192 /dev/urandom > " + (root_ / "boot" / ("vmlinuz-" + version)).string());
  write("/boot/config-" + version, "#\n# Linux/x86 " + version + " Kernel Configuration\n#\n" + config);
  const std::string mods = "/usr/lib/modules/" + version;
  std::string dep;
  for (const std::string& m : modules) {
    dep += m + ":\n";
    write(mods + "/" + m, "module " + m);
  }
  write(mods + "/modules.dep", dep);
  write(mods + "/modules.builtin", "");
  if (!initramfs) return;
  // The layout initramfs-tools writes: early microcode cpio, then the compressed main cpio.
  const fs::path work = root_.parent_path() / ("initramfs-" + version);
  fs::remove_all(work);
  fs::create_directories(work / "early/kernel/x86/microcode");
  fs::create_directories(work / "main/scripts");
  std::ofstream(work / "early/kernel/x86/microcode/AuthenticAMD.bin") << "microcode";
  std::ofstream(work / "main/init") << "#!/bin/sh\n";
  for (const std::string& m : in_initramfs) {
    const fs::path p = work / "main/usr/lib/modules" / version / m;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "module";
  }
  const std::string out = (root_ / "boot" / ("initrd.img-" + version)).string();
  run_ok("cd " + (work / "early").string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > " + out);
  run_ok("cd " + (work / "main").string() + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c >> " +
         out);
  fs::remove_all(work);
}

void LinuxTree::write_grub(const std::vector<std::string>& versions, const std::string& boot_prefix) const {
  std::string cfg =
      "if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nif [ \"${next_entry}\" ] ; then\n"
      "   set default=\"${next_entry}\"\nelse\n   set default=\"0\"\nfi\n";
  for (const std::string& v : versions) {
    cfg += "menuentry 'Debian GNU/Linux, with Linux " + v + "' --class debian $menuentry_id_option 'gnulinux-" + v +
           "' {\n\tinsmod ext2\n\tlinux\t" + boot_prefix + "/vmlinuz-" + v + " root=UUID=" + kRootUuid +
           " ro quiet\n\tinitrd\t" + boot_prefix + "/initrd.img-" + v + "\n}\n";
  }
  write("/boot/grub/grub.cfg", cfg);
}

std::string make_rpmdb(const TempDir& dir, const std::vector<std::string>& packages) {
  if (run("command -v rpmbuild && command -v rpm").exit_code != 0) return "";
  const fs::path work = dir.path() / "rpm";
  fs::remove_all(work);
  fs::create_directories(work / "root/var/lib/rpm");
  const std::string root = (work / "root").string();
  run_ok("rpm --root " + root + " --dbpath /var/lib/rpm --initdb");
  for (const std::string& nvr : packages) {
    // name-version-release: the name may hold dashes, the version and release may not.
    const auto r = nvr.rfind('-');
    const auto v = nvr.rfind('-', r - 1);
    const std::string spec = (work / "p.spec").string();
    std::ofstream(spec) << "Name: " << nvr.substr(0, v) << "\nVersion: " << nvr.substr(v + 1, r - v - 1)
                        << "\nRelease: " << nvr.substr(r + 1)
                        << "\nSummary: fixture\nLicense: MIT\nBuildArch: noarch\n%description\nfixture\n%files\n";
    run_ok("rpmbuild --quiet --define '_topdir " + (work / "top").string() + "' -bb " + spec + " 2>&1");
    run_ok("rpm --root " + root + " --dbpath /var/lib/rpm -i --nodeps --justdb --noscripts " +
           (work / "top/RPMS/noarch").string() + "/" + nvr + ".noarch.rpm 2> /dev/null");
  }
  return (work / "root/var/lib/rpm/rpmdb.sqlite").string();
}

namespace {

// A self-relative security descriptor: owner BUILTIN\Administrators, group SYSTEM, a DACL with
// one inheritable KEY_ALL_ACCESS ACE for each (what a Windows hive root carries, minus the rest).
std::vector<std::byte> root_security_descriptor() {
  const std::vector<std::uint8_t> system = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};                 // S-1-5-18
  const std::vector<std::uint8_t> admins = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};  // S-1-5-32-544
  std::vector<std::uint8_t> acl = {2, 0, 0, 0, 2, 0, 0, 0};  // revision 2, size (below), 2 ACEs
  for (const auto* sid : {&system, &admins}) {
    const auto ace_size = static_cast<std::uint8_t>(8 + sid->size());
    // ACCESS_ALLOWED_ACE_TYPE, CONTAINER_INHERIT_ACE, size, mask KEY_ALL_ACCESS (0x000F003F)
    acl.insert(acl.end(), {0, 0x02, ace_size, 0, 0x3F, 0, 0x0F, 0});
    acl.insert(acl.end(), sid->begin(), sid->end());
  }
  acl[2] = static_cast<std::uint8_t>(acl.size());
  // Revision 1, control SE_SELF_RELATIVE | SE_DACL_PRESENT; owner, group, SACL (none), DACL.
  std::vector<std::byte> sd(20, std::byte{0});
  sd[0] = std::byte{1};
  store_le_ptr<std::uint16_t>(sd.data() + 2, 0x8004);
  const auto dacl_at = static_cast<std::uint32_t>(sd.size());
  const auto owner_at = static_cast<std::uint32_t>(dacl_at + acl.size());
  const auto group_at = static_cast<std::uint32_t>(owner_at + admins.size());
  store_le_ptr<std::uint32_t>(sd.data() + 4, owner_at);
  store_le_ptr<std::uint32_t>(sd.data() + 8, group_at);
  store_le_ptr<std::uint32_t>(sd.data() + 16, dacl_at);
  for (const std::vector<std::uint8_t>* part : {&std::as_const(acl), &admins, &system}) {
    for (std::uint8_t b : *part) sd.push_back(std::byte{b});
  }
  return sd;
}

void put(std::vector<std::byte>& b, std::size_t at, std::string_view s) {
  std::memcpy(b.data() + at, s.data(), s.size());
}

}  // namespace

void write_empty_hive(const std::string& path) {
  // docs/formats/registry.md; offsets of cells are relative to the first hive bin (file 0x1000),
  // and each cell starts with its size as an int32, negative when allocated.
  constexpr std::size_t kBlock = 4096;
  constexpr std::uint32_t kRoot = 0x20;  // the first cell after the 32-byte hbin header
  std::vector<std::byte> h(2 * kBlock, std::byte{0});
  // Base block.
  put(h, 0x00, "regf");
  store_le_ptr<std::uint32_t>(h.data() + 0x04, 1);  // primary sequence number
  store_le_ptr<std::uint32_t>(h.data() + 0x08, 1);  // secondary: equal, so the hive is clean
  store_le_ptr<std::uint32_t>(h.data() + 0x14, 1);  // major version
  store_le_ptr<std::uint32_t>(h.data() + 0x18, 5);  // minor version
  store_le_ptr<std::uint32_t>(h.data() + 0x1C, 0);  // file type: primary
  store_le_ptr<std::uint32_t>(h.data() + 0x20, 1);  // file format: direct memory load
  store_le_ptr<std::uint32_t>(h.data() + 0x24, kRoot);
  store_le_ptr<std::uint32_t>(h.data() + 0x28, kBlock);  // hive bins data size
  store_le_ptr<std::uint32_t>(h.data() + 0x2C, 1);       // clustering factor
  std::uint32_t x = 0;
  for (std::size_t i = 0; i < 508; i += 4) x ^= load_le_ptr<std::uint32_t>(h.data() + i);
  store_le_ptr<std::uint32_t>(h.data() + 508, x == 0 ? 1 : x == 0xFFFFFFFF ? 0xFFFFFFFE : x);
  // The hive bin: header, then cells.
  std::byte* bin = h.data() + kBlock;
  put(h, kBlock, "hbin");
  store_le_ptr<std::uint32_t>(bin + 0x04, 0);       // offset of this bin
  store_le_ptr<std::uint32_t>(bin + 0x08, kBlock);  // size of this bin
  const std::vector<std::byte> sd = root_security_descriptor();
  const std::string name = "ROOT";
  auto cell_size = [](std::size_t payload) { return static_cast<std::uint32_t>((4 + payload + 7) / 8 * 8); };
  const std::uint32_t nk_size = cell_size(0x4C + name.size());
  const std::uint32_t sk_at = kRoot + nk_size;
  const std::uint32_t sk_size = cell_size(0x14 + sd.size());
  const std::uint32_t free_at = sk_at + sk_size;
  // Root key (nk).
  std::byte* nk = bin + kRoot;
  store_le_ptr<std::int32_t>(nk, -static_cast<std::int32_t>(nk_size));
  nk += 4;
  put(h, kBlock + kRoot + 4, "nk");
  store_le_ptr<std::uint16_t>(nk + 0x02, 0x2C);        // KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME
  store_le_ptr<std::uint32_t>(nk + 0x10, 0xFFFFFFFF);  // parent: none
  store_le_ptr<std::uint32_t>(nk + 0x14, 0);           // subkeys
  store_le_ptr<std::uint32_t>(nk + 0x18, 0);           // volatile subkeys
  store_le_ptr<std::uint32_t>(nk + 0x1C, 0xFFFFFFFF);  // subkey list
  store_le_ptr<std::uint32_t>(nk + 0x20, 0xFFFFFFFF);  // volatile subkey list
  store_le_ptr<std::uint32_t>(nk + 0x24, 0);           // values
  store_le_ptr<std::uint32_t>(nk + 0x28, 0xFFFFFFFF);  // value list
  store_le_ptr<std::uint32_t>(nk + 0x2C, sk_at);
  store_le_ptr<std::uint32_t>(nk + 0x30, 0xFFFFFFFF);  // class name: none
  store_le_ptr<std::uint16_t>(nk + 0x48, static_cast<std::uint16_t>(name.size()));
  put(h, kBlock + kRoot + 4 + 0x4C, name);
  // Security (sk): a ring of one, used by the one key.
  std::byte* sk = bin + sk_at;
  store_le_ptr<std::int32_t>(sk, -static_cast<std::int32_t>(sk_size));
  sk += 4;
  put(h, kBlock + sk_at + 4, "sk");
  store_le_ptr<std::uint32_t>(sk + 0x04, sk_at);  // flink
  store_le_ptr<std::uint32_t>(sk + 0x08, sk_at);  // blink
  store_le_ptr<std::uint32_t>(sk + 0x0C, 1);      // reference count
  store_le_ptr<std::uint32_t>(sk + 0x10, static_cast<std::uint32_t>(sd.size()));
  std::memcpy(sk + 0x14, sd.data(), sd.size());
  // The rest of the bin: one free cell (positive size).
  store_le_ptr<std::int32_t>(bin + free_at, static_cast<std::int32_t>(kBlock - free_at));
  write_file(path, h);
}

void copy_empty_hive(const std::string& path) {
  if (corpus_available()) {
    run_ok("cp " + shell_quote(corpus_path("hivex/images/minimal").string()) + " " + shell_quote(path) +
           " && chmod u+w " + shell_quote(path));
  } else {
    write_empty_hive(path);
  }
}

std::string software_reg(const TempDir& dir, WindowsRelease release) {
  const bool server = release == WindowsRelease::kServer2022;
  if (corpus_available()) {
    return corpus_path(server ? "virt-v2v/test-data/phony-guests/win2k22-software.reg"
                              : "virt-v2v/test-data/phony-guests/win10-software.reg")
        .string();
  }
  // The CurrentVersion values src/inspect/windows.cc reads, as in virt-v2v's phony dumps.
  std::string reg =
      "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]\n\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]\n\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n";
  if (server) {
    reg +=
        "\"CurrentBuild\"=str(1):\"20348\"\n\"CurrentBuildNumber\"=str(1):\"20348\"\n"
        "\"CurrentMajorVersionNumber\"=dword:0000000a\n\"CurrentMinorVersionNumber\"=dword:00000000\n"
        "\"CurrentVersion\"=str(1):\"6.3\"\n\"EditionID\"=str(1):\"ServerStandard\"\n"
        "\"InstallTime\"=hex(b):b1,16,64,7e,e2,85,da,01\n\"InstallationType\"=str(1):\"Server\"\n"
        "\"ProductName\"=str(1):\"Windows Server 2022 Phony Edition\"\n";
  } else {
    reg +=
        "\"CurrentBuild\"=str(1):\"17763\"\n\"CurrentBuildNumber\"=str(1):\"17763\"\n"
        "\"CurrentMajorVersionNumber\"=dword:0000000a\n\"CurrentMinorVersionNumber\"=dword:00000000\n"
        "\"CurrentVersion\"=str(1):\"6.3\"\n\"EditionID\"=str(1):\"EnterpriseEval\"\n"
        "\"InstallationType\"=str(1):\"Client\"\n\"ProductName\"=str(1):\"Windows 10 Enterprise Evaluation\"\n";
  }
  const std::string path = dir.file(server ? "win2k22-software.reg" : "win10-software.reg");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << reg << "\n";
  return path;
}

std::string windows_tools_missing() {
  std::string missing;
  for (const char* tool : {"hivexregedit", "wimlib-imagex", "mkntfs", "sfdisk", "sgdisk", "qemu-img"}) {
    if (run(std::string("command -v ") + tool).exit_code != 0)
      missing += std::string(missing.empty() ? "" : ", ") + tool;
  }
  return missing.empty() ? "" : missing + " not installed (scripts/install-deps.sh installs them)";
}

std::string make_windows_disk(const TempDir& dir, const WindowsSpec& spec) {
  const fs::path tree = dir.path() / "windows-tree";
  fs::remove_all(tree);
  const fs::path sys32 = tree / "Windows/System32";
  fs::create_directories(sys32 / "config");
  fs::create_directories(sys32 / "drivers");
  // hives
  const std::string software = (sys32 / "config/SOFTWARE").string();
  const std::string system = (sys32 / "config/SYSTEM").string();
  copy_empty_hive(software);
  copy_empty_hive(system);
  run_ok("hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE' " + software + " " +
         shell_quote(spec.software_reg.empty() ? software_reg(dir, spec.release) : spec.software_reg));
  std::string reg =
      "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services]\n\n";
  auto service = [&](const std::string& name, std::uint32_t start, const std::string& image) {
    reg += "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\" + name + "]\n" +
           fmt::format("\"Start\"=dword:{:08x}\n\"Type\"=dword:00000001\n", start) + "\"ImagePath\"=str(2):\"" + image +
           "\"\n\n";
  };
  // hivexregedit's str(N):"..." takes the text as it is: single backslashes.
  if (spec.viostor_service) service("viostor", spec.viostor_start, "system32\\drivers\\viostor.sys");
  if (spec.netkvm) service("netkvm", 3, "system32\\drivers\\netkvm.sys");
  if (spec.cloudbase) {
    service("cloudbase-init", 2, "C:\\Program Files\\Cloudbase Solutions\\Cloudbase-Init\\bin\\OpenStackService.exe");
  }
  std::ofstream(dir.path() / "system.reg") << reg;
  run_ok("hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\\SYSTEM' " + system + " " +
         (dir.path() / "system.reg").string());
  if (spec.edit_hives) spec.edit_hives(software, system);
  // ntoskrnl.exe: a DOS header pointing at a PE header naming the machine.
  std::vector<std::byte> pe(4096, std::byte{0});
  pe[0] = std::byte{'M'};
  pe[1] = std::byte{'Z'};
  pe[0x3C] = std::byte{0x80};
  pe[0x80] = std::byte{'P'};
  pe[0x81] = std::byte{'E'};
  pe[0x84] = static_cast<std::byte>(spec.pe_machine & 0xff);
  pe[0x85] = static_cast<std::byte>(spec.pe_machine >> 8);
  write_file((sys32 / "ntoskrnl.exe").string(), pe);
  if (spec.viostor_file) run_ok("head -c 60000 /dev/urandom > " + (sys32 / "drivers/viostor.sys").string());
  if (spec.netkvm) run_ok("head -c 40000 /dev/urandom > " + (sys32 / "drivers/netkvm.sys").string());
  if (spec.cloudbase) {
    fs::create_directories(tree / "Program Files/Cloudbase Solutions/Cloudbase-Init/bin");
    std::ofstream(tree / "Program Files/Cloudbase Solutions/Cloudbase-Init/bin/OpenStackService.exe") << "MZ";
  }
  // NTFS from the tree, then the disk.
  const std::string wim = dir.file("windows.wim");
  const std::string part = dir.file("windows.ntfs");
  run_ok("rm -f " + wim + " " + part);
  run_ok("wimlib-imagex capture " + tree.string() + " " + wim + " --no-acls > /dev/null");
  run_ok("truncate -s 40M " + part + " && mkntfs -q -F -f -L System " + part + " > /dev/null 2>&1");
  run_ok("wimlib-imagex apply " + wim + " 1 " + part + " > /dev/null 2>&1");
  const std::string raw = dir.file("windows.raw");
  run_ok("rm -f " + raw + " && truncate -s 64M " + raw);
  if (spec.table == Table::kGpt) {
    run_ok("sgdisk -n 1:2048:+40M -t 1:0700 " + raw + " > /dev/null");
  } else {
    run_ok(fmt::format("printf 'label: dos\\nstart=2048,size=81920,type={:x},bootable\\n' | sfdisk -q {}",
                       spec.mbr_type, raw));
  }
  run_ok("dd if=" + part + " of=" + raw + " bs=512 seek=2048 conv=notrunc,sparse status=none");
  const std::string out = dir.file("windows.qcow2");
  run_ok("rm -f " + out + " && qemu-img convert -f raw -O qcow2 " + raw + " " + out);
  return out;
}

std::string make_guest_disk(const TempDir& dir, const std::string& tree, const DiskSpec& spec) {
  const std::string raw = dir.file("guest.raw");
  const std::string root = dir.file("guest-root.ext4");
  run_ok("rm -f " + raw + " " + root);
  run_ok("mke2fs -q -F -t ext4 -U " + std::string(kRootUuid) + " -L " + spec.root_label + " -d " + tree + " " + root +
         " 40M");
  if (spec.table == Table::kNone) {
    run_ok("cp --sparse=always " + root + " " + raw);
  } else {
    run_ok("truncate -s 64M " + raw);
    std::uint64_t root_start = 2048;
    if (!spec.boot_tree.empty()) root_start = 2048 + 16384;
    if (spec.table == Table::kMbr) {
      std::string layout = "label: dos\n";
      if (!spec.boot_tree.empty()) layout += "start=2048,size=16384,type=83,bootable\n";
      layout += "start=" + std::to_string(root_start) + ",size=81920,type=83\n";
      run_ok("printf '" + layout + "' | sfdisk -q " + raw);
    } else {
      std::string args;
      if (!spec.boot_tree.empty()) args += " -n 1:2048:+8M";
      args += " -n " + std::string(spec.boot_tree.empty() ? "1" : "2") + ":" + std::to_string(root_start) + ":+40M";
      run_ok("sgdisk" + args + " " + raw + " > /dev/null");
    }
    if (!spec.boot_tree.empty()) {
      const std::string boot = dir.file("guest-boot.ext4");
      run_ok("rm -f " + boot + " && mke2fs -q -F -t ext4 -U " + std::string(kBootUuid) + " -L boot -d " +
             spec.boot_tree + " " + boot + " 8M");
      run_ok("dd if=" + boot + " of=" + raw + " bs=512 seek=2048 conv=notrunc,sparse status=none");
    }
    run_ok("dd if=" + root + " of=" + raw + " bs=512 seek=" + std::to_string(root_start) +
           " conv=notrunc,sparse status=none");
  }
  if (spec.truncate_to != 0) run_ok("truncate -s " + std::to_string(spec.truncate_to) + " " + raw);
  if (spec.format == "raw") return raw;
  const std::string out = dir.file("guest." + spec.format);
  run_ok("rm -f " + out + " && qemu-img convert -f raw -O " + spec.format + " " + raw + " " + out);
  return out;
}

}  // namespace ig::test
