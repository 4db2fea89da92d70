#include "support/freebsd.h"

#include <fstream>
#include <utility>

#include "base/bytes.h"
#include "support/bsd_label.h"

namespace ig::test {

namespace fs = std::filesystem;

namespace {

// The head of FreeBSD 14's freebsd-version script, with its version variables.
constexpr const char* kVersionScript = R"(#!/bin/sh
#-
# Copyright (c) 2013 Dag-Erling Smørgrav
#
set -e

USERLAND_VERSION="14.1-RELEASE-p5"

: ${ROOT:=}
: ${LOADER_DIR:=$ROOT/boot/loader}
: ${LOADER_CONF_FILES:=$LOADER_DIR/defaults/loader.conf $LOADER_DIR/loader.conf $LOADER_DIR/loader.conf.local}
LOADER_RE1='^\([A-Z_a-z][0-9A-Z_a-z]*=[-./0-9A-Z_a-z]\{1,\}\).*$'
LOADER_RE2='^\([A-Z_a-z][0-9A-Z_a-z]*="[-./0-9A-Z_a-z]\{1,\}"\).*$'
KERNEL_NAME=kernel
)";

constexpr const char* kIdent =
    "@(#)FreeBSD 14.1-RELEASE-p5 releng/14.1-n267718-2a7d1e3ae5a3 GENERIC\n"
    "    root@amd64-builder.daemonology.net:/usr/obj/usr/src/amd64.amd64/sys/GENERIC";

}  // namespace

std::vector<std::string> kernel_strings_without_virtio() {
  return {kIdent,       "GENERIC",    "pci/ahci",
          "ahcich/ada", "pci/em",     "pci/igb",
          "pci/mpt",    "isa/atkbd",  "acpi/uart",
          "pci/xhci",   "usbus/ukbd", "cannot setup virtqueue interrupt"};  // a decoy: a message, not a driver's name
}

std::vector<std::string> generic_kernel_strings() {
  std::vector<std::string> s = kernel_strings_without_virtio();
  for (const char* v : {"virtio", "virtio_pci", "virtio_mmio/virtio_blk", "virtio_pci/virtio_blk", "virtio_blk",
                        "virtio_mmio/vtnet", "virtio_pci/vtnet", "vtnet", "pci/virtio_pci_legacy",
                        "pci/virtio_pci_modern", "virtio_pci/virtio_scsi", "virtio_pci/virtio_balloon"}) {
    s.emplace_back(v);
  }
  return s;
}

FreeBsdTree::FreeBsdTree(fs::path root) : root_(std::move(root)) {
  for (const char* d : {"bin", "sbin", "etc", "var/run", "boot/kernel", "boot/modules", "usr/bin", "usr/local/bin",
                        "usr/local/etc/rc.d", "root", "dev", "tmp"}) {
    fs::create_directories(root_ / d);
  }
  write("/bin/freebsd-version", kVersionScript);
  fs::copy_file("/usr/bin/dash", root_ / "bin/sh");
  write("/var/run/os-release",
        "NAME=FreeBSD\nVERSION=\"14.1-RELEASE-p5\"\nVERSION_ID=\"14.1\"\nID=freebsd\nANSI_COLOR=\"0;31\"\n"
        "PRETTY_NAME=\"FreeBSD 14.1-RELEASE-p5\"\nCPE_NAME=\"cpe:/o:freebsd:freebsd:14.1\"\n"
        "HOME_URL=\"https://FreeBSD.org/\"\nBUG_REPORT_URL=\"https://bugs.FreeBSD.org/\"\n");
  fs::create_symlink("../var/run/os-release", root_ / "etc/os-release");
  write("/etc/fstab",
        "# Device\tMountpoint\tFStype\tOptions\tDump\tPass#\n/dev/vtbd0s1a\t/\tufs\trw\t1\t1\n"
        "/dev/vtbd0s1b\tnone\tswap\tsw\t0\t0\n");
  write("/etc/rc.conf",
        "hostname=\"freebsd\"\nifconfig_DEFAULT=\"SYNCDHCP\"\nsshd_enable=\"YES\"\n"
        "growfs_enable=\"YES\"\ncloudinit_enable=\"YES\"  # the port's rc.d scripts\n");
  write("/boot/loader.conf",
        "autoboot_delay=\"-1\"\nbeastie_disable=\"YES\"\nloader_logo=\"none\"\n"
        "console=\"comconsole,vidconsole\"\ncomconsole_speed=\"115200\"\n");
  write_kernel(generic_kernel_strings());
  for (const char* ko : {"virtio.ko", "virtio_pci.ko", "virtio_blk.ko", "if_vtnet.ko", "virtio_scsi.ko", "zfs.ko"}) {
    write(std::string("/boot/kernel/") + ko, std::string("\x7f") + "ELF kernel module " + ko);
  }
  // The cloud-init port (net/cloud-init, package py311-cloud-init).
  write("/usr/local/bin/cloud-init",
        "#!/usr/local/bin/python3.11\nimport sys\nfrom cloudinit.cmd.main import main\nsys.exit(main())\n");
  write("/usr/local/lib/python3.11/site-packages/cloudinit/__init__.py", "");
  write(
      "/usr/local/lib/python3.11/site-packages/cloudinit/version.py",
      "# This file is part of cloud-init.\n\n__VERSION__ = \"24.1.4\"\n_PACKAGED_VERSION = \"@@PACKAGED_VERSION@@\"\n");
  write("/usr/local/etc/cloud/cloud.cfg", "users:\n  - default\ndisable_root: true\n");
  write("/usr/local/etc/rc.d/cloudinit",
        "#!/bin/sh\n# PROVIDE: cloudinit\n. /etc/rc.subr\nname=\"cloudinit\"\n"
        "command=\"/usr/local/bin/cloud-init\"\nrcvar=\"cloudinit_enable\"\nload_rc_config $name\n"
        "run_rc_command \"$1\"\n");
}

