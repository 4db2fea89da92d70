#include "inspect/linux.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "base/bytes.h"
#include "base/guest_text.h"
#include "base/text.h"
#include "fs/btrfs.h"
#include "fs/mounts.h"
#include "fs/path.h"
#include "inspect/initramfs.h"
#include "inspect/rpmdb.h"
#include "inspect/windows.h"
#include "io/sources.h"
#include "volumes/lvm.h"

namespace ig {
namespace {

constexpr std::uint64_t kMaxOsReleaseBytes = 64 * 1024;

// Version-like names, newest first ("6.1.0-13" before "6.1.0-9"), as GRUB's blscfg orders entries.
bool newer_first(const std::string& x, const std::string& y) {
  return strverscmp(x.c_str(), y.c_str()) > 0;
}

// Corruption is not absence (issue 15, finding 7). Only kNotFound says a guest file or directory
// is not there; any other error (a corrupt inode, extent tree or directory, more bytes than are
// read, not a regular file) is named as "<path>: <why>" in `unreadable`, for the rules to say
// that the answer is unknown instead of blaming the image for what it lacks.
void note_unreadable(std::string_view path, const Error& e, std::vector<std::string>& unreadable) {
  if (e.code == ErrorCode::kNotFound) return;
  unreadable.push_back(e.message.rfind(path, 0) == 0 ? e.message : fmt::format("{}: {}", path, e.message));
}

std::optional<std::string> read_noting(const FileSystem& fs, const std::string& path, std::uint64_t max_bytes,
                                       std::vector<std::string>& unreadable) {
  auto text = read_guest_file(fs, path, max_bytes);
  if (text) return std::move(*text);
  note_unreadable(path, text.error(), unreadable);
  return std::nullopt;
}

// The names in the directory `path`, sorted (list_names), naming in `unreadable` a directory that
// is there but cannot be listed. A path that is not a directory lists nothing, as absent.
std::vector<std::string> list_noting(const FileSystem& fs, const std::string& path,
                                     std::vector<std::string>& unreadable) {
  std::vector<std::string> names;
  auto r = resolve(fs, path);
  if (!r) {
    note_unreadable(path, r.error(), unreadable);
    return names;
  }
  if (r->stat.type != FileType::kDirectory) return names;
  auto entries = fs.list(r->inode);
  if (!entries) {
    note_unreadable(path, entries.error(), unreadable);
    return names;
  }
  for (const auto& e : *entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

// Errors that say a structure is damaged (as opposed to absent, unsupported or refused).
bool is_damage(const Error& e) {
  return e.code == ErrorCode::kCorrupt || e.code == ErrorCode::kLimitExceeded || e.code == ErrorCode::kOutOfRange ||
         e.code == ErrorCode::kTruncated;
}

std::optional<std::string> architecture_of(const FileSystem& fs, std::string& source) {
  for (const char* path : {"/bin/sh", "/sbin/init", "/usr/lib/systemd/systemd", "/bin/bash", "/usr/bin/env"}) {
    auto r = resolve(fs, path);
    if (!r || r->stat.type != FileType::kRegular || r->stat.size < 20) continue;
    auto src = fs.open(r->inode);
    if (!src) continue;
    std::array<std::byte, 20> header{};
    if (!(*src)->read_at(0, header)) continue;
    const std::string arch = elf_architecture(header);
    if (!arch.empty()) {
      source = path;
      return arch;
    }
  }
  return std::nullopt;
}

constexpr std::uint64_t kMaxKernelTextBytes = 8 << 20;  // a config, modules.dep or modules.builtin
// Kernels inspected: each costs lookups in /boot and /lib/modules, three texts and an initramfs
// scan, and every vmlinuz-* or /lib/modules/* name is one (the review of 2026-12-07: 100,000 of
// them ran into the CPU budget). Systems keep a handful.
constexpr std::size_t kMaxKernels = 64;
constexpr std::uint64_t kMaxRpmdbBytes = 256 << 20;

struct VirtioDriver {
  const char* module;
  const char* config;
};
constexpr VirtioDriver kVirtio[] = {
    {"virtio_blk", "CONFIG_VIRTIO_BLK"}, {"virtio_net", "CONFIG_VIRTIO_NET"}, {"virtio_pci", "CONFIG_VIRTIO_PCI"},
    {"virtio_ring", "CONFIG_VIRTIO"},    {"virtio", "CONFIG_VIRTIO"},
};

// The module's base name from a path in modules.dep / modules.builtin: ".../virtio_blk.ko.xz".
std::string module_name(std::string_view path) {
  const auto slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto ko = base.find(".ko");
  if (ko != std::string_view::npos) base = base.substr(0, ko);
  std::string out(base);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

void describe_drivers(const FileSystem& fs, KernelInfo& k) {
  std::map<std::string, std::string> config;  // CONFIG_X -> "y" / "m" / "not set"
  if (auto text = read_noting(fs, "/boot/config-" + k.version, kMaxKernelTextBytes, k.unreadable)) {
    k.has_config = true;
    for_each_line(*text, [&](std::string_view line) {
      if (line.rfind("CONFIG_", 0) == 0) {
        const auto eq = line.find('=');
        if (eq != std::string_view::npos) config[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
      } else if (line.rfind("# CONFIG_", 0) == 0 && line.ends_with(" is not set")) {
        config[std::string(line.substr(2, line.size() - 2 - 11))] = "not set";
      }
    });
  }
  const std::string dir = "/lib/modules/" + k.version;
  std::map<std::string, std::string> builtin;  // name -> path
  if (auto text = read_noting(fs, dir + "/modules.builtin", kMaxKernelTextBytes, k.unreadable)) {
    for_each_line(*text, [&](std::string_view line) {
      const std::string path = trim(line);
      if (!path.empty()) builtin[module_name(path)] = path;
    });
  }
  std::map<std::string, std::string> modules;  // name -> path, from modules.dep ("path: deps")
  if (auto text = read_noting(fs, dir + "/modules.dep", kMaxKernelTextBytes, k.unreadable)) {
    for_each_line(*text, [&](std::string_view line) {
      const auto colon = line.find(':');
      if (colon != std::string_view::npos)
        modules[module_name(line.substr(0, colon))] = std::string(line.substr(0, colon));
    });
  }
  for (const VirtioDriver& d : kVirtio) {
    DriverInfo info;
    info.name = d.module;
    const auto c = config.find(d.config);
    if (c != config.end())
      info.config =
          c->second == "not set" ? fmt::format("# {} is not set", d.config) : fmt::format("{}={}", d.config, c->second);
    const bool config_y = c != config.end() && c->second == "y";
    const bool config_m = c != config.end() && c->second == "m";
    if (builtin.count(d.module) != 0 || (config_y && modules.count(d.module) == 0)) {
      info.state = DriverState::kBuiltIn;
    } else if (auto m = modules.find(d.module); m != modules.end()) {
      info.module = m->second;
      auto file = resolve(fs, dir + "/" + m->second);
      if (!file) note_unreadable(dir + "/" + m->second, file.error(), k.unreadable);
      info.state = file && file->stat.type == FileType::kRegular ? DriverState::kModule : DriverState::kModuleMissing;
    } else if (config_m) {
      info.state = DriverState::kModuleMissing;
    }
    k.virtio.push_back(std::move(info));
  }
}

}  // namespace

bool is_noting(const FileSystem& fs, const std::string& path, FileType type, std::vector<std::string>& unreadable) {
  auto r = resolve(fs, path);
  if (!r) {
    // A component that is not a directory leaves the path absent, as no entry does.
    if (r.error().code != ErrorCode::kInvalidArgument) note_unreadable(path, r.error(), unreadable);
    return false;
  }
  return r->stat.type == type;
}

std::vector<std::string> python3_dirs(const FileSystem& fs, const std::string& lib,
                                      std::vector<std::string>& unreadable) {
  std::vector<std::string> out;
  for (std::string& n : list_noting(fs, lib, unreadable)) {
    if (n.rfind("python3", 0) == 0) out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end(), newer_first);
  if (out.size() > kMaxPythonDirs) out.resize(kMaxPythonDirs);
  return out;
}

namespace {

// cloud-init: installed (program, Python package, dpkg or rpm database) and not disabled (no
// cloud-init.disabled file, none of its units masked).
CloudInitInfo describe_cloud_init(const FileSystem& fs) {
  CloudInitInfo c;
  for (const char* path : {"/usr/bin/cloud-init", "/usr/local/bin/cloud-init"}) {
    if (is_noting(fs, path, FileType::kRegular, c.unreadable)) c.evidence.emplace_back(path);
  }
  for (const std::string& lib : {std::string("/usr/lib"), std::string("/usr/lib64")}) {
    for (const std::string& py : python3_dirs(fs, lib, c.unreadable)) {
      for (const char* sub : {"/dist-packages/cloudinit", "/site-packages/cloudinit"}) {
        const std::string dir = lib + "/" + py + sub;
        if (is_noting(fs, dir, FileType::kDirectory, c.unreadable)) c.evidence.push_back(dir);
      }
    }
  }
  if (auto status = read_noting(fs, "/var/lib/dpkg/status", kMaxKernelTextBytes, c.unreadable)) {
    // Stanzas separated by blank lines; the cloud-init stanza must say "install ok installed".
    std::size_t pos = 0;
    while (pos < status->size()) {
      std::size_t end = status->find("\n\n", pos);
      if (end == std::string::npos) end = status->size();
      const std::string_view stanza(status->data() + pos, end - pos);
      pos = end + 2;
      if (stanza.find("Package: cloud-init\n") != 0 && stanza.find("\nPackage: cloud-init\n") == std::string_view::npos)
        continue;
      if (stanza.find("Status: install ok installed") == std::string_view::npos) continue;
      const auto v = stanza.find("\nVersion: ");
      if (v != std::string_view::npos) {
        const auto e = stanza.find('\n', v + 10);
        c.version =
            std::string(stanza.substr(v + 10, e == std::string_view::npos ? std::string_view::npos : e - v - 10));
      }
      c.evidence.emplace_back("/var/lib/dpkg/status");
      c.packages.push_back({"dpkg", c.version, "/var/lib/dpkg/status"});
    }
  }
  // rpm 4.16+: the SQLite database (Fedora 36+ moved it to /usr/lib/sysimage, with a symlink).
  for (const char* path : {"/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"}) {
    auto r = resolve(fs, path);
    if (!r) note_unreadable(path, r.error(), c.unreadable);
    if (!r || r->stat.type != FileType::kRegular) continue;
    if (r->stat.size > kMaxRpmdbBytes) {
      c.unreadable.push_back(fmt::format("{}: {} bytes, more than the {} read", path, r->stat.size, kMaxRpmdbBytes));
      break;
    }
    auto bytes = read_noting(fs, path, kMaxRpmdbBytes, c.unreadable);
    if (!bytes) break;
    auto found = rpmdb_find(std::as_bytes(std::span(*bytes)), "cloud-init");
    if (!found) {
      c.unreadable.push_back(fmt::format("{}: {}", path, found.error().message));
    } else if (*found) {
      if (c.version.empty()) c.version = (*found)->evr();
      c.evidence.emplace_back(path);
      c.packages.push_back({"rpm", (*found)->evr(), path});
    }
    break;
  }
  c.installed = !c.evidence.empty();
  if (resolve(fs, "/etc/cloud/cloud-init.disabled", false))
    c.disabled_by.emplace_back("/etc/cloud/cloud-init.disabled");
  for (const char* unit :
       {"cloud-init-local.service", "cloud-init.service", "cloud-config.service", "cloud-final.service"}) {
    auto link = resolve(fs, std::string("/etc/systemd/system/") + unit, false);
    if (!link || link->stat.type != FileType::kSymlink) continue;
    auto target = fs.read_link(link->inode);
    if (target && *target == "/dev/null") c.masked_units.emplace_back(unit);
  }
  c.disabled = !c.disabled_by.empty() || !c.masked_units.empty();
  return c;
}

constexpr std::uint64_t kMaxBootTextBytes = 4 << 20;  // grub.cfg, a BLS entry, fstab
constexpr std::uint64_t kMaxInitramfsBytes = 1ULL << 30;
constexpr std::uint32_t kInitramfsChunkBytes = 1U << 20;

// The boot loader's menu: GRUB 2 (with BLS entries when grub.cfg calls blscfg, or when only
// entries exist), else GRUB legacy.
BootMenu read_boot_menu(const FileSystem& fs, std::vector<std::string>& unreadable) {
  std::map<std::string, std::string> env;
  for (const char* path : {"/boot/grub/grubenv", "/boot/grub2/grubenv"}) {
    if (auto text = read_noting(fs, path, kMaxBootTextBytes, unreadable)) {
      env = parse_grubenv(*text);
      break;
    }
  }
  BootMenu menu;
  for (const char* path : {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}) {
    if (auto text = read_noting(fs, path, kMaxBootTextBytes, unreadable)) {
      menu = parse_grub_cfg(*text, env);
      menu.path = path;
      break;
    }
  }
  const std::vector<std::string> bls = list_noting(fs, "/boot/loader/entries", unreadable);
  if ((menu.path.empty() || menu.uses_bls) && !bls.empty()) {
    BootMenu b;
    b.loader = "grub2-bls";
    b.path = "/boot/loader/entries";
    std::vector<std::string> ids;
    for (const std::string& n : bls) {
      if (n.size() > 5 && n.ends_with(".conf")) ids.push_back(n.substr(0, n.size() - 5));
    }
    // GRUB's blscfg lists entries newest first: by version, descending.
    std::sort(ids.begin(), ids.end(), newer_first);
    // Files tried, not entries read: a million entries that fail to read each cost a lookup.
    if (ids.size() > kMaxMenuEntries) ids.resize(kMaxMenuEntries);
    for (const std::string& id : ids) {
      if (auto text = read_noting(fs, "/boot/loader/entries/" + id + ".conf", kMaxBootTextBytes, unreadable)) {
        BootEntry e = parse_bls_entry(*text, id);
        e.levels.back().index = b.entries.size();
        b.entries.push_back(std::move(e));
      }
    }
    const auto saved = env.find("saved_entry");
    b.default_spec = saved != env.end() ? saved->second : "0";
    b.chosen = select_entry(b.entries, b.default_spec);
    if (!b.chosen) b.chosen = select_entry(b.entries, "0");
    return b;
  }
  if (!menu.path.empty()) return menu;
  for (const char* path : {"/boot/grub/menu.lst", "/boot/grub/grub.conf"}) {
    if (auto text = read_noting(fs, path, kMaxBootTextBytes, unreadable)) {
      const std::string saved = read_noting(fs, "/boot/grub/default", 4096, unreadable).value_or("");
      menu = parse_menu_lst(*text, saved);
      menu.path = path;
      return menu;
    }
  }
  return menu;
}

// The version a boot entry's kernel path names. GRUB reads paths on the volume that holds them,
// so "/vmlinuz-…" on a separate /boot is "/boot/vmlinuz-…" in the guest; "/vmlinuz" is often a
// symlink to the versioned file.
std::string version_of_entry_kernel(const FileSystem& fs, const std::string& kernel) {
  std::string v = kernel_version_of(kernel);
  if (!v.empty()) return v;
  for (const std::string& path : {kernel, "/boot" + kernel}) {
    auto link = resolve(fs, path, false);
    if (!link || link->stat.type != FileType::kSymlink) continue;
    if (auto target = fs.read_link(link->inode)) return kernel_version_of(*target);
  }
  return "";
}

// A decorator that remembers whether a read of its parent failed: an initramfs whose bytes the
// file system or the image under it cannot deliver is out of reach, not a corrupt archive, though
// libarchive reports every failure of its input as its own.
class ReadFailureWatch final : public ByteSource {
 public:
  explicit ReadFailureWatch(SourcePtr parent) : parent_(std::move(parent)) {}
  std::uint64_t size() const override { return parent_->size(); }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    auto r = parent_->read_at(offset, out);
    if (!r) failed_ = true;
    return r;
  }
  std::string name() const override { return parent_->name(); }
  bool failed() const { return failed_; }

 private:
  SourcePtr parent_;
  mutable std::atomic<bool> failed_{false};
};

void describe_initramfs(const FileSystem& fs, KernelInfo& k, const std::string& from_menu) {
  std::vector<std::string> candidates;
  if (!from_menu.empty()) {
    candidates.push_back(from_menu);
    candidates.push_back("/boot" + from_menu);
  }
  for (const char* pattern :
       {"/boot/initrd.img-{}", "/boot/initramfs-{}.img", "/boot/initrd-{}", "/boot/initramfs-{}"}) {
    candidates.push_back(fmt::format(fmt::runtime(pattern), k.version));
  }
  // A candidate that cannot be looked up (its directory is corrupt) counts only when no other
  // candidate is found: then the initramfs is unknown, not absent.
  std::vector<std::string> unreadable;
  for (const std::string& path : candidates) {
    auto r = resolve(fs, path);
    if (!r) note_unreadable(path, r.error(), unreadable);
    if (!r || r->stat.type != FileType::kRegular) continue;
    k.initramfs.path = path;
    if (r->stat.size > kMaxInitramfsBytes) {
      k.initramfs.error = fmt::format("{} bytes, more than the {} read", r->stat.size, kMaxInitramfsBytes);
      k.initramfs.unverifiable = true;
      return;
    }
    auto file = fs.open(r->inode);
    if (!file) {
      k.initramfs.error = file.error().message;
      k.initramfs.unverifiable = true;
      return;
    }
    // The scan reads the file front to back, in pieces as small as a cpio header: through
    // whole chunks kept here, each byte of the file is read from the disk once, and on a
    // compressed image each cluster is inflated once, not once per piece
    // (docs/performance.md, "check").
    const auto watched = std::make_shared<const ReadFailureWatch>(SourcePtr(std::move(*file)));
    const CacheSource chunks(watched, kInitramfsChunkBytes, 2);
    auto contents = scan_initramfs(chunks);
    if (!contents) {
      k.initramfs.error = contents.error().message;
      k.initramfs.unverifiable = watched->failed() || contents.error().code != ErrorCode::kCorrupt;
      return;
    }
    for (const InitramfsArchive& a : contents->archives) k.initramfs.archives.push_back(a.compression);
    k.initramfs.entries = contents->entries;
    for (DriverInfo& d : k.virtio) {
      if (d.state == DriverState::kModule || d.state == DriverState::kModuleMissing) {
        d.in_initramfs = contents->modules.count(d.name) != 0;
      }
    }
    return;
  }
  k.unreadable.insert(k.unreadable.end(), unreadable.begin(), unreadable.end());
}

void describe_kernel_image(const FileSystem& fs, KernelInfo& k) {
  const std::string path = "/boot/vmlinuz-" + k.version;
  auto r = resolve(fs, path);
  if (!r) note_unreadable(path, r.error(), k.unreadable);
  if (!r || r->stat.type != FileType::kRegular) return;
  auto file = fs.open(r->inode);
  if (!file) {
    k.image = file.error().message;
    note_unreadable(path, file.error(), k.unreadable);
    return;
  }
  // A header the file system cannot deliver leaves the kernel's architecture unknown, which is not
  // a header that names none (the review of 2026-12-07).
  const ReadFailureWatch watched(SourcePtr(std::move(*file)));
  auto image = kernel_image(watched);
  if (!image) {
    k.image = image.error().message;
    if (watched.failed()) note_unreadable(path, image.error(), k.unreadable);
    return;
  }
  k.architecture = image->architecture;
  k.image = image->format;
}

// The machine must run the kernel it boots: that kernel's architecture decides when its image
// says one (an i386 userland on an x86_64 kernel runs on x86_64); the userland's ELF otherwise.
void choose_architecture(LinuxGuest& g) {
  const KernelInfo* k = g.boot_kernel();
  if (k == nullptr || k->architecture.empty()) return;
  g.kernel_architecture_source = "/boot/vmlinuz-" + k->version;
  g.kernel_architecture_image = k->image;
  const std::string kernel = fmt::format("{}: {}", g.kernel_architecture_source, k->image);
  if (g.architecture.empty()) {
    g.architecture_source = kernel;
  } else if (g.architecture == k->architecture) {
    g.architecture_source = fmt::format("ELF header of {}; {}", g.architecture_source, kernel);
  } else {
    g.architecture_source = fmt::format("{} (the booted kernel decides; the ELF header of {} says {})", kernel,
                                        g.architecture_source, g.architecture);
  }
  g.architecture = k->architecture;
}

LinuxGuest describe_root(const FileSystem& fs, std::uint32_t partition, StageMeter* meter) {
  LinuxGuest g;
  g.root_partition = partition;
  // A release file that is absent (kNotFound) is looked for in the next place; one that is there
  // but cannot be read (a corrupt inode or extent tree, more bytes than are read, not a regular
  // file) is named in os_release_errors, so that corruption is never reported as absence.
  auto read_release = [&](const char* path) { return read_noting(fs, path, kMaxOsReleaseBytes, g.os_release_errors); };
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    if (auto text = read_release(path)) {
      g.os_release = parse_os_release(*text);
      g.os_release_source = path;
      break;
    }
  }
  for (const char* path : kLegacyReleaseFiles) {
    if (!g.os_release.empty()) break;
    if (auto text = read_release(path)) {
      g.os_release = parse_legacy_release(path, *text);
      if (!g.os_release.empty()) g.os_release_source = path;
    }
  }
  g.distribution = classify(g.os_release);
  g.architecture = architecture_of(fs, g.architecture_source).value_or("");
  g.userland_architecture = g.architecture;
  g.userland_architecture_source = g.architecture_source;
  // Kernels: every /boot/vmlinuz-<v> and every /lib/modules/<v>, joined by version.
  std::map<std::string, KernelInfo> kernels;
  for (const std::string& n : list_noting(fs, "/boot", g.boot_unreadable)) {
    if (n.rfind("vmlinuz-", 0) == 0 && n.size() > 8) {
      KernelInfo& k = kernels[n.substr(8)];
      k.version = n.substr(8);
      k.has_vmlinuz = true;
    }
  }
  for (const std::string& n : list_noting(fs, "/lib/modules", g.boot_unreadable)) {
    KernelInfo& k = kernels[n];
    k.version = n;
    k.has_modules = true;
  }
  const BootMenu menu = read_boot_menu(fs, g.boot_unreadable);
  g.boot.loader = menu.loader;
  g.boot.config = menu.path;
  g.boot.default_spec = menu.default_spec;
  g.boot.entries = menu.entries.size();
  std::string default_initrd;
  if (menu.chosen) {
    const BootEntry& e = menu.entries[*menu.chosen];
    g.boot.default_title = e.title();
    g.boot.default_kernel = e.kernel;
    g.boot.default_version = version_of_entry_kernel(fs, e.kernel);
    default_initrd = e.initrd;
  }
  if (kernels.size() > kMaxKernels) {
    // The default and the newest: the ones a boot would take.
    std::vector<std::string> versions;
    for (const auto& [v, k] : kernels) versions.push_back(v);
    std::sort(versions.begin(), versions.end(), newer_first);
    std::set<std::string> kept(versions.begin(), versions.begin() + (kMaxKernels - 1));
    kept.insert(kernels.count(g.boot.default_version) != 0 ? g.boot.default_version : versions[kMaxKernels - 1]);
    g.boot_unreadable.push_back(
        fmt::format("/boot and /lib/modules: {} kernels, more than the {} inspected (the "
                    "default and the newest)",
                    kernels.size(), kMaxKernels));
    std::erase_if(kernels, [&](const auto& entry) { return kept.count(entry.first) == 0; });
  }
  for (auto& [v, k] : kernels) {
    {
      StageScope stage(meter, Stage::kKernels);
      if (k.has_vmlinuz) describe_kernel_image(fs, k);
      describe_drivers(fs, k);
    }
    k.is_default = !g.boot.default_version.empty() && v == g.boot.default_version;
    {
      StageScope stage(meter, Stage::kInitramfs);
      describe_initramfs(fs, k, k.is_default ? default_initrd : "");
    }
    g.kernels.push_back(k);
  }
  choose_architecture(g);
  g.cloud_init = describe_cloud_init(fs);
  return g;
}

bool looks_like_linux_root(const FileSystem& fs) {
  return is_dir(fs, "/etc") && (is_dir(fs, "/usr") || is_dir(fs, "/bin"));
}

// Whether `fs` holds a Linux root, as looks_like_linux_root; when it does not because a directory
// on the way is damaged (its root directory cannot be listed, /etc, /usr or /bin cannot be
// looked up), that directory and the damage go to `v` (damaged_at, damage): the root may be
// there, and the rules must not call the volume a data disk.
bool find_linux_root(const FileSystem& fs, VolumeSummary& v) {
  if (looks_like_linux_root(fs)) return true;
  if (auto listed = fs.list(fs.root_inode()); !listed) {
    if (is_damage(listed.error())) {
      v.damaged_at = "/";
      v.damage = listed.error().message;
    }
    return false;
  }
  for (const char* path : {"/etc", "/usr", "/bin"}) {
    auto r = resolve(fs, path);
    if (!r && is_damage(r.error())) {
      v.damaged_at = path;
      v.damage = r.error().message;
      return false;
    }
  }
  return false;
}

// btrfs: the view to inspect. The default subvolume (what a mount without subvol= shows: openSUSE
// sets its snapshot as default); when that holds no Linux root (Ubuntu and Fedora keep the top
// level as default, the root in "@" or "root"), the first subvolume directly under the top level,
// in name order, that does. Other file systems are returned as they are.
std::shared_ptr<const FileSystem> root_view(std::shared_ptr<const FileSystem> fs) {
  const auto* b = dynamic_cast<const btrfs::BtrfsFs*>(fs.get());
  if (b == nullptr || looks_like_linux_root(*fs)) return fs;
  auto top = b->open_subvolume(btrfs::kFsTreeObjectid);
  if (!top) return fs;
  auto entries = (*top)->list((*top)->root_inode());
  if (!entries) return fs;
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  constexpr std::size_t kMaxCandidates = 64;
  if (names.size() > kMaxCandidates) names.resize(kMaxCandidates);
  for (const std::string& name : names) {
    auto sub = b->open_subvolume(name);  // kInvalidArgument for a plain directory
    if (sub && looks_like_linux_root(**sub)) return std::shared_ptr<const FileSystem>(std::move(*sub));
  }
  return fs;
}

// The btrfs subvolume an fstab entry's options name (subvolid= before subvol=; the kernel wants
// them to agree), as a view of the same volume; nothing when the volume is not btrfs or the
// options name no subvolume.
std::optional<Result<std::shared_ptr<const FileSystem>>> fstab_subvolume(const FileSystem& fs,
                                                                         std::string_view options) {
  const auto* b = dynamic_cast<const btrfs::BtrfsFs*>(&fs);
  if (b == nullptr) return std::nullopt;
  std::optional<std::string_view> subvol;
  std::optional<std::string_view> subvolid;
  while (!options.empty()) {
    const auto comma = options.find(',');
    const std::string_view o = options.substr(0, comma);
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
    if (o.rfind("subvol=", 0) == 0) subvol = o.substr(7);
    if (o.rfind("subvolid=", 0) == 0) subvolid = o.substr(9);
  }
  auto shared = [](Result<std::unique_ptr<btrfs::BtrfsFs>> r) -> Result<std::shared_ptr<const FileSystem>> {
    if (!r) return r.error();
    return std::shared_ptr<const FileSystem>(std::move(*r));
  };
  if (subvolid) {
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(subvolid->data(), subvolid->data() + subvolid->size(), id);
    if (ec != std::errc() || end != subvolid->data() + subvolid->size())
      return Result<std::shared_ptr<const FileSystem>>(
          Error::invalid_argument(fmt::format("fstab: subvolid={}", printable(*subvolid))));
    return shared(b->open_subvolume(id));
  }
  if (subvol) return shared(b->open_subvolume(*subvol));
  return std::nullopt;
}

// The opened volume an fstab source names: UUID=, LABEL=, /dev/disk/by-uuid|by-label/…,
// /dev/mapper/vg-lv, /dev/vg/lv, or a partition device (/dev/sda2, /dev/vda2, /dev/nvme0n1p2).
std::optional<std::pair<std::size_t, std::shared_ptr<const FileSystem>>> find_volume(
    const std::vector<VolumeSummary>& volumes,
    const std::vector<std::pair<std::size_t, std::shared_ptr<const FileSystem>>>& opened, const std::string& spec) {
  auto by = [&](auto&& pred) -> std::optional<std::pair<std::size_t, std::shared_ptr<const FileSystem>>> {
    for (const auto& o : opened) {
      if (pred(volumes[o.first])) return o;
    }
    return std::nullopt;
  };
  auto after = [&](std::string_view prefix) -> std::optional<std::string> {
    if (spec.rfind(prefix, 0) != 0) return std::nullopt;
    return spec.substr(prefix.size());
  };
  if (auto u = after("UUID=")) return by([&](const VolumeSummary& v) { return v.uuid == to_lower(*u); });
  if (auto u = after("/dev/disk/by-uuid/")) return by([&](const VolumeSummary& v) { return v.uuid == to_lower(*u); });
  if (auto l = after("LABEL=")) return by([&](const VolumeSummary& v) { return !v.label.empty() && v.label == *l; });
  if (auto l = after("/dev/disk/by-label/")) {
    return by([&](const VolumeSummary& v) { return !v.label.empty() && v.label == *l; });
  }
  if (auto m = after("/dev/mapper/")) {
    // device-mapper doubles the dashes inside the VG and LV names: "my--vg-root" is my-vg/root.
    std::string name;
    for (std::size_t i = 0; i < m->size(); ++i) {
      if ((*m)[i] == '-' && i + 1 < m->size() && (*m)[i + 1] == '-') {
        name += '-';
        ++i;
      } else {
        name += (*m)[i] == '-' ? '/' : (*m)[i];
      }
    }
    return by([&](const VolumeSummary& v) { return !v.lv.empty() && v.lv == name; });
  }
  if (auto d = after("/dev/")) {
    if (auto lv = by([&](const VolumeSummary& v) { return !v.lv.empty() && v.lv == *d; })) return lv;
    // A partition device: the trailing digits are the partition number.
    const auto digits = d->find_last_not_of("0123456789");
    if (digits == std::string::npos || digits + 1 >= d->size() || d->size() - digits > 4) return std::nullopt;
    const auto number = static_cast<std::uint32_t>(std::stoul(d->substr(digits + 1)));
    return by([&](const VolumeSummary& v) { return v.lv.empty() && v.bsd_partition.empty() && v.partition == number; });
  }
  return std::nullopt;
}

// Every string the guest wrote, or that quotes what it wrote (file names, os-release values,
// GRUB titles, fstab fields, error messages naming guest paths), made printable UTF-8 before it
// becomes a fact (base/guest_text.h). Done once, where the facts leave the inspector, after every
// comparison between raw guest strings (kernel versions, fstab specs against labels) is made.
void make_printable(std::vector<std::string>& v) {
  for (std::string& s : v) make_guest_text(s);
}

void make_printable(LinuxGuest& g) {
  OsRelease os;
  for (auto& [key, value] : g.os_release) os[key] = guest_text(value);  // keys are [A-Z0-9_]+
  g.os_release = std::move(os);
  make_printable(g.os_release_errors);
  make_printable(g.boot_unreadable);
  make_guest_text(g.distribution.id);
  make_guest_text(g.distribution.version);
  for (FstabEntry& e : g.fstab) {
    for (std::string* s : {&e.spec, &e.mount_point, &e.type, &e.options}) make_guest_text(*s);
  }
  for (MountInfo& m : g.mounts) {
    for (std::string* s : {&m.mount_point, &m.spec, &m.lv, &m.error}) make_guest_text(*s);
  }
  for (std::string* s :
       {&g.boot.config, &g.boot.default_spec, &g.boot.default_title, &g.boot.default_kernel, &g.boot.default_version}) {
    make_guest_text(*s);
  }
  for (KernelInfo& k : g.kernels) {
    make_guest_text(k.version);
    make_guest_text(k.image);
    make_guest_text(k.initramfs.path);
    make_guest_text(k.initramfs.error);
    make_printable(k.initramfs.archives);
    make_printable(k.unreadable);
    for (DriverInfo& d : k.virtio) {
      make_guest_text(d.config);
      make_guest_text(d.module);
    }
  }
  for (std::string* s : {&g.architecture_source, &g.userland_architecture_source, &g.kernel_architecture_source,
                         &g.kernel_architecture_image}) {
    make_guest_text(*s);
  }
  make_guest_text(g.root_lv);
  make_guest_text(g.cloud_init.version);
  make_printable(g.cloud_init.evidence);
  make_printable(g.cloud_init.disabled_by);
  for (CloudInitInfo::Package& p : g.cloud_init.packages) make_guest_text(p.version);
  make_printable(g.cloud_init.notes);
  make_printable(g.cloud_init.unreadable);
}

void make_printable(VolumeSummary& v) {
  for (std::string* s : {&v.lv, &v.kind, &v.fs_kind, &v.label, &v.uuid, &v.error, &v.damaged_at, &v.damage}) {
    make_guest_text(*s);
  }
}

}  // namespace

const KernelInfo* LinuxGuest::default_kernel() const {
  for (const KernelInfo& k : kernels) {
    if (k.is_default) return &k;
  }
  return nullptr;
}

const KernelInfo* LinuxGuest::boot_kernel(bool* from_menu) const {
  if (from_menu != nullptr) *from_menu = false;
  if (const KernelInfo* k = default_kernel()) {
    if (from_menu != nullptr) *from_menu = true;
    return k;
  }
  const KernelInfo* best = nullptr;
  for (const KernelInfo& k : kernels) {
    if (!k.has_vmlinuz) continue;
    if (best == nullptr || strverscmp(k.version.c_str(), best->version.c_str()) > 0) best = &k;
  }
  if (best == nullptr && !kernels.empty()) best = &kernels.back();
  return best;
}

std::string_view driver_state_name(DriverState s) {
  switch (s) {
    case DriverState::kBuiltIn: return "built-in";
    case DriverState::kModule: return "module";
    case DriverState::kModuleMissing: return "module-missing";
    case DriverState::kAbsent: return "absent";
  }
  return "absent";
}

Result<Inspection> inspect_disk(const SourcePtr& disk, StageMeter* meter) {
  Inspection out;
  {
    StageScope stage(meter, Stage::kPartitions);
    out.table = IG_TRY(read_partition_table(*disk));
  }
  // Everything else is the file systems' stage but for the kernels and their initramfs
  // (describe_root), and LVM and BSD labels, read as their volumes are examined.
  StageScope stage(meter, Stage::kFileSystems);
  // What to examine: the whole disk, or each partition, or for an MBR FreeBSD slice with a BSD
  // disklabel each partition of the label in its place (the slice only contains them, as an
  // extended partition contains logical ones).
  struct Candidate {
    std::uint32_t number = 0;
    std::string bsd_partition;  // "a", or ""
    std::uint64_t first_byte = 0;
    SourcePtr source;
    bool zfs_type = false;  // its partition type says ZFS
  };
  std::vector<Candidate> volumes;
  // A partition past the end of the disk is listed, not read.
  auto past_end = [&out](std::uint32_t number, std::string bsd_partition, std::uint64_t first, std::uint64_t length) {
    VolumeSummary v;
    v.partition = number;
    v.bsd_partition = std::move(bsd_partition);
    v.first_byte = first;
    v.length_bytes = length;
    v.kind = "unknown";
    v.error = "the partition reaches past the end of the disk";
    out.volumes.push_back(std::move(v));
  };
  if (out.table.scheme == PartitionScheme::kNone) {
    volumes.push_back(Candidate{0, "", 0, disk, false});
  } else {
    for (const Partition& p : out.table.partitions) {
      if (p.mbr_type == 0x05 || p.mbr_type == 0x0f || p.mbr_type == 0x85) continue;  // extended container
      if (!p.bsd_partitions.empty()) {
        for (const BsdPartition& b : p.bsd_partitions) {
          if (b.beyond_end) {
            past_end(p.number, std::string(1, b.letter), b.first_byte, b.length_bytes);
            continue;
          }
          auto slice = SliceSource::create(disk, b.first_byte, b.length_bytes,
                                           fmt::format("partition {}", bsd_partition_name(p, b)));
          if (!slice) return slice.error();
          volumes.push_back(Candidate{p.number, std::string(1, b.letter), b.first_byte, SourcePtr(std::move(*slice)),
                                      b.type_name == "ZFS"});
        }
        continue;
      }
      if (p.beyond_end) {
        past_end(p.number, "", p.first_byte, p.length_bytes);
        continue;
      }
      auto slice = SliceSource::create(disk, p.first_byte, p.length_bytes, fmt::format("partition {}", p.number));
      if (!slice) return slice.error();
      volumes.push_back(
          Candidate{p.number, "", p.first_byte, SourcePtr(std::move(*slice)), p.type_name == "FreeBSD ZFS"});
    }
  }
  // Examines one volume (a partition, the whole disk, or an LV): names it, opens the file
  // systems imagegate reads, and notes which look like a Linux root or a separate /boot.
  std::vector<std::pair<std::size_t, std::shared_ptr<const FileSystem>>> opened_fs;  // volume index -> fs
  std::function<Result<void>(std::uint32_t, const SourcePtr&, std::uint64_t, const std::string&)> examine =
      [&](std::uint32_t number, const SourcePtr& source, std::uint64_t first_byte,
          const std::string& lv) -> Result<void> {
    VolumeSummary v;
    v.partition = number;
    v.lv = lv;
    v.first_byte = first_byte;
    v.length_bytes = source->size();
    const VolumeId id = IG_TRY(identify(*source));
    v.kind = id.name;
    v.label = id.label;  // a ZFS pool's name; a file system that opens gives its own below
    if (id.kind == VolumeKind::kLvm2Pv && lv.empty()) {
      auto pv = lvm::read_pv(*source);
      if (!pv) {
        v.error = pv.error().message;
        if (is_damage(pv.error())) {
          v.damaged_at = "LVM metadata";
          v.damage = v.error;
        }
      } else if (*pv) {
        out.volumes.push_back(v);
        for (const lvm::LogicalVolume& l : (*pv)->vg.lvs) {
          const std::string name = (*pv)->vg.name + "/" + l.name;
          auto lv_source = lvm::open_lv(source, **pv, l);
          if (!lv_source) {
            VolumeSummary bad;
            bad.partition = number;
            bad.lv = name;
            bad.kind = "unknown";
            bad.error = lv_source.error().message;
            if (is_damage(lv_source.error())) {
              bad.damaged_at = "LVM metadata";
              bad.damage = bad.error;
            }
            out.volumes.push_back(bad);
            continue;
          }
          IG_TRY(examine(number, *lv_source, first_byte, name));
        }
        return ok();
      }
    }
    if (id.kind == VolumeKind::kExt || id.kind == VolumeKind::kXfs || id.kind == VolumeKind::kNtfs ||
        id.kind == VolumeKind::kBtrfs || id.kind == VolumeKind::kUfs) {
      auto fs = open_filesystem(source, id, FsLimits{});
      if (!fs) {
        v.error = fs.error().message;
      } else {
        const std::shared_ptr<const FileSystem> opened = root_view(std::shared_ptr<const FileSystem>(std::move(*fs)));
        v.fs_kind = opened->kind();
        v.label = opened->label();
        v.uuid = opened->uuid();
        if (id.kind == VolumeKind::kNtfs) {
          auto windows = describe_windows(*opened, number);
          v.windows_system = windows.has_value();
          if (windows && !out.windows_guest) out.windows_guest = std::move(windows);
        }
        if (id.kind == VolumeKind::kUfs) {
          // UFS2 holds FreeBSD, never a Linux root.
          auto freebsd = describe_freebsd(*opened);
          v.freebsd_root = freebsd.has_value();
          if (freebsd && !out.freebsd_guest) {
            freebsd->root_partition = number;
            out.freebsd_guest = std::move(freebsd);
          }
        }
        v.linux_root = id.kind != VolumeKind::kNtfs && id.kind != VolumeKind::kUfs && find_linux_root(*opened, v);
        if (!v.linux_root && !v.windows_system && !v.freebsd_root) {
          const auto top = list_names(*opened, "/");
          v.boot_volume = std::any_of(top.begin(), top.end(), [](const std::string& n) {
            return n.rfind("vmlinuz-", 0) == 0 || n == "grub" || n == "grub2" || n == "loader";
          });
        }
        opened_fs.emplace_back(out.volumes.size(), opened);
      }
    }
    out.volumes.push_back(std::move(v));
    return ok();
  };
  for (const Candidate& c : volumes) {
    const std::size_t before = out.volumes.size();
    const bool freebsd_before = out.freebsd_guest.has_value();
    IG_TRY(examine(c.number, c.source, c.first_byte, ""));
    for (std::size_t i = before; i < out.volumes.size(); ++i) {
      VolumeSummary& v = out.volumes[i];
      v.bsd_partition = c.bsd_partition;
      // ZFS writes no signature in the first 68 KiB identify() reads; its partition type names it.
      if (c.zfs_type && v.kind == "unknown") v.kind = "zfs";
    }
    if (!freebsd_before && out.freebsd_guest) out.freebsd_guest->root_bsd_partition = c.bsd_partition;
  }
  // The root: the first volume that looks like one; its fstab mounts /boot and /usr.
  const auto root =
      std::find_if(opened_fs.begin(), opened_fs.end(), [&](const auto& o) { return out.volumes[o.first].linux_root; });
  if (root != opened_fs.end()) {
    const VolumeSummary& rv = out.volumes[root->first];
    for (const auto& o : opened_fs) {
      const VolumeSummary& v = out.volumes[o.first];
      if (o.first != root->first && v.linux_root) {
        out.notes.push_back(fmt::format("partition {}{} also looks like a Linux root; the first one found is used",
                                        v.partition, v.lv.empty() ? "" : " (" + v.lv + ")"));
      }
    }
    std::shared_ptr<const FileSystem> root_fs = root->second;
    std::vector<FstabEntry> fstab;
    std::vector<std::string> fstab_unreadable;
    if (auto text = read_noting(*root_fs, "/etc/fstab", kMaxBootTextBytes, fstab_unreadable)) {
      fstab = parse_fstab(*text);
    }
    // A btrfs root whose fstab mounts "/" from another subvolume than the one found: the guest
    // boots into that one (its kernel command line says the same, rootflags=subvol=), so it is
    // inspected instead, with its own fstab. Only when it opens and looks like a root.
    for (const FstabEntry& e : fstab) {
      if (e.mount_point != "/") continue;
      auto sub = fstab_subvolume(*root_fs, e.options);
      if (!sub) break;
      if (!*sub) {
        out.notes.push_back(fmt::format("fstab mounts / from btrfs {}: {}", e.options, sub->error().message));
        break;
      }
      const auto* now = dynamic_cast<const btrfs::BtrfsFs*>(root_fs.get());
      const auto* named = dynamic_cast<const btrfs::BtrfsFs*>((*sub)->get());
      if (now->subvolume() != named->subvolume() && looks_like_linux_root(***sub)) {
        root_fs = **sub;
        fstab.clear();
        fstab_unreadable.clear();
        if (auto text = read_noting(*root_fs, "/etc/fstab", kMaxBootTextBytes, fstab_unreadable)) {
          fstab = parse_fstab(*text);
        }
      }
      break;
    }
    auto view = std::make_shared<MountedFs>(root_fs);
    std::vector<MountInfo> mounts;
    for (const FstabEntry& e : fstab) {
      if (e.mount_point != "/boot" && e.mount_point != "/usr") continue;
      MountInfo m;
      m.mount_point = e.mount_point;
      m.spec = e.spec;
      const auto match = find_volume(out.volumes, opened_fs, e.spec);
      if (match) {
        const VolumeSummary& v = out.volumes[match->first];
        m.partition = v.partition;
        m.lv = v.lv;
        m.found = true;
        std::shared_ptr<const FileSystem> volume_fs = match->second;
        if (auto sub = fstab_subvolume(*volume_fs, e.options)) {
          if (*sub) {
            volume_fs = **sub;
          } else {
            m.error = sub->error().message;
            m.found = false;
            mounts.push_back(std::move(m));
            continue;
          }
        }
        if (auto mounted = view->mount(e.mount_point, volume_fs); !mounted) {
          m.error = mounted.error().message;
          m.found = false;
        }
      }
      mounts.push_back(std::move(m));
    }
    out.linux_guest = describe_root(*view, rv.partition, meter);
    out.linux_guest->root_lv = rv.lv;
    out.linux_guest->fstab = std::move(fstab);
    // An fstab that cannot be read hides a separate /boot or /usr: first on the way to the kernel.
    out.linux_guest->boot_unreadable.insert(out.linux_guest->boot_unreadable.begin(), fstab_unreadable.begin(),
                                            fstab_unreadable.end());
    out.linux_guest->mounts = std::move(mounts);
    make_printable(*out.linux_guest);
  }
  for (VolumeSummary& v : out.volumes) make_printable(v);
  make_printable(out.notes);
  std::stable_sort(out.volumes.begin(), out.volumes.end(),
                   [](const VolumeSummary& a, const VolumeSummary& b) { return a.partition < b.partition; });
  return out;
}

}  // namespace ig
