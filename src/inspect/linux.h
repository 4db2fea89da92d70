// The Linux inspector: from a guest disk to the facts the import rules judge.
//
// inspect_disk() reads the partition table, names every volume (fs/probe.h), opens the file
// systems imagegate reads, and looks for the Linux root: a file system holding /etc and /usr or
// /bin. From the root it reads the distribution (os-release, /etc then /usr/lib), the
// architecture (the ELF header of /bin/sh, /sbin/init or /usr/lib/systemd/systemd) and the
// installed kernels (/boot/vmlinuz-* and /lib/modules/*). Nothing is executed; every read is
// bounded; paths resolve inside the guest only.
//
// The root's /etc/fstab mounts separate /boot and /usr volumes (by UUID, LABEL or device) into
// one guest view (fs/mounts.h). The boot loader's menu (inspect/boot_config.h) marks the default
// kernel; each kernel's virtio drivers are judged from its config, modules.builtin, modules.dep,
// the module files and its initramfs (inspect/initramfs.h). cloud-init: program, Python package,
// dpkg or rpm database, and whether it is disabled.
//
// File systems read: ext2/3/4, XFS, btrfs (NTFS for Windows, UFS2 for FreeBSD: inspect/windows.h,
// inspect/freebsd.h), on partitions, BSD label partitions or linear LVM logical volumes. A volume
// whose content is not recognised but whose partition type says ZFS (GPT "FreeBSD ZFS", BSD label
// fstype ZFS) is named "zfs": a root imagegate cannot read, not an empty partition. On btrfs the root is the default
// subvolume, or when that holds none, the first subvolume under the top level that does ("@", "root"); fstab's subvol=
// / subvolid= are honoured for /boot and /usr, and for / when it names another subvolume that looks like a root. Thread
// safety: pure over the disk. Errors: the disk's read errors and a corrupt partition table; a volume that cannot be
// read is recorded in its summary, not raised.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fs/probe.h"
#include "inspect/boot_config.h"
#include "inspect/freebsd.h"
#include "inspect/guest_facts.h"
#include "inspect/kernel_image.h"
#include "inspect/os_release.h"
#include "inspect/windows.h"
#include "io/stage_meter.h"
#include "volumes/partition_table.h"