void FreeBsdTree::write(const std::string& guest_path, const std::string& content) const {
  const fs::path p = root_ / guest_path.substr(1);
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

void FreeBsdTree::remove(const std::string& guest_path) const {
  fs::remove_all(root_ / guest_path.substr(1));
}

void FreeBsdTree::write_kernel(const std::vector<std::string>& strings, const std::string& guest_path,
                               std::uint16_t machine) const {
  const fs::path out = root_ / guest_path.substr(1);
  fs::create_directories(out.parent_path());
  const fs::path section = root_.parent_path() / "kernel-strings.bin";
  {
    std::ofstream f(section, std::ios::binary | std::ios::trunc);
    for (const std::string& s : strings) f << s << '\0';
  }
  run_ok("objcopy --add-section .kernel_strings=" + section.string() + " /bin/true " + shell_quote(out.string()));
  fs::remove(section);
  std::vector<std::byte> m(2);
  store_le_ptr<std::uint16_t>(m.data(), machine);
  patch_file(out.string(), 18, m);  // e_machine (the host's /bin/true is little-endian)
}

std::string make_freebsd_disk(const TempDir& dir, const std::string& tree, const FreeBsdDiskSpec& spec) {
  const std::string raw = dir.file("freebsd.raw");
  const std::string ufs = dir.file("freebsd-root.ufs");
  run_ok("rm -f " + raw + " " + ufs + " && truncate -s 24M " + raw);
  if (!spec.zfs_root) run_ok("makefs -t ffs -o version=2 -s 12m " + ufs + " " + tree + " > /dev/null");
  std::uint64_t root_lba = 0;
  if (spec.layout == FreeBsdLayout::kMbrBsdLabel) {
    run_ok("printf 'label: dos\\nstart=" + std::to_string(kSliceLba) + ", size=" + std::to_string(kSliceSectors) +
           ", type=a5, bootable\\n' | sfdisk -q " + raw);
    std::vector<LabelPartition> parts = standard_label(0);
    if (spec.zfs_root) parts[0].fstype = 27;  // FS_ZFS
    patch_file(raw, (kSliceLba + 1) * 512, disklabel(parts, 8));
    root_lba = kSliceLba + parts[0].offset;
  } else {
    const char* type = spec.zfs_root ? "a504" : "a503";  // sgdisk's codes for freebsd-zfs, freebsd-ufs
    run_ok("sgdisk -n 1:2048:+12M -t 1:" + std::string(type) + " " + raw + " > /dev/null");
    root_lba = 2048;
  }
  if (!spec.zfs_root) {
    run_ok("dd if=" + ufs + " of=" + raw + " bs=512 seek=" + std::to_string(root_lba) +
           " conv=notrunc,sparse status=none");
  }
  if (spec.format == "raw") return raw;
  const std::string out = dir.file("freebsd." + spec.format);
  run_ok("rm -f " + out + " && qemu-img convert -f raw -O " + spec.format + " " + raw + " " + out);
  return out;
}

}  // namespace ig::test
