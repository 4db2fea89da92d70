// FreeBSD guest facts from its root file system. See src/inspect/freebsd.h and docs/inspect.md.
#include "inspect/freebsd.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "base/guest_text.h"
#include "base/text.h"
#include "fs/path.h"
#include "inspect/linux.h"

namespace ig {
namespace {

using namespace std::string_view_literals;

constexpr std::uint64_t kMaxScriptBytes = 256 * 1024;  // freebsd-version is ~4 KiB
constexpr std::uint64_t kMaxOsReleaseBytes = 64 * 1024;
constexpr std::uint64_t kMaxConfBytes = 1 << 20;  // loader.conf, rc.conf, rc.local: a few KiB in practice
constexpr std::size_t kMaxConfDirFiles = 64;      // /boot/loader.conf.d/*.conf
constexpr std::size_t kMaxModulePathEntries = 8;
constexpr std::uint64_t kMaxKernelScanBytes = 128ULL << 20;  // GENERIC amd64 14.1: 29 MiB
constexpr std::size_t kScanChunkBytes = 1 << 20;
constexpr std::size_t kMaxIdentBytes = 200;
constexpr std::uint64_t kMaxVersionPyBytes = 64 * 1024;
constexpr std::string_view kVersionScript = "/bin/freebsd-version";
constexpr std::string_view kIdentMark = "@(#)FreeBSD ";

// The drivers the import needs, the module file the loader would load for each, and the
// DRIVER_MODULE names ("<bus>/<driver>", NUL included) a kernel with the driver compiled in carries.
struct BsdDriver {
  std::string_view name;
  std::string_view module;
  std::array<std::string_view, 3> compiled_in;
};
constexpr std::array<BsdDriver, 3> kDrivers = {{
    {"virtio_blk", "virtio_blk", {"virtio_pci/virtio_blk\0"sv, ""sv, ""sv}},
    {"vtnet", "if_vtnet", {"virtio_pci/vtnet\0"sv, ""sv, ""sv}},
    {"virtio_pci", "virtio_pci", {"pci/virtio_pci\0"sv, "pci/virtio_pci_legacy\0"sv, "pci/virtio_pci_modern\0"sv}},
}};

bool plausible_version(std::string_view v) {
  return !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

// "14.1-RELEASE-p5" -> "14.1"; "15.0-CURRENT" -> "15.0".
std::string release_number(std::string_view v) {
  return std::string(v.substr(0, v.find('-')));
}

// A plain file or directory name: no '/', not "." or "..".
bool plain_name(std::string_view n) {
  return !n.empty() && n.size() <= 255 && n.find('/') == std::string_view::npos && n != "." && n != "..";
}

// loader(8): "YES" in any case. rc.subr's checkyesno also takes TRUE, ON and 1.
bool loader_yes(std::string_view v) {
  return to_lower(std::string(v)) == "yes";
}
bool rc_yes(std::string_view v) {
  const std::string l = to_lower(std::string(v));
  return l == "yes" || l == "true" || l == "on" || l == "1";
}

// Variables with the line that set them last, as "<file>: name=\"value\"".
struct ConfValue {
  std::string value;
  std::string line;
};
using ConfVars = std::map<std::string, ConfValue>;

// Reads one configuration file into `vars`; a missing file is nothing, an unreadable one a note.
bool read_conf(const FileSystem& fs, const std::string& path, ConfVars& vars, std::vector<std::string>& notes) {
  auto text = read_guest_file(fs, path, kMaxConfBytes);
  if (!text) {
    if (text.error().code != ErrorCode::kNotFound) notes.push_back(fmt::format("{}: {}", path, text.error().message));
    return false;
  }
  for (auto& [name, value] : parse_bsd_conf(*text)) {
    std::string line = fmt::format("{}: {}=\"{}\"", path, name, value);
    vars[name] = ConfValue{std::move(value), std::move(line)};
  }
  return true;
}

// What the loader reads, in its order (FreeBSD 13+ /boot/defaults/loader.conf: loader_conf_files,
// then loader_conf_dirs, then local_loader_conf_files).
ConfVars read_loader_conf(const FileSystem& fs, FreeBsdGuest& g) {
  ConfVars vars;
  if (read_conf(fs, "/boot/loader.conf", vars, g.notes)) g.loader_conf.emplace_back("/boot/loader.conf");
  std::vector<std::string> dir = list_names(fs, "/boot/loader.conf.d");
  dir.erase(std::remove_if(dir.begin(), dir.end(), [](const std::string& n) { return !n.ends_with(".conf"); }),
            dir.end());
  if (dir.size() > kMaxConfDirFiles) {
    g.notes.push_back(
        fmt::format("/boot/loader.conf.d: {} files, only the first {} read", dir.size(), kMaxConfDirFiles));
    dir.resize(kMaxConfDirFiles);
  }
  for (const std::string& n : dir) {
    const std::string path = "/boot/loader.conf.d/" + n;
    if (read_conf(fs, path, vars, g.notes)) g.loader_conf.push_back(path);
  }
  if (read_conf(fs, "/boot/loader.conf.local", vars, g.notes)) g.loader_conf.emplace_back("/boot/loader.conf.local");
  return vars;
}

// The module file the loader would load for `module` ("virtio_blk"): <module>_name when set (a
// guest path, or another module name), else <module>.ko in the kernel's directory or module_path.
// A lookup that fails for a reason other than absence is named in `unreadable`.
std::string find_module(const FileSystem& fs, const ConfVars& vars, const std::vector<std::string>& dirs,
                        std::string_view module, std::vector<std::string>& unreadable) {
  std::string file = std::string(module) + ".ko";
  if (auto n = vars.find(std::string(module) + "_name"); n != vars.end() && !n->second.value.empty()) {
    if (n->second.value.front() == '/') {
      return is_noting(fs, n->second.value, FileType::kRegular, unreadable) ? n->second.value : "";
    }
    if (!plain_name(n->second.value)) return "";
    file = n->second.value.ends_with(".ko") ? n->second.value : n->second.value + ".ko";
  }
  for (const std::string& d : dirs) {
    const std::string path = d + "/" + file;
    if (is_noting(fs, path, FileType::kRegular, unreadable)) return path;
  }
  return "";
}

// Scans the kernel file (its first kMaxKernelScanBytes) for the compiled-in drivers' names and
// for its "@(#)" ident, chunk by chunk; each chunk keeps the previous chunk's tail so that a
// string across the border is seen whole.
void scan_kernel(const ByteSource& kernel, FreeBsdKernel& k, std::array<bool, kDrivers.size()>& compiled_in) {
  std::size_t keep = kIdentMark.size() + kMaxIdentBytes;
  for (const BsdDriver& d : kDrivers) {
    for (std::string_view s : d.compiled_in) keep = std::max(keep, s.size());
  }
  const std::uint64_t limit = std::min<std::uint64_t>(kernel.size(), kMaxKernelScanBytes);
  if (kernel.size() > limit) {
    k.error = fmt::format("{}: {} bytes; only the first {} were searched", k.path, kernel.size(), limit);
  }
  std::string buf;
  std::size_t carry = 0;
  for (std::uint64_t off = 0; off < limit;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kScanChunkBytes, limit - off));
    buf.resize(carry + n);
    if (auto r = kernel.read_at(off, std::as_writable_bytes(std::span(buf.data() + carry, n))); !r) {
      k.error = fmt::format("{}: {}", k.path, r.error().message);
      return;
    }
    off += n;
    k.scanned_bytes = off;
    const std::string_view view(buf);
    for (std::size_t i = 0; i < kDrivers.size(); ++i) {
      for (std::string_view s : kDrivers[i].compiled_in) {
        if (!s.empty() && !compiled_in[i] && view.find(s) != std::string_view::npos) compiled_in[i] = true;
      }
    }
    if (k.ident.empty()) {
      const auto at = view.find(kIdentMark);
      // Taken once the whole ident is in the buffer (or the file ends); else the next chunk,
      // which starts with this one's tail, sees it again.
      if (at != std::string_view::npos && (at + keep <= view.size() || off >= limit)) {
        std::string_view ident = view.substr(at + 4, kIdentMark.size() - 4 + kMaxIdentBytes);
        ident = ident.substr(0, ident.find_first_of("\0\n\"\\>"sv));  // what(1)'s terminators
        k.ident = std::string(ident);
        const std::string_view rest = ident.substr(kIdentMark.size() - 4);
        const std::string_view release = rest.substr(0, rest.find(' '));
        if (plausible_version(release)) k.version = std::string(release);
      }
    }
    carry = std::min(keep, buf.size());
    std::copy(buf.end() - static_cast<std::ptrdiff_t>(carry), buf.end(), buf.begin());
  }
}

// The kernel the loader boots, its architecture, and how it gets each virtio driver.
void describe_kernel(const FileSystem& fs, const ConfVars& vars, FreeBsdGuest& g) {
  FreeBsdKernel& k = g.kernel;
  std::string dir = "kernel";
  std::string file = "kernel";
  for (auto [var, target] : {std::pair{"kernel", &dir}, std::pair{"bootfile", &file}}) {
    const auto v = vars.find(var);
    if (v == vars.end()) continue;
    if (plain_name(v->second.value)) {
      *target = v->second.value;
      k.path_source = v->second.line;
    } else {
      g.notes.push_back(fmt::format("{}: not a plain name; the default \"{}\" is assumed", v->second.line, *target));
    }
  }
  k.path = fmt::format("/boot/{}/{}", dir, file);
  std::array<bool, kDrivers.size()> compiled_in{};
  auto resolved = resolve(fs, k.path);
  if (!resolved) {
    k.error = fmt::format("{}: {}", k.path, resolved.error().message);
  } else if (resolved->stat.type != FileType::kRegular) {
    k.error = fmt::format("{}: not a regular file", k.path);
  } else if (auto src = fs.open(resolved->inode); !src) {
    k.error = fmt::format("{}: {}", k.path, src.error().message);
  } else {
    k.found = true;
    std::array<std::byte, 64> header{};
    if ((*src)->size() >= header.size() && (*src)->read_at(0, header)) {
      g.architecture = elf_architecture(header);
      if (!g.architecture.empty()) g.architecture_source = k.path;
    }
    scan_kernel(**src, k, compiled_in);
  }
  if (g.architecture.empty()) {
    // No readable kernel of a known machine: the userland says the same.
    for (std::string_view path : {"/bin/sh"sv, "/sbin/init"sv}) {
      auto r = resolve(fs, path);
      if (!r || r->stat.type != FileType::kRegular) continue;
      auto src = fs.open(r->inode);
      std::array<std::byte, 20> header{};
      if (!src || (*src)->size() < header.size() || !(*src)->read_at(0, header)) continue;
      g.architecture = elf_architecture(header);
      if (!g.architecture.empty()) {
        g.architecture_source = std::string(path);
        break;
      }
    }
  }
  // Where the loader looks for modules: the kernel's own directory, then module_path.
  std::vector<std::string> dirs = {"/boot/" + dir};
  const auto mp = vars.find("module_path");
  std::string_view paths = mp == vars.end() ? "/boot/modules"sv : std::string_view(mp->second.value);
  while (!paths.empty() && dirs.size() <= kMaxModulePathEntries) {
    const auto semi = paths.find(';');
    const std::string entry = trim(paths.substr(0, semi));
    paths = semi == std::string_view::npos ? std::string_view() : paths.substr(semi + 1);
    if (!entry.empty() && entry.front() == '/' && std::find(dirs.begin(), dirs.end(), entry) == dirs.end()) {
      dirs.push_back(entry);
    }
  }
  bool any_compiled_in = false;
  bool any_module = false;
  for (std::size_t i = 0; i < kDrivers.size(); ++i) {
    const BsdDriver& d = kDrivers[i];
    DriverInfo info;
    info.name = std::string(d.name);
    const auto load = vars.find(std::string(d.module) + "_load");
    const bool loaded = load != vars.end() && loader_yes(load->second.value);
    if (loaded) info.config = load->second.line;
    info.module = find_module(fs, vars, dirs, d.module, k.unreadable);
    if (compiled_in[i]) {
      info.state = DriverState::kBuiltIn;
      any_compiled_in = true;
    } else if (loaded) {
      info.state = info.module.empty() ? DriverState::kModuleMissing : DriverState::kModule;
      any_module = true;
    }
    k.virtio.push_back(std::move(info));
  }
  // virtio, the core: compiled in with any driver that is (they link against it); else the module
  // the loader loads as the drivers' dependency, or that loader.conf loads itself.
  DriverInfo core;
  core.name = "virtio";
  const auto load = vars.find("virtio_load");
  const bool loaded = load != vars.end() && loader_yes(load->second.value);
  if (loaded) core.config = load->second.line;
  core.module = find_module(fs, vars, dirs, "virtio", k.unreadable);
  if (any_compiled_in) {
    core.state = DriverState::kBuiltIn;
  } else if (any_module || loaded) {
    core.state = core.module.empty() ? DriverState::kModuleMissing : DriverState::kModule;
  }
  k.virtio.push_back(std::move(core));
}

// `__VERSION__ = "23.4.1"` in cloudinit/version.py, or "".
std::string cloud_init_version(const FileSystem& fs, const std::string& package) {
  auto text = read_guest_file(fs, package + "/version.py", kMaxVersionPyBytes);
  if (!text) return "";
  std::string version;
  for_each_line(*text, [&](std::string_view line) {
    const std::string t = trim(line);
    if (!version.empty() || t.rfind("__VERSION__", 0) != 0) return;
    const auto eq = t.find('=');
    if (eq == std::string::npos) return;
    std::string v = trim(std::string_view(t).substr(eq + 1));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    if (plausible_version(v)) version = v;
  });
  return version;
}

// cloud-init (the port) or bsd-cloudinit, and whether it runs at boot.
CloudInitInfo describe_cloud_init(const FileSystem& fs) {
  CloudInitInfo c;
  if (is_regular(fs, "/usr/local/bin/cloud-init")) c.evidence.emplace_back("/usr/local/bin/cloud-init");
  for (const std::string& py : python3_dirs(fs, "/usr/local/lib", c.unreadable)) {
    const std::string package = "/usr/local/lib/" + py + "/site-packages/cloudinit";
    if (!is_dir(fs, package)) continue;
    c.evidence.push_back(package);
    if (c.version.empty()) c.version = cloud_init_version(fs, package);
  }
  const bool cloud_init = !c.evidence.empty();
  if (is_regular(fs, "/usr/local/etc/cloud/cloud.cfg")) c.evidence.emplace_back("/usr/local/etc/cloud/cloud.cfg");
  // bsd-cloudinit: its installer unpacks it into /root/bsd-cloudinit (older ones into
  // /root/bsd-cloudinit-master) and appends a first-boot run of run.py to /etc/rc.local.
  std::string bsd;
  for (const char* dir : {"/root/bsd-cloudinit", "/root/bsd-cloudinit-master"}) {
    if (bsd.empty() && is_regular(fs, std::string(dir) + "/run.py")) bsd = std::string(dir) + "/run.py";
  }
  bool bsd_runs = false;
  if (!bsd.empty()) {
    auto rc_local = read_guest_file(fs, "/etc/rc.local", kMaxConfBytes);
    bsd_runs = rc_local && rc_local->find("bsd-cloudinit") != std::string::npos &&
               rc_local->find("run.py") != std::string::npos;
    c.evidence.push_back(
        fmt::format("bsd-cloudinit: {}{}", bsd, bsd_runs ? ", run by /etc/rc.local" : ", not run by /etc/rc.local"));
  }
  c.installed = cloud_init || !bsd.empty();
  if (!c.installed) {
    if (is_regular(fs, "/usr/libexec/nuageinit")) {
      c.notes.emplace_back(
          "/usr/libexec/nuageinit: FreeBSD's own first-boot configurator (nuageinit) is there; it is not cloud-init");
    }
    return c;
  }
  // The port's rc.d scripts run only with cloudinit_enable set to a yes (rc.subr's checkyesno),
  // and not when cloud-init.disabled exists.
  std::vector<std::string> off;
  bool cloud_init_runs = false;
  if (cloud_init) {
    ConfVars rc;
    for (const char* path : {"/etc/defaults/vendor.conf", "/etc/rc.conf", "/etc/rc.conf.local",
                             "/etc/rc.conf.d/cloudinit", "/usr/local/etc/rc.conf.d/cloudinit"}) {
      read_conf(fs, path, rc, c.notes);
    }
    const auto enable = rc.find("cloudinit_enable");
    cloud_init_runs = enable != rc.end() && rc_yes(enable->second.value);
    if (enable != rc.end()) c.evidence.push_back(enable->second.line);
    if (!cloud_init_runs && enable != rc.end()) off.push_back(enable->second.line);
    c.enable_unset = enable == rc.end();
    for (const char* path : {"/usr/local/etc/cloud/cloud-init.disabled", "/etc/cloud/cloud-init.disabled"}) {
      if (resolve(fs, path)) {
        off.emplace_back(path);
        cloud_init_runs = false;
      }
    }
  }
  c.rc_local_missing = !bsd.empty() && !bsd_runs;
  if (!cloud_init_runs && !bsd_runs) {
    c.disabled = true;
    c.disabled_by = std::move(off);
  } else {
    c.enable_unset = c.rc_local_missing = false;  // the other one runs
  }
  return c;
}

void make_printable(FreeBsdGuest& g) {
  for (std::string* s :
       {&g.userland_version, &g.version, &g.version_source, &g.architecture_source, &g.kernel.path,
        &g.kernel.path_source, &g.kernel.ident, &g.kernel.version, &g.kernel.error, &g.cloud_init.version}) {
    make_guest_text(*s);
  }
  OsRelease os;
  for (auto& [key, value] : g.os_release) os[key] = guest_text(value);  // keys are [A-Z0-9_]+
  g.os_release = std::move(os);
  for (DriverInfo& d : g.kernel.virtio) {
    make_guest_text(d.config);
    make_guest_text(d.module);
  }
  for (std::vector<std::string>* v : {&g.loader_conf, &g.notes, &g.kernel.unreadable, &g.cloud_init.evidence,
                                      &g.cloud_init.disabled_by, &g.cloud_init.notes, &g.cloud_init.unreadable}) {
    for (std::string& s : *v) make_guest_text(s);
  }
}

}  // namespace

