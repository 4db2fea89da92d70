#include "inspect/os_release.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/text.h"

namespace ig {
namespace {

// Unquotes a value as a POSIX shell would for the subset os-release allows.
std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') return std::string(v.substr(1, v.size() - 2));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    const std::string_view in = v.substr(1, v.size() - 2);
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '\\' && i + 1 < in.size() && std::string_view("\"\\`$").find(in[i + 1]) != std::string_view::npos) {
        out.push_back(in[++i]);
      } else {
        out.push_back(in[i]);
      }
    }
    return out;
  }
  return std::string(v);
}

}  // namespace

OsRelease parse_os_release(std::string_view text) {
  OsRelease out;
  for_each_line(text, [&](std::string_view raw) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') return;
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) return;
    const std::string key = line.substr(0, eq);
    if (!std::all_of(key.begin(), key.end(),
                     [](unsigned char c) { return std::isupper(c) || std::isdigit(c) || c == '_'; })) {
      return;
    }
    out[key] = unquote(trim(std::string_view(line).substr(eq + 1)));
  });
  return out;
}

Distribution classify(const OsRelease& os) {
  auto get = [&](const char* k) {
    auto it = os.find(k);
    return it == os.end() ? std::string() : it->second;
  };
  const std::string id = to_lower(get("ID"));
  const std::string name = to_lower(get("NAME"));
  const std::string variant = to_lower(get("VARIANT_ID"));
  Distribution d;
  d.version = get("VERSION_ID");
  d.named = true;
  auto set = [&](std::string i, std::string n) {
    d.id = std::move(i);
    d.cloud_name = std::move(n);
  };
  if (id == "centos") {
    if (name.find("stream") != std::string::npos) {
      set("centos", "CentOS Stream");
    } else {
      set("centos", "CentOS");
    }
  } else if (id == "ubuntu") {
    set("ubuntu", "Ubuntu");
  } else if (id == "debian") {
    set("debian", "Debian");
  } else if (id == "opensuse" || id.rfind("opensuse-", 0) == 0) {
    set("opensuse", "openSUSE");
  } else if (id == "sles" || id == "sled" || id == "sles_sap") {
    set("sles", "SUSE");
  } else if ((id == "fedora" && variant == "coreos") || id == "fedora-coreos" || id == "flatcar" || id == "coreos" ||
             id == "rhcos") {
    set("coreos", "CoreOS");
  } else if (id == "freebsd") {
    set("freebsd", "FreeBSD");
  } else if (id == "almalinux") {
    set("almalinux", "AlmaLinux");
  } else if (id == "rocky") {
    set("rocky", "Rocky Linux");
  } else if (id == "fedora") {
    set("fedora", "Fedora");
  } else if (id == "kylin" || id == "neokylin") {
    set("kylin", "Kylin");
  } else if (id == "uos" || id == "uniontech" || id == "deepin-uos") {
    set("uos", "UnionTech OS");
  } else if (id == "tencentos" || id == "tlinux" || id == "opencloudos-tencentos") {
    set("tencentos", "TencentOS");
  } else {
    // Not one of the cloud's named distributions: it imports as "Other Linux".
    d.named = false;
    set(id.empty() ? "linux" : id, "Other Linux");
  }
  return d;
}

namespace {

// "CentOS Linux release 7.9.2009 (Core)" -> "7.9.2009": the first word that starts with a digit.
std::string first_version_word(std::string_view line) {
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    std::size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    if (std::isdigit(static_cast<unsigned char>(line[start]))) return std::string(line.substr(start, end - start));
    pos = end;
  }
  return "";
}

// "Kylin Linux Advanced Server release V10 (Lance)" -> "V10": the word after "release";
// without one, the first word that starts with a digit.
std::string release_word(std::string_view line) {
  std::size_t pos = 0;
  bool after_release = false;
  while (pos < line.size()) {
    const std::size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    std::size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view word = line.substr(start, end - start);
    if (after_release && !word.empty() && word.front() != '(') return std::string(word);
    after_release = word == "release";
    pos = end;
  }
  return first_version_word(line);
}

std::string first_line(std::string_view text) {
  const auto nl = text.find('\n');
  return trim(text.substr(0, nl));
}

}  // namespace

OsRelease parse_legacy_release(std::string_view file, std::string_view text) {
  OsRelease os;
  const std::string line = first_line(text);
  const std::string lowered = to_lower(line);
  auto set = [&](const char* id, std::string version) {
    os["ID"] = id;
    os["NAME"] = line;
    if (!version.empty()) os["VERSION_ID"] = std::move(version);
  };
  if (file == "/etc/debian_version") {
    // "12.4", or "bookworm/sid" on a testing system: keep the major version only when numeric.
    const std::string v = first_version_word(line);
    if (!v.empty()) set("debian", v.substr(0, v.find('.')));
    return os;
  }
  if (file == "/etc/lsb-release" || file == "/usr/share/coreos/release") {
    const OsRelease kv = parse_os_release(text);
    auto get = [&](const char* k) {
      const auto it = kv.find(k);
      return it == kv.end() ? std::string() : it->second;
    };
    if (file == "/usr/share/coreos/release") {
      os["ID"] = "coreos";
      os["NAME"] = "CoreOS";
      os["VERSION_ID"] = get("COREOS_RELEASE_VERSION");
    } else if (!get("DISTRIB_ID").empty()) {
      os["ID"] = to_lower(get("DISTRIB_ID"));
      os["NAME"] = get("DISTRIB_ID");
      os["VERSION_ID"] = get("DISTRIB_RELEASE");
    }
    return os;
  }
  if (file == "/etc/SuSE-release") {
    const OsRelease kv = parse_os_release(text);  // "VERSION = 11" lines do not parse as KEY=…
    std::string version;
    for_each_line(text, [&](std::string_view l) {
      const std::string t = trim(l);
      if (t.rfind("VERSION", 0) == 0 && t.find('=') != std::string::npos) version = trim(t.substr(t.find('=') + 1));
    });
    set(lowered.find("opensuse") != std::string::npos ? "opensuse" : "sles", version);
    return os;
  }
  // The Red Hat family and its derivatives: "<Name> release <version> (<codename>)".
  const std::string v = release_word(line);
  // Derivatives first: "tencentos" contains "centos".
  if (lowered.find("tencentos") != std::string::npos || lowered.find("tlinux") != std::string::npos) {
    set("tencentos", v);
  } else if (lowered.find("kylin") != std::string::npos) {
    set("kylin", v);
  } else if (lowered.find("openeuler") != std::string::npos) {
    set("openEuler", v);
  } else if (lowered.find("uniontech") != std::string::npos) {
    set("uos", v);
  } else if (lowered.find("centos stream") != std::string::npos) {
    set("centos", v);
    os["NAME"] = "CentOS Stream";
  } else if (lowered.find("centos") != std::string::npos) {
    set("centos", v);
  } else if (lowered.find("rocky") != std::string::npos) {
    set("rocky", v);
  } else if (lowered.find("almalinux") != std::string::npos) {
    set("almalinux", v);
  } else if (lowered.find("fedora") != std::string::npos) {
    set("fedora", v);
  } else if (lowered.find("red hat") != std::string::npos) {
    set("rhel", v);
  } else if (!line.empty()) {
    set("linux", v);
  }
  return os;
}

}  // namespace ig
