#include "inspect/linux.h"

#include <algorithm>
#include <functional>
#include <map>

#include "base/bytes.h"
#include "base/text.h"
#include "fs/path.h"
#include "io/sources.h"
#include "volumes/lvm.h"

namespace ig {
namespace {

constexpr std::uint64_t kMaxOsReleaseBytes = 64 * 1024;

bool is_dir(const FileSystem& fs, std::string_view path) {
  auto r = resolve(fs, path);
  return r && r->stat.type == FileType::kDirectory;
}

std::vector<std::string> list_names(const FileSystem& fs, std::string_view path) {
  std::vector<std::string> names;
  auto r = resolve(fs, path);
  if (!r || r->stat.type != FileType::kDirectory) return names;
  auto entries = fs.list(r->inode);
  if (!entries) return names;
  for (const auto& e : *entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
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
      source = fmt::format("ELF header of {}", path);
      return arch;
    }
  }
  return std::nullopt;
}

constexpr std::uint64_t kMaxKernelTextBytes = 8 << 20;  // a config, modules.dep or modules.builtin

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
  if (auto text = read_guest_file(fs, "/boot/config-" + k.version, kMaxKernelTextBytes)) {
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
  if (auto text = read_guest_file(fs, dir + "/modules.builtin", kMaxKernelTextBytes)) {
    for_each_line(*text, [&](std::string_view line) {
      const std::string path = trim(line);
      if (!path.empty()) builtin[module_name(path)] = path;
    });
  }
  std::map<std::string, std::string> modules;  // name -> path, from modules.dep ("path: deps")
  if (auto text = read_guest_file(fs, dir + "/modules.dep", kMaxKernelTextBytes)) {
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
      info.state = file && file->stat.type == FileType::kRegular ? DriverState::kModule : DriverState::kModuleMissing;
    } else if (config_m) {
      info.state = DriverState::kModuleMissing;
    }
    k.virtio.push_back(std::move(info));
  }
}

bool is_regular(const FileSystem& fs, std::string_view path) {
  auto r = resolve(fs, path);
  return r && r->stat.type == FileType::kRegular;
}

// cloud-init: installed (program, Python package, dpkg database) and not disabled (no
// cloud-init.disabled file, none of its units masked). The rpm database (SQLite) is not read yet.
CloudInitInfo describe_cloud_init(const FileSystem& fs) {
  CloudInitInfo c;
  for (const char* path : {"/usr/bin/cloud-init", "/usr/local/bin/cloud-init"}) {
    if (is_regular(fs, path)) c.evidence.emplace_back(path);
  }
  for (const std::string& lib : {std::string("/usr/lib"), std::string("/usr/lib64")}) {
    for (const std::string& py : list_names(fs, lib)) {
      if (py.rfind("python3", 0) != 0) continue;
      for (const char* sub : {"/dist-packages/cloudinit", "/site-packages/cloudinit"}) {
        const std::string dir = lib + "/" + py + sub;
        if (is_dir(fs, dir)) c.evidence.push_back(dir);
      }
    }
  }
  if (auto status = read_guest_file(fs, "/var/lib/dpkg/status", kMaxKernelTextBytes)) {
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
      c.evidence.push_back(fmt::format("dpkg: cloud-init {} installed", c.version));
    }
  }
  c.installed = !c.evidence.empty();
  if (resolve(fs, "/etc/cloud/cloud-init.disabled", false))
    c.disabled_by.emplace_back("/etc/cloud/cloud-init.disabled");
  for (const char* unit :
       {"cloud-init-local.service", "cloud-init.service", "cloud-config.service", "cloud-final.service"}) {
    auto link = resolve(fs, std::string("/etc/systemd/system/") + unit, false);
    if (!link || link->stat.type != FileType::kSymlink) continue;
    auto target = fs.read_link(link->inode);
    if (target && *target == "/dev/null") c.disabled_by.push_back(fmt::format("{} masked", unit));
  }
  c.disabled = !c.disabled_by.empty();
  return c;
}

