// Linux guest fixtures for the inspector and the rules: a small but real installed-system tree,
// written to a directory, then made into a disk the way an exporter would (sfdisk or sgdisk,
// mke2fs -d, qemu-img convert). Each test starts from the healthy guest and breaks one thing.
//
// The healthy guest: Debian 12 (os-release), /bin/sh a real x86_64 ELF (the host's dash), merged
// /usr, kernel 6.1.0-13-amd64 with CONFIG_VIRTIO_{BLK,NET,PCI}=m and CONFIG_VIRTIO=m, its modules
// listed in modules.dep and present, an initramfs (an uncompressed early cpio, then a zstd cpio)
// holding virtio_blk, virtio_pci, virtio_ring and virtio, a Debian-style grub.cfg booting it,
// /etc/fstab, and cloud-init installed (program, Python package, dpkg status).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace ig::test {

enum class Table { kMbr, kGpt, kNone };

class LinuxTree {
 public:
  static constexpr const char* kKernel = "6.1.0-13-amd64";

  explicit LinuxTree(std::filesystem::path root);
  const std::filesystem::path& root() const { return root_; }

  void write(const std::string& guest_path, const std::string& content) const;
  void remove(const std::string& guest_path) const;  // a file or a whole tree
  // Adds a kernel: vmlinuz, config (`config` lines), modules.dep with `modules`, the module files,
  // and an initramfs holding `in_initramfs` (no initramfs when it is empty and `initramfs` false).
  void add_kernel(const std::string& version, const std::string& config, const std::vector<std::string>& modules,
                  const std::vector<std::string>& in_initramfs, bool initramfs = true) const;
  // grub.cfg with one entry per version, the first one the default.
  void write_grub(const std::vector<std::string>& versions, const std::string& boot_prefix = "/boot") const;

 private:
  std::filesystem::path root_;
};

struct DiskSpec {
  Table table = Table::kMbr;
  std::string boot_tree;          // a directory made into a separate /boot partition (partition 1)
  std::uint64_t truncate_to = 0;  // cut the raw disk to this many bytes
  std::string format = "qcow2";   // qemu-img's output format
  std::string root_label = "rootfs";
};

// Makes the disk for `tree` (its root file system) in `dir`; returns the image's path.
std::string make_guest_disk(const TempDir& dir, const std::string& tree, const DiskSpec& spec = {});

// An rpm 4.18 SQLite database (rpmdb.sqlite) with packages NAME-VERSION-RELEASE installed, made
// by rpmbuild and `rpm --justdb` in a scratch root under `dir`. Returns its path, or "" when rpm
// is not installed (callers skip).
std::string make_rpmdb(const TempDir& dir, const std::vector<std::string>& name_version_release);

// A Windows guest: an NTFS system volume (mkntfs, filled by wimlib-imagex from a tree) holding
// SOFTWARE and SYSTEM hives built by hivexregedit over ../shared/corpus's minimal hive, a
// System32\ntoskrnl.exe with a real PE header, the virtio drivers and cloudbase-init as asked.
struct WindowsSpec {
  std::string software_reg = "virt-v2v/test-data/phony-guests/win2k22-software.reg";  // corpus-relative
  bool viostor_file = true;
  bool viostor_service = true;
  std::uint32_t viostor_start = 0;  // 0: boot
  bool netkvm = true;
  bool cloudbase = true;
  std::uint16_t pe_machine = 0x8664;
  Table table = Table::kMbr;
  std::uint8_t mbr_type = 0x07;  // 0x42: a dynamic disk
};
// The disk as qcow2, or "" when the corpus, hivex tools or wimtools are missing (callers skip).
std::string make_windows_disk(const TempDir& dir, const WindowsSpec& spec = {});

// The ext4 UUID mke2fs will be told to use for the root and the /boot file systems.
inline constexpr const char* kRootUuid = "0f0e0d0c-0b0a-4908-8706-050403020100";
inline constexpr const char* kBootUuid = "1f1e1d1c-1b1a-4918-9716-151413121110";

}  // namespace ig::test
