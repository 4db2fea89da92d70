// os-release(5): parsing, and the mapping from what a guest says it is to the operating systems
// the cloud's import accepts (SPEC.md §2).
//
// parse_os_release() follows the file format: KEY=VALUE lines, values optionally in double or
// single quotes, backslash escapes inside double quotes, '#' comments. Unknown keys are kept.
// classify() turns ID, ID_LIKE, NAME and VARIANT_ID into one of the cloud's distributions
// with the cloud's name for it ("CentOS Stream", "Ubuntu", ...), or "Other Linux", which the
// cloud also accepts. Pure functions, no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace ig {

using OsRelease = std::map<std::string, std::string>;

// Parses os-release text (bounded by the caller). Malformed lines are skipped, as systemd does.
OsRelease parse_os_release(std::string_view text);

struct Distribution {
  std::string id;          // lower-case id as virt-inspector prints it: "debian", "centos", "sles", ...
  std::string cloud_name;  // the name in the cloud's list: "Debian", "CentOS Stream", "Other Linux", ...
  std::string version;     // VERSION_ID ("12", "22.04", "9", "15.5")
  bool named = false;      // one of SPEC.md §2's named distributions (else it imports as "Other Linux")
};

Distribution classify(const OsRelease& os);

// For guests older than os-release, or whose os-release cannot be read: the os-release keys (ID,
// VERSION_ID, NAME) one legacy release file implies. `file` is its guest path (one of
// kLegacyReleaseFiles). The Red Hat family's one line, "<Name> release <version> (<codename>)",
// gives the word after "release" as the version ("V10" for Kylin), else the first word starting
// with a digit ("TencentOS Server 2.4 (Final)"). Empty when the text says nothing usable.
OsRelease parse_legacy_release(std::string_view file, std::string_view text);

// The legacy files, in the order they are consulted: the specific before the generic, since a
// derivative's /etc/centos-release or /etc/redhat-release names the derivative (TencentOS links
// both to its own file: "TencentOS Server release 3.1 (Final)").
inline constexpr const char* kLegacyReleaseFiles[] = {
    "/etc/tencentos-release", "/etc/tlinux-release", "/etc/kylin-release", "/etc/openEuler-release",
    "/etc/uos-release",       "/etc/centos-release", "/etc/rocky-release", "/etc/almalinux-release",
    "/etc/redhat-release",    "/etc/system-release", "/etc/SuSE-release",  "/usr/share/coreos/release",
    "/etc/lsb-release",       "/etc/debian_version",
};

}  // namespace ig
