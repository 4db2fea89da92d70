#include "inspect/os_release.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/text.h"

namespace ig {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

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
  const std::string id = lower(get("ID"));
  const std::string name = lower(get("NAME"));
  const std::string variant = lower(get("VARIANT_ID"));
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

}  // namespace ig
