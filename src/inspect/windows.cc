#include "inspect/windows.h"

#include <array>

#include "base/bytes.h"
#include "base/guest_text.h"
#include "fs/path.h"
#include "registry/hive.h"

namespace ig {
namespace {

constexpr std::uint64_t kMaxHiveBytes = 512ULL << 20;

// The hive at `path`, or nothing. A hive file that is not there is absent (nothing, no word); one
// that is there but cannot be read or opened sets `damage` to why, and is a note too.
std::optional<registry::Hive> open_hive(const FileSystem& fs, const char* path, std::vector<std::string>& notes,
                                        std::string& damage) {
  auto r = resolve(fs, path);
  if (!r) {
    if (r.error().code != ErrorCode::kNotFound) damage = r.error().message;
  } else if (r->stat.size > kMaxHiveBytes) {
    damage = fmt::format("{} bytes, more than the {} read", r->stat.size, kMaxHiveBytes);
  } else if (auto src = fs.open(r->inode); !src) {
    damage = src.error().message;
  } else {
    std::vector<std::byte> bytes(static_cast<std::size_t>((*src)->size()));
    if (auto read = (*src)->read_at(0, bytes); !read) {
      damage = read.error().message;
    } else if (auto hive = registry::Hive::open(std::move(bytes)); !hive) {
      damage = hive.error().message;
    } else {
      return std::move(*hive);
    }
  }
  if (!damage.empty()) notes.push_back(fmt::format("{}: {}", path, damage));
  return std::nullopt;
}

// A key by its path, or nothing when it is not there; a hive whose cells cannot be walked on the
// way sets `damage` (the first damage found is kept).
std::optional<registry::KeyRef> find_key(const registry::Hive& h, const std::string& path, std::string& damage) {
  auto key = h.find(path);
  if (!key) {
    if (damage.empty()) damage = key.error().message;
    return std::nullopt;
  }
  return *key;
}

std::optional<registry::KeyRef> find_subkey(const registry::Hive& h, registry::KeyRef at, std::string_view name,
                                            std::string& damage) {
  auto key = h.subkey(at, name);
  if (!key) {
    if (damage.empty()) damage = key.error().message;
    return std::nullopt;
  }
  return *key;
}

// A value of a key. A value of another type reads as absent; a value list or cell that cannot be
// read sets `damage`.
std::optional<registry::Value> value_of(const registry::Hive& h, registry::KeyRef key, const char* name,
                                        std::string& damage) {
  auto v = h.value(key, name);
  if (!v) {
    if (damage.empty()) damage = v.error().message;
    return std::nullopt;
  }
  return std::move(*v);
}

std::string string_value(const registry::Hive& h, registry::KeyRef key, const char* name, std::string& damage) {
  auto v = value_of(h, key, name, damage);
  if (!v) return "";
  auto s = v->as_string();
  return s ? *s : "";
}

std::optional<std::uint32_t> dword_value(const registry::Hive& h, registry::KeyRef key, const char* name,
                                         std::string& damage) {
  auto v = value_of(h, key, name, damage);
  if (!v) return std::nullopt;
  auto d = v->as_dword();
  return d ? std::optional<std::uint32_t>(*d) : std::nullopt;
}

bool contains_nocase(std::string_view hay, std::string_view needle) {
  const auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool ok = true;
    for (std::size_t j = 0; j < needle.size() && ok; ++j) ok = up(hay[i + j]) == up(needle[j]);
    if (ok) return true;
  }
  return false;
}

}  // namespace