std::string parse_freebsd_version(std::string_view script) {
  for (const auto& [name, value] : parse_bsd_conf(script)) {
    if (name == "USERLAND_VERSION") return plausible_version(value) ? value : std::string();
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> parse_bsd_conf(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for_each_line(text, [&](std::string_view raw) {
    const std::string line = trim(raw);
    std::size_t i = 0;
    while (i < line.size() &&
           (std::isalnum(static_cast<unsigned char>(line[i])) != 0 || line[i] == '_' || line[i] == '.')) {
      ++i;
    }
    if (i == 0) return;  // a comment, a blank line, or not an assignment
    std::string name = line.substr(0, i);
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] != '=') return;
    ++i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string value;
    if (i < line.size() && (line[i] == '"' || line[i] == '\'')) {
      const auto close = line.find(line[i], i + 1);
      if (close == std::string::npos) return;  // an unterminated quote: not a value
      value = line.substr(i + 1, close - i - 1);
    } else {
      const auto end = line.find_first_of(" \t#;", i);
      value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
    }
    out.emplace_back(std::move(name), std::move(value));
  });
  return out;
}

std::optional<FreeBsdGuest> describe_freebsd(const FileSystem& root) {
  FreeBsdGuest g;
  auto script = read_guest_file(root, kVersionScript, kMaxScriptBytes);
  if (auto text = read_guest_file(root, "/etc/os-release", kMaxOsReleaseBytes)) {
    g.os_release = parse_os_release(*text);
  } else if (script) {
    g.notes.push_back(fmt::format("/etc/os-release: {}", text.error().message));
  }
  const auto id = g.os_release.find("ID");
  if (!script && (id == g.os_release.end() || id->second != "freebsd")) return std::nullopt;

  if (script) {
    g.userland_version = parse_freebsd_version(*script);
    if (g.userland_version.empty()) g.notes.emplace_back("/bin/freebsd-version has no plausible USERLAND_VERSION");
  } else {
    g.notes.push_back(fmt::format("{}: {}", kVersionScript, script.error().message));
  }
  if (!g.userland_version.empty()) {
    g.version = release_number(g.userland_version);
    g.version_source = std::string(kVersionScript);
  } else if (auto v = g.os_release.find("VERSION_ID"); v != g.os_release.end() && plausible_version(v->second)) {
    g.version = v->second;
    g.version_source = "/etc/os-release";
  }
  const ConfVars loader = read_loader_conf(root, g);
  describe_kernel(root, loader, g);
  g.cloud_init = describe_cloud_init(root);
  make_printable(g);
  return g;
}

}  // namespace ig
