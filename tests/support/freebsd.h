// FreeBSD guest fixtures for the inspector, the rules and the CLI: a tree shaped like a FreeBSD
// 14.1 install, made into a UFS2 file system by Debian's makefs (`-t ffs -o version=2`), placed in
// partition 'a' of a BSD disklabel inside an MBR slice of type 0xA5 (as bsdinstall lays out an
// MBR disk; support/bsd_label.h writes the label, which no Linux tool does), or in a GPT
// freebsd-ufs partition (sgdisk).
//
// The healthy guest: /bin/freebsd-version as FreeBSD ships it (USERLAND_VERSION 14.1-RELEASE-p5),
// /etc/os-release a symlink to /var/run/os-release (written at boot; present, as after a first
// boot), /boot/kernel/kernel a real ELF (the host's /bin/true, its e_machine set to x86-64) to
// which objcopy adds a section with the strings a GENERIC kernel carries (generic_kernel_strings),
// the virtio modules GENERIC also ships in /boot/kernel, a loader.conf of FreeBSD's VM images,
// and the cloud-init port installed (program, Python package with its version.py, cloud.cfg,
// rc.d script) and enabled in /etc/rc.conf. Each test breaks one thing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace ig::test {

// What a FreeBSD 14.1 GENERIC amd64 kernel carries that the inspector reads: its "@(#)" ident
// (sys/conf/newvers.sh) and the DRIVER_MODULE names "<bus>/<driver>" (sys/sys/bus.h) of the
// virtio drivers compiled into it (VIRTIO_DRIVER_MODULE attaches each to virtio_mmio and
// virtio_pci; FreeBSD 13 split virtio_pci into legacy and modern), beside other drivers' names.
std::vector<std::string> generic_kernel_strings();
// A kernel built from a configuration without `device virtio*`: the ident and other drivers only.
std::vector<std::string> kernel_strings_without_virtio();

class FreeBsdTree {
 public:
  static constexpr const char* kUserland = "14.1-RELEASE-p5";

  explicit FreeBsdTree(std::filesystem::path root);
  const std::filesystem::path& root() const { return root_; }

  void write(const std::string& guest_path, const std::string& content) const;
  void remove(const std::string& guest_path) const;  // a file or a whole tree
  // `guest_path` becomes the host's /bin/true with the strings (each NUL-terminated) added as a
  // read-only section by objcopy, and its ELF e_machine set to `machine` (0x3e x86-64,
  // 0xb7 AArch64).
  void write_kernel(const std::vector<std::string>& strings, const std::string& guest_path = "/boot/kernel/kernel",
                    std::uint16_t machine = 0x3e) const;

 private:
  std::filesystem::path root_;
};

enum class FreeBsdLayout { kMbrBsdLabel, kGpt };

struct FreeBsdDiskSpec {
  FreeBsdLayout layout = FreeBsdLayout::kMbrBsdLabel;
  bool zfs_root = false;         // the root partition is typed ZFS (fstype 27, GPT freebsd-zfs) and holds no UFS
  std::string format = "qcow2";  // qemu-img's output format
};

// The disk for `tree` in `dir` (24 MiB): returns the image's path. MBR: slice 1 (0xA5, bootable)
// from sector 2048 with 'a' (12 MiB) and 'b' (swap). GPT: partition 1 freebsd-ufs (or -zfs).
std::string make_freebsd_disk(const TempDir& dir, const std::string& tree, const FreeBsdDiskSpec& spec = {});

}  // namespace ig::test