namespace ig {

struct VolumeSummary {
  std::uint32_t partition = 0;  // 0: the whole disk (no partition table)
  std::string lv;               // "vg/lv" for an LVM logical volume on that partition
  std::string bsd_partition;    // "a": partition 'a' of the BSD disklabel in MBR slice `partition` ("1a")
  std::uint64_t first_byte = 0;
  std::uint64_t length_bytes = 0;
  std::string kind;     // "ext", "xfs", "swap", "LVM2 PV", "unknown", ...
  std::string fs_kind;  // "ext4" when opened, else ""
  std::string label;    // the file system's label, or a ZFS pool's name
  std::string uuid;
  std::string error;  // why it could not be opened, if it could not
  // A structure on the way to a root that is corrupt (issue 15, finding 7: corruption is not
  // absence): "LVM metadata" (this PV's, or this LV's mapping) or a directory ("/") of the file
  // system that opened, and what is wrong with it. Empty when nothing was found damaged.
  std::string damaged_at;
  std::string damage;
  bool linux_root = false;
  bool boot_volume = false;     // no root, but kernels or a boot loader at its top: a separate /boot
  bool windows_system = false;  // an NTFS volume holding Windows\System32\config
  bool freebsd_root = false;    // a UFS2 volume holding a FreeBSD root (inspect/freebsd.h)
};

struct InitramfsInfo {
  std::string path;                   // "/boot/initrd.img-6.1.0-13-amd64"; "" when none was found
  std::vector<std::string> archives;  // the compression of each archive in it: "none", "zstd", ...
  std::uint64_t entries = 0;
  std::string error;  // why it could not be read, when it could not
  // The error is imagegate's limit, a compression it does not read, or a read of the file that
  // failed below the archive (the file system, the image): the kernel may well unpack it, so the
  // drivers in it are unknown. Otherwise the archive itself is corrupt, and the kernel could not
  // unpack it either.
  bool unverifiable = false;
  bool read() const { return !path.empty() && error.empty(); }
};

struct KernelInfo {
  std::string version;       // "6.1.0-13-amd64"
  bool has_vmlinuz = false;  // /boot/vmlinuz-<version>
  bool has_modules = false;  // /lib/modules/<version>/
  bool has_config = false;   // /boot/config-<version>
  bool is_default = false;   // the boot loader's default entry boots it
  // What /boot/vmlinuz-<version> is built for (inspect/kernel_image.h): "x86_64", "i386",
  // "arm_64", or "" when its header does not say; `image` says what was read, or why not.
  std::string architecture;
  std::string image;
  InitramfsInfo initramfs;
  // virtio_blk, virtio_net, virtio_pci, virtio_ring, virtio: what the import rule needs (SPEC §2).
  std::vector<DriverInfo> virtio;
  // Its files that are there but could not be read (config, modules.builtin, modules.dep, a
  // module's file, a path its initramfs or vmlinuz may be at), each "<path>: <why>": its drivers
  // are then unknown, not absent.
  std::vector<std::string> unreadable;
};

// A mount of the guest's /etc/fstab that matters to the inspection (/boot, /usr).
struct MountInfo {
  std::string mount_point;
  std::string spec;    // as written in fstab
  bool found = false;  // a volume of this disk matches it
  std::uint32_t partition = 0;
  std::string lv;
  std::string error;  // why a volume that matches could not be mounted ("" when none matches)
};

struct BootLoaderInfo {
  std::string loader;  // "grub2", "grub2-bls", "grub-legacy", or "" when none was found
  std::string config;  // the file read
  std::string default_spec;
  std::string default_title;
  std::string default_kernel;  // the kernel path of the default entry, as written
  std::string default_version;
  std::size_t entries = 0;
};

struct LinuxGuest {
  std::uint32_t root_partition = 0;
  std::string root_lv;  // "vg/lv" when the root is an LVM logical volume
  OsRelease os_release;
  std::string os_release_source;  // the file it came from: "/etc/os-release", "/etc/redhat-release", ...
  // Release files that exist but could not be read, each "<path>: <why>" (a corrupt inode, more
  // bytes than are read): corruption, as opposed to absence.
  std::vector<std::string> os_release_errors;
  // Files and directories on the way to the kernel the guest boots that are there but could not
  // be read, each "<path>: <why>": /etc/fstab, the /boot and /lib/modules listings, the boot
  // loader's menu and environment. Which kernel boots is then unknown, not "none".
  std::vector<std::string> boot_unreadable;
  Distribution distribution;
  // "x86_64", "i386", "arm_64", or "" when unknown: the booted kernel's (boot_kernel()) when
  // its image says, since the machine must run it; else the ELF header of the userland.
  std::string architecture;
  std::string architecture_source;
  // The same facts apart, for the report's sentences: the userland's ELF header (its path and
  // what it says) and the booted kernel's image (its path and what was read of it).
  std::string userland_architecture;
  std::string userland_architecture_source;  // "/bin/sh"
  std::string kernel_architecture_source;    // "/boot/vmlinuz-6.1.0-13-amd64", "" when its image did not say
  std::string kernel_architecture_image;     // "bzImage, boot protocol 2.15, XLF_KERNEL_64 set"
  std::vector<FstabEntry> fstab;
  std::vector<MountInfo> mounts;
  BootLoaderInfo boot;
  std::vector<KernelInfo> kernels;
  CloudInitInfo cloud_init;
  const KernelInfo* default_kernel() const;  // the boot loader's choice, or nullptr
  // The kernel the guest boots, as far as the disk says: the boot loader's default, else the
  // newest (strverscmp) with a vmlinuz, else the last listed; nullptr when there is none.
  // `from_menu` says whether the boot loader chose it.
  const KernelInfo* boot_kernel(bool* from_menu = nullptr) const;
};

struct Inspection {
  PartitionTable table;
  std::vector<VolumeSummary> volumes;
  std::optional<LinuxGuest> linux_guest;
  std::optional<WindowsGuest> windows_guest;  // the first Windows system volume found
  std::optional<FreeBsdGuest> freebsd_guest;  // the first FreeBSD root found
  std::vector<std::string> notes;
};

// `meter`, when set, is told the stages (partitions, file systems, kernels, initramfs) as they run.
Result<Inspection> inspect_disk(const SourcePtr& disk, StageMeter* meter = nullptr);

// The python3* directories of `lib` (Linux /usr/lib, FreeBSD /usr/local/lib) where a Python
// package may sit, newest first by version, at most kMaxPythonDirs: the names are the guest's,
// and each costs lookups (the review of 2026-12-07: a million of them).
inline constexpr std::size_t kMaxPythonDirs = 16;
// Whether `path` resolves to a file of `type`, naming in `unreadable` ("<path>: <why>") a path
// that does not resolve for a reason other than absence: is_regular and is_dir (fs/path.h) take
// every error for absence, and a driver or package behind a damaged directory is unknown, not
// missing (the review of 2026-12-07).
bool is_noting(const FileSystem& fs, const std::string& path, FileType type, std::vector<std::string>& unreadable);

// A directory there that cannot be listed is named in `unreadable`.
std::vector<std::string> python3_dirs(const FileSystem& fs, const std::string& lib,
                                      std::vector<std::string>& unreadable);

}  // namespace ig
