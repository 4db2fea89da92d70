#include "support/guest.h"

#include <fstream>

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

std::string make_windows_disk(const TempDir& dir, const WindowsSpec& spec) {
  if (!corpus_available() ||
      run("command -v hivexregedit && command -v wimlib-imagex && command -v mkntfs").exit_code != 0) {
    return "";
  }
  const fs::path tree = dir.path() / "windows-tree";
  fs::remove_all(tree);
  const fs::path sys32 = tree / "Windows/System32";
  fs::create_directories(sys32 / "config");
  fs::create_directories(sys32 / "drivers");
  // hives
  const std::string minimal = corpus_path("hivex/images/minimal").string();
  const std::string software = (sys32 / "config/SOFTWARE").string();
  const std::string system = (sys32 / "config/SYSTEM").string();
  run_ok("cp " + minimal + " " + software + " && cp " + minimal + " " + system + " && chmod u+w " + software + " " +
         system);
  run_ok("hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE' " + software + " " +
         corpus_path(spec.software_reg).string());
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