const WindowsDriver* WindowsGuest::driver(std::string_view name) const {
  for (const WindowsDriver& d : drivers) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string windows_server_release(std::string_view build, bool server, std::string& version) {
  version.clear();
  if (!server) return "";
  struct Release {
    std::string_view build;
    const char* name;
  };
  static constexpr Release kReleases[] = {
      {"6001", "2008"}, {"6002", "2008"},    {"6003", "2008"},  {"7600", "2008 R2"}, {"7601", "2008 R2"},
      {"9200", "2012"}, {"9600", "2012 R2"}, {"14393", "2016"}, {"17763", "2019"},   {"20348", "2022"},
  };
  for (const Release& r : kReleases) {
    if (r.build == build) {
      version = r.name;
      return std::string("Windows Server ") + r.name;
    }
  }
  return "";
}

std::string pe_architecture(std::span<const std::byte> head) {
  if (head.size() < 0x40 || as_chars(head.first(2)) != "MZ") return "";
  const std::uint32_t pe = load_le_ptr<std::uint32_t>(head.data() + 0x3C);
  if (pe > head.size() || head.size() - pe < 6 || as_chars(head.subspan(pe, 4)) != std::string_view("PE\0\0", 4)) {
    return "";
  }
  switch (load_le_ptr<std::uint16_t>(head.data() + pe + 4)) {
    case 0x8664: return "x86_64";
    case 0x014C: return "i386";
    case 0xAA64: return "arm_64";
    default: return "";
  }
}

std::optional<WindowsGuest> describe_windows(const FileSystem& fs, std::uint32_t partition) {
  auto config = resolve(fs, "/Windows/System32/config");
  if (!config || config->stat.type != FileType::kDirectory) return std::nullopt;
  WindowsGuest g;
  g.partition = partition;
  std::string& sw = g.software_damage;
  if (auto software = open_hive(fs, "/Windows/System32/config/SOFTWARE", g.notes, sw)) {
    g.software_dirty = software->dirty();
    if (auto key = find_key(*software, "Microsoft\\Windows NT\\CurrentVersion", sw)) {
      g.product_name = string_value(*software, *key, "ProductName", sw);
      g.edition_id = string_value(*software, *key, "EditionID", sw);
      g.installation_type = string_value(*software, *key, "InstallationType", sw);
      g.current_version = string_value(*software, *key, "CurrentVersion", sw);
      g.build = string_value(*software, *key, "CurrentBuildNumber", sw);
      if (g.build.empty()) g.build = string_value(*software, *key, "CurrentBuild", sw);
      g.major = dword_value(*software, *key, "CurrentMajorVersionNumber", sw);
      g.minor = dword_value(*software, *key, "CurrentMinorVersionNumber", sw);
    } else if (sw.empty()) {
      g.notes.emplace_back("SOFTWARE has no Microsoft\\Windows NT\\CurrentVersion");
    }
  } else if (sw.empty()) {
    g.notes.emplace_back("no readable SOFTWARE hive");
  }
  g.server = contains_nocase(g.installation_type, "Server") ||
             (g.installation_type.empty() && contains_nocase(g.product_name, "Server"));
  g.release = windows_server_release(g.build, g.server, g.version);
  if (g.release.empty()) {
    g.version = g.major ? fmt::format("{}.{}.{}", *g.major, g.minor.value_or(0), g.build)
                        : fmt::format("{}.{}", g.current_version, g.build);
  }
  // Architecture: the kernel's PE header.
  if (auto k = resolve(fs, "/Windows/System32/ntoskrnl.exe"); k && k->stat.type == FileType::kRegular) {
    if (auto src = fs.open(k->inode)) {
      std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>((*src)->size(), 4096)));
      if ((*src)->read_at(0, head)) {
        g.architecture = pe_architecture(head);
        if (!g.architecture.empty()) g.architecture_source = "/Windows/System32/ntoskrnl.exe";
      }
    }
  }
  // Drivers and services, in the control set Windows boots.
  for (const char* name : {"viostor", "vioscsi", "netkvm"}) {
    WindowsDriver d;
    d.name = name;
    const std::string file = fmt::format("/Windows/System32/drivers/{}.sys", name);
    if (auto f = resolve(fs, file); f && f->stat.type == FileType::kRegular) d.file = file;
    g.drivers.push_back(std::move(d));
  }
  std::string& sy = g.system_damage;
  if (auto system = open_hive(fs, "/Windows/System32/config/SYSTEM", g.notes, sy)) {
    g.system_dirty = system->dirty();
    std::uint32_t current = 1;
    if (auto select = find_key(*system, "Select", sy))
      current = dword_value(*system, *select, "Current", sy).value_or(1);
    g.control_set = fmt::format("ControlSet{:03}", current);
    if (auto services = find_key(*system, g.control_set + "\\Services", sy)) {
      for (WindowsDriver& d : g.drivers) {
        auto key = find_subkey(*system, *services, d.name, sy);
        if (!key) continue;
        d.service = true;
        d.start = dword_value(*system, *key, "Start", sy);
        d.image_path = string_value(*system, *key, "ImagePath", sy);
      }
      if (find_subkey(*system, *services, "cloudbase-init", sy)) g.cloudbase_service = true;
    } else if (sy.empty()) {
      g.notes.push_back(fmt::format("SYSTEM has no {}\\Services", g.control_set));
    }
    if (g.architecture.empty()) {
      if (auto env = find_key(*system, g.control_set + "\\Control\\Session Manager\\Environment", sy)) {
        const std::string a = string_value(*system, *env, "PROCESSOR_ARCHITECTURE", sy);
        g.architecture = a == "AMD64" ? "x86_64" : a == "x86" ? "i386" : a == "ARM64" ? "arm_64" : "";
        if (!g.architecture.empty()) {
          g.architecture_source = g.control_set + "\\Control\\Session Manager\\Environment\\PROCESSOR_ARCHITECTURE";
        }
      }
    }
  } else if (sy.empty()) {
    g.notes.emplace_back("no readable SYSTEM hive");
  }
  for (const char* dir : {"/Program Files/Cloudbase Solutions/Cloudbase-Init",
                          "/Program Files (x86)/Cloudbase Solutions/Cloudbase-Init"}) {
    if (auto d = resolve(fs, dir); d && d->stat.type == FileType::kDirectory) {
      g.cloudbase_dir = dir;
      break;
    }
  }
  // Hive values and notes quoting them are the guest's text: printable before they become facts
  // (base/guest_text.h), after every decision above was made on the raw values.
  for (std::string* s :
       {&g.product_name, &g.edition_id, &g.installation_type, &g.current_version, &g.build, &g.version}) {
    make_guest_text(*s);
  }
  for (WindowsDriver& d : g.drivers) make_guest_text(d.image_path);
  for (std::string& n : g.notes) make_guest_text(n);
  make_guest_text(g.software_damage);
  make_guest_text(g.system_damage);
  return g;
}

}  // namespace ig
