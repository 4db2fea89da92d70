// Facts every guest inspector reports the same way, whatever the OS: how a kernel provides a
// driver, and whether cloud-init is there. The Linux inspector (inspect/linux.h) and the FreeBSD
// one (inspect/freebsd.h) fill them; the rules (rules/check.cc) judge them. Plain data.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

// How one kernel provides a driver.
enum class DriverState {
  kBuiltIn,        // Linux: CONFIG_...=y, or listed in modules.builtin. FreeBSD: compiled into the kernel
  kModule,         // Linux: listed in modules.dep and its file is present. FreeBSD: loaded by loader.conf, file present
  kModuleMissing,  // Linux: CONFIG_...=m or in modules.dep, but no file. FreeBSD: loader.conf loads it, no file
  kAbsent,         // not built in and no module (FreeBSD: or a module file that nothing loads at boot)
};
std::string_view driver_state_name(DriverState s);  // "built-in", "module", "module-missing", "absent"

struct DriverInfo {
  std::string name;  // "virtio_blk"
  DriverState state = DriverState::kAbsent;
  // Linux: "CONFIG_VIRTIO_BLK=m" as found in /boot/config-<version>. FreeBSD: the loader.conf
  // line that loads it, "/boot/loader.conf: virtio_blk_load=\"YES\"". Or "".
  std::string config;
  // Linux: the module's path under /lib/modules/<version>/. FreeBSD: the module file's guest path
  // ("/boot/kernel/virtio_blk.ko"), also when it is there but not loaded.
  std::string module;
  // For a Linux module: whether the kernel's initramfs holds it (unset when the initramfs was not
  // read, and always for FreeBSD, whose loader reads modules from the root itself).
  std::optional<bool> in_initramfs;
};

// cloud-init, as the guest has it (SPEC §2: required unless the import is forced).
struct CloudInitInfo {
  bool installed = false;
  // Where it was found: its program and Python package ("/usr/bin/cloud-init"), and the package
  // databases that list it installed ("/var/lib/dpkg/status").
  std::vector<std::string> evidence;
  struct Package {
    std::string manager;   // "dpkg", "rpm" or "pkg"
    std::string version;   // as the database gives it
    std::string database;  // its path, also in `evidence`
  };
  std::vector<Package> packages;
  std::string version;  // from the package database, when known
  bool disabled = false;
  std::vector<std::string> disabled_by;   // the marker file: "/etc/cloud/cloud-init.disabled"
  std::vector<std::string> masked_units;  // units linked to /dev/null: "cloud-init.service"
  // FreeBSD: cloudinit_enable is set nowhere rc.conf is read from, so the port's rc.d scripts do
  // not run; bsd-cloudinit is there but /etc/rc.local does not run it.
  bool enable_unset = false;
  bool rc_local_missing = false;
  std::vector<std::string> notes;  // a package database that could not be read, and why
  // Package databases that are there but could not be read (a corrupt inode, more bytes than are
  // read, a corrupt rpm database), each "<path>: <why>": when cloud-init is not found otherwise,
  // the rules say the answer is unknown, not that it is absent. Filled by the Linux inspector.
  std::vector<std::string> unreadable;
};

}  // namespace ig
