// The Windows inspector: from an NTFS volume to the facts the cloud's Windows rules judge.
//
// A Windows system volume holds Windows\System32\config\SOFTWARE and SYSTEM. From SOFTWARE
// (Microsoft\Windows NT\CurrentVersion): product name, edition, installation type, version and
// build, and so the release (Windows Server 2008 ... 2022, or a client Windows). From the PE
// header of System32\ntoskrnl.exe: the architecture. From SYSTEM: the current control set
// (Select\Current), and in its Services the virtio drivers (viostor, vioscsi: storage, which
// must start at boot; netkvm: network) and cloudbase-init; each driver's .sys file in
// System32\drivers; cloudbase-init's install directory under Program Files.
// Names resolve case-insensitively through NTFS; hives are read in memory (registry/hive.h).
// Thread safety: pure over the file system. Errors: none raised; a hive that is there but cannot be
// read or walked is named in software_damage / system_damage, anything else that cannot be read is a note.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace ig {

struct WindowsDriver {
  std::string name;                    // "viostor", "vioscsi", "netkvm"
  std::string file;                    // "/Windows/System32/drivers/viostor.sys" when present, else ""
  bool service = false;                // ControlSetNNN\Services\<name> exists
  std::optional<std::uint32_t> start;  // its Start: 0 boot, 1 system, 2 automatic, 3 demand, 4 disabled
  std::string image_path;
};

struct WindowsGuest {
  std::uint32_t partition = 0;
  std::string product_name;       // "Windows Server 2022 Standard"
  std::string edition_id;         // "ServerStandard"
  std::string installation_type;  // "Server", "Server Core", "Client"
  std::string current_version;    // "6.3"
  std::optional<std::uint32_t> major;
  std::optional<std::uint32_t> minor;
  std::string build;  // "20348"
  bool server = false;
  std::string release;       // "Windows Server 2022", "Windows Server 2012 R2", ... or "" when not one
  std::string version;       // what the report calls the version: "2022", "2012 R2", "10.0.19045"
  std::string architecture;  // "x86_64", "i386", "arm_64", or ""
  // Where it was read: the PE header of this file ("/Windows/System32/ntoskrnl.exe"), or
  // when it is a registry path, that value.
  std::string architecture_source;
  std::string control_set;             // "ControlSet001"
  std::vector<WindowsDriver> drivers;  // viostor, vioscsi, netkvm
  bool cloudbase_service = false;
  std::string cloudbase_dir;  // the install directory found, or ""
  bool software_dirty = false;
  bool system_dirty = false;
  // Why a hive that is there could not be read or walked (a corrupt cell, a bad checksum, a file
  // NTFS cannot read), or "": corruption, reported as such, never as a missing value (issue 15,
  // finding 7). A hive file that is not there at all is a note.
  std::string software_damage;
  std::string system_damage;
  std::vector<std::string> notes;
  const WindowsDriver* driver(std::string_view name) const;
};

// The Windows guest on `fs`, or nothing when it holds no Windows\System32\config.
std::optional<WindowsGuest> describe_windows(const FileSystem& fs, std::uint32_t partition);

// The Windows Server release a build number and installation type name ("Windows Server 2019"),
// "" for a client or an unknown build; `version` gets "2019", "2012 R2", ...
std::string windows_server_release(std::string_view build, bool server, std::string& version);

// The architecture a PE (MZ) header names ("x86_64", "i386", "arm_64"), or "".
std::string pe_architecture(std::span<const std::byte> head);

}  // namespace ig
