// The guest's boot configuration, read as text: /etc/fstab and the boot loader's menu.
//
// fstab says where /boot and /usr live (UUID=, LABEL=, PARTUUID=, a device path); the boot
// loader says which installed kernel boots, and so which kernel's virtio drivers and initramfs
// the import rule judges (SPEC §2). Supported menus: GRUB 2 grub.cfg (menuentry and submenu,
// `set default`, grubenv's saved_entry), GRUB 2 Boot Loader Specification entries
// (/boot/loader/entries/*.conf, as RHEL 8+ and Fedora write them) and GRUB legacy menu.lst /
// grub.conf. Nothing is executed: GRUB's script conditionals are not evaluated, the last
// `set default` outside the next_entry branch wins, as GRUB's generated files intend.
//
// Bounded: every parser stops at kMaxBootConfigLines lines and kMaxMenuDepth submenu levels.
// Thread safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

inline constexpr std::size_t kMaxBootConfigLines = 100'000;
inline constexpr std::size_t kMaxMenuDepth = 8;
// Entries kept from one menu (grub.cfg, menu.lst, BLS files), and the bytes kept of a title or id
// and of a kernel or initrd path: each entry copies the titles of the submenus above it, and one
// long title over many entries of a 4 MiB grub.cfg was 165 GB (the review of 2026-12-07).
inline constexpr std::size_t kMaxMenuEntries = 1000;
inline constexpr std::size_t kMaxMenuTextBytes = 1024;
inline constexpr std::size_t kMaxMenuPathBytes = 4096;  // PATH_MAX

struct FstabEntry {
  std::string spec;  // "UUID=…", "LABEL=…", "/dev/sda1", "/dev/mapper/vg-root"
  std::string mount_point;
  std::string type;
  std::string options;
};
std::vector<FstabEntry> parse_fstab(std::string_view text);

// One position in a menu: its index among its siblings, its --id and its title.
struct MenuLevel {
  std::size_t index = 0;
  std::string id;
  std::string title;
};

struct BootEntry {
  std::vector<MenuLevel> levels;  // the submenus leading to it, then the entry itself
  std::string kernel;             // the path as written: "/boot/vmlinuz-6.1.0-13-amd64", "/vmlinuz-…"
  std::string initrd;             // the last initrd path (the first ones are usually microcode)
  std::string title() const { return levels.empty() ? "" : levels.back().title; }
};

struct BootMenu {
  std::string loader;                 // "grub2", "grub2-bls", "grub-legacy"
  std::string path;                   // the file read
  std::vector<BootEntry> entries;     // flattened, in menu order
  std::string default_spec;           // as written: "0", "${saved_entry}", "gnulinux-…>gnulinux-…"
  std::optional<std::size_t> chosen;  // the entry that boots by default
  bool uses_bls = false;              // grub.cfg calls blscfg: the entries are BLS files
};

// GRUB 2's grub.cfg; `env` is grubenv's variables (saved_entry) for "${saved_entry}".
BootMenu parse_grub_cfg(std::string_view text, const std::map<std::string, std::string>& env);
std::map<std::string, std::string> parse_grubenv(std::string_view text);
// One BLS entry file; `id` is its file name without ".conf".
BootEntry parse_bls_entry(std::string_view text, std::string_view id);
// GRUB legacy; `saved` is /boot/grub/default for "default saved".
BootMenu parse_menu_lst(std::string_view text, std::string_view saved);

// The entry a GRUB default names: "2", "1>0", an --id, a title, or ">"-paths of them.
std::optional<std::size_t> select_entry(const std::vector<BootEntry>& entries, std::string_view spec);

// The kernel version a kernel path names: "/boot/vmlinuz-6.1.0-13-amd64" -> "6.1.0-13-amd64"; ""
// when the file name does not carry one ("/vmlinuz", a symlink the caller resolves).
std::string kernel_version_of(std::string_view kernel_path);

}  // namespace ig
