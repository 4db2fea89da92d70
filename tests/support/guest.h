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
#include <functional>
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

// Writes the smallest hive hivex and Windows accept, byte by byte (hivexsh -w and
// hivexregedit --merge edit a hive but cannot create one, and no Debian package ships an empty
// one): a 4 KiB base block ("regf", version 1.5, XOR checksum) and one 4 KiB hive bin holding the
// root key (nk, named "ROOT", no subkeys or values), its security descriptor (sk: owner
// Administrators, group SYSTEM, a DACL granting both full access) and one free cell. 8192 bytes.
void write_empty_hive(const std::string& path);

// A writable empty hive at `path`: ../shared/corpus's hivex minimal hive when the corpus is
// present (extra coverage: a hive Windows itself wrote), else write_empty_hive's.
void copy_empty_hive(const std::string& path);

// The SOFTWARE\Microsoft\Windows NT\CurrentVersion of a release, as hivexregedit's .reg text.
enum class WindowsRelease { kServer2022, kWindows10 };

// A Windows guest: an NTFS system volume (mkntfs, filled by wimlib-imagex from a tree) holding
// SOFTWARE and SYSTEM hives built by hivexregedit over an empty hive (copy_empty_hive), a
// System32\ntoskrnl.exe with a real PE header, the virtio drivers and cloudbase-init as asked.
// SOFTWARE holds virt-v2v's phony dump of the release when ../shared/corpus is present, else a
// dump written here with the same CurrentVersion values.
struct WindowsSpec {
  WindowsRelease release = WindowsRelease::kServer2022;
  bool viostor_file = true;
  bool viostor_service = true;
  std::uint32_t viostor_start = 0;  // 0: boot
  bool netkvm = true;
  bool cloudbase = true;
  std::uint16_t pe_machine = 0x8664;
  Table table = Table::kMbr;
  std::uint8_t mbr_type = 0x07;  // 0x42: a dynamic disk
  std::string software_reg;      // a SOFTWARE .reg dump to merge instead of software_reg(dir, release)
  // Called with the SOFTWARE and SYSTEM hive files once they are built, before they are put on
  // the NTFS volume: a test damages them here.
  std::function<void(const std::string& software, const std::string& system)> edit_hives;
};
// "" when the tools make_windows_disk needs are installed, else which ones are missing.
std::string windows_tools_missing();
// The disk as qcow2 (see windows_tools_missing: callers skip when the tools are missing).
std::string make_windows_disk(const TempDir& dir, const WindowsSpec& spec = {});
// The SOFTWARE .reg dump make_windows_disk merges for `release`, written into `dir`.
std::string software_reg(const TempDir& dir, WindowsRelease release);

// The ext4 UUID mke2fs will be told to use for the root and the /boot file systems.
inline constexpr const char* kRootUuid = "0f0e0d0c-0b0a-4908-8706-050403020100";
inline constexpr const char* kBootUuid = "1f1e1d1c-1b1a-4918-9716-151413121110";

}  // namespace ig::test
