// The FreeBSD inspector: from a UFS2 root to the facts the cloud's FreeBSD import needs.
//
// A FreeBSD root holds /bin/freebsd-version, a shell script whose USERLAND_VERSION="14.1-RELEASE-p5"
// line names the installed release (freebsd-version(1) prints it), and usually /etc/os-release
// (a symlink to /var/run/os-release, which rc writes at boot, so a never-booted image may lack
// it). The script is parsed, never run.
//
// The kernel is /boot/<kernel>/kernel, <kernel> being loader.conf's `kernel` ("kernel" by
// default). Its ELF header gives the architecture. Its virtio drivers: the GENERIC kernel has
// virtio, virtio_pci, virtio_blk and vtnet compiled in, and a driver compiled in leaves the name
// of its DRIVER_MODULE in the kernel's strings, "<bus>/<driver>" (sys/sys/bus.h): the kernel file
// is scanned (bounded) for "virtio_pci/virtio_blk", "virtio_pci/vtnet" and "pci/virtio_pci"
// (FreeBSD 12 and older) or "pci/virtio_pci_legacy" / "pci/virtio_pci_modern" (13 and later),
// each with its terminating NUL. A driver not compiled in may be a module the loader loads:
// `<module>_load="YES"` in /boot/loader.conf, /boot/loader.conf.d/*.conf or
// /boot/loader.conf.local (in that order, the last assignment winning, as the loader reads them),
// with <module>.ko in the kernel's directory or in module_path. virtio itself is needed as a
// module only when no driver is compiled in (the loader loads it as their dependency).
//
// cloud-init: the FreeBSD port (package py3*-cloud-init) installs /usr/local/bin/cloud-init and
// /usr/local/lib/python3.*/site-packages/cloudinit, and runs only when rc.conf sets
// cloudinit_enable="YES". bsd-cloudinit (a cloudbase-init port) is installed by its installer
// into /root/bsd-cloudinit, run once by /etc/rc.local at first boot. Configuration files are
// parsed as `name="value"` lines, never executed.
//
// Thread safety: pure over the file system. Errors: none raised; what cannot be read is a note,
// or the kernel's error. Every string is guest text (base/guest_text.h) when it leaves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/filesystem.h"
#include "inspect/guest_facts.h"
#include "inspect/os_release.h"

namespace ig {

struct FreeBsdKernel {
  std::string path;         // "/boot/kernel/kernel"
  std::string path_source;  // "", or the loader.conf line that chose another kernel
  bool found = false;       // the file is there and could be read
  std::string ident;        // its "@(#)" string: "FreeBSD 14.1-RELEASE-p5 #0 releng/14.1-n267679-…"
  std::string version;      // the release the ident names: "14.1-RELEASE-p5", or ""
  std::uint64_t scanned_bytes = 0;
  std::string error;  // why it was not found or not read whole
  // virtio_blk, vtnet, virtio_pci and virtio (the core the others need).
  std::vector<DriverInfo> virtio;
  // Module files that could not be looked up for a reason other than absence ("<path>: <why>").
  std::vector<std::string> unreadable;
};

struct FreeBsdGuest {
  std::uint32_t root_partition = 0;      // set by inspect_disk
  std::string root_bsd_partition;        // "a" when the root is partition 'a' of a BSD label
  std::string userland_version;          // "14.1-RELEASE-p5": USERLAND_VERSION of /bin/freebsd-version
  std::string version;                   // "14.1": the release number, as the cloud's OS list names it
  std::string version_source;            // "/bin/freebsd-version" or "/etc/os-release"
  OsRelease os_release;                  // /etc/os-release when readable, else empty
  std::string architecture;              // "x86_64", "i386", "arm_64", or "" when unknown
  std::string architecture_source;       // the file whose ELF header told it: "/boot/kernel/kernel"
  std::vector<std::string> loader_conf;  // the loader.conf files read, in the loader's order
  FreeBsdKernel kernel;
  CloudInitInfo cloud_init;
  std::vector<std::string> notes;  // what could not be read, and why
};

// A FreeBSD root: /bin/freebsd-version, or an os-release whose ID is "freebsd". Nothing otherwise.
std::optional<FreeBsdGuest> describe_freebsd(const FileSystem& root);

// The USERLAND_VERSION value of a freebsd-version script ("" when it has none or an implausible
// one: only letters, digits, '.', '-' and '_' are accepted).
std::string parse_freebsd_version(std::string_view script);

// The assignments of a loader.conf(5) or rc.conf(5) file, in order: `name="value"`, `name='value'`
// or `name=value` lines ('#' comments, blank lines and anything else are skipped; nothing is
// expanded or executed). Names are [A-Za-z0-9_.]+.
std::vector<std::pair<std::string, std::string>> parse_bsd_conf(std::string_view text);

}  // namespace ig