LinuxGuest describe_root(const FileSystem& fs, std::uint32_t partition) {
  LinuxGuest g;
  g.root_partition = partition;
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    auto text = read_guest_file(fs, path, kMaxOsReleaseBytes);
    if (text) {
      g.os_release = parse_os_release(*text);
      break;
    }
  }
  g.distribution = classify(g.os_release);
  g.architecture = architecture_of(fs, g.architecture_source).value_or("");
  // Kernels: every /boot/vmlinuz-<v> and every /lib/modules/<v>, joined by version.
  std::map<std::string, KernelInfo> kernels;
  for (const std::string& n : list_names(fs, "/boot")) {
    if (n.rfind("vmlinuz-", 0) == 0 && n.size() > 8) {
      KernelInfo& k = kernels[n.substr(8)];
      k.version = n.substr(8);
      k.has_vmlinuz = true;
    }
  }
  for (const std::string& n : list_names(fs, "/lib/modules")) {
    KernelInfo& k = kernels[n];
    k.version = n;
    k.has_modules = true;
  }
  for (auto& [v, k] : kernels) {
    describe_drivers(fs, k);
    g.kernels.push_back(k);
  }
  g.cloud_init = describe_cloud_init(fs);
  return g;
}

}  // namespace

std::string_view driver_state_name(DriverState s) {
  switch (s) {
    case DriverState::kBuiltIn: return "built-in";
    case DriverState::kModule: return "module";
    case DriverState::kModuleMissing: return "module-missing";
    case DriverState::kAbsent: return "absent";
  }
  return "absent";
}

std::string elf_architecture(std::span<const std::byte> h) {
  if (h.size() < 20 || as_chars(h.first(4)) !=
                           "\x7f"
                           "ELF")
    return "";
  const auto data = std::to_integer<unsigned>(h[5]);  // 1 little-endian, 2 big-endian
  const std::uint16_t machine =
      data == 2 ? load_be_ptr<std::uint16_t>(h.data() + 18) : load_le_ptr<std::uint16_t>(h.data() + 18);
  switch (machine) {
    case 0x3e: return "x86_64";
    case 0x03: return "i386";
    case 0xb7: return "arm_64";
    default: return "";
  }
}

Result<Inspection> inspect_disk(const SourcePtr& disk) {
  Inspection out;
  out.table = IG_TRY(read_partition_table(*disk));
  std::vector<std::pair<std::uint32_t, SourcePtr>> volumes;
  if (out.table.scheme == PartitionScheme::kNone) {
    volumes.emplace_back(0, disk);
  } else {
    for (const Partition& p : out.table.partitions) {
      if (p.mbr_type == 0x05 || p.mbr_type == 0x0f || p.mbr_type == 0x85) continue;  // extended container
      if (p.beyond_end) {
        VolumeSummary v;
        v.partition = p.number;
        v.first_byte = p.first_byte;
        v.length_bytes = p.length_bytes;
        v.kind = "unknown";
        v.error = "the partition reaches past the end of the disk";
        out.volumes.push_back(v);
        continue;
      }
      auto slice = SliceSource::create(disk, p.first_byte, p.length_bytes, fmt::format("partition {}", p.number));
      if (!slice) return slice.error();
      volumes.emplace_back(p.number, SourcePtr(std::move(*slice)));
    }
  }
  // Examines one volume (a partition, the whole disk, or an LV): names it, opens the file
  // systems imagegate reads, and looks for the Linux root.
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
    if (id.kind == VolumeKind::kLvm2Pv && lv.empty()) {
      auto pv = lvm::read_pv(*source);
      if (!pv) {
        v.error = pv.error().message;
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
            out.volumes.push_back(bad);
            continue;
          }
          IG_TRY(examine(number, *lv_source, first_byte, name));
        }
        return ok();
      }
    }
    if (id.kind == VolumeKind::kExt || id.kind == VolumeKind::kXfs) {
      auto fs = open_filesystem(source, id, FsLimits{});
      if (!fs) {
        v.error = fs.error().message;
      } else {
        v.fs_kind = (*fs)->kind();
        v.label = (*fs)->label();
        v.uuid = (*fs)->uuid();
        if (is_dir(**fs, "/etc") && (is_dir(**fs, "/usr") || is_dir(**fs, "/bin"))) {
          v.linux_root = true;
          if (!out.linux_guest) {
            out.linux_guest = describe_root(**fs, number);
            out.linux_guest->root_lv = lv;
          } else {
            out.notes.push_back(fmt::format("partition {}{} also looks like a Linux root; the first one found is used",
                                            number, lv.empty() ? "" : " (" + lv + ")"));
          }
        }
      }
    }
    out.volumes.push_back(std::move(v));
    return ok();
  };
  for (auto& [number, source] : volumes) {
    std::uint64_t first_byte = 0;
    for (const Partition& p : out.table.partitions) {
      if (p.number == number) first_byte = p.first_byte;
    }
    IG_TRY(examine(number, source, number == 0 ? 0 : first_byte, ""));
  }
  std::stable_sort(out.volumes.begin(), out.volumes.end(),
                   [](const VolumeSummary& a, const VolumeSummary& b) { return a.partition < b.partition; });
  return out;
}

}  // namespace ig
