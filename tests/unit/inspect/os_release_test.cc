// os-release parsing and the cloud's distribution list (SPEC.md §2), on the key lines each
// distribution's own /etc/os-release carries.
#include "inspect/os_release.h"

#include <gtest/gtest.h>

#include "api/os_list.h"

namespace ig {
namespace {

TEST(OsRelease, ParsesQuotingEscapesAndComments) {
  const OsRelease os = parse_os_release(
      "# comment\nNAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n"
      "PRETTY_NAME=\"quote \\\" and \\\\ and \\$\"\n  HOME_URL=\"https://x\"  \nnot a line\nlower=skipped\n=x\n");
  EXPECT_EQ(os.at("NAME"), "Debian GNU/Linux");
  EXPECT_EQ(os.at("VERSION_ID"), "12");
  EXPECT_EQ(os.at("ID"), "debian");
  EXPECT_EQ(os.at("PRETTY_NAME"), "quote \" and \\ and $");
  EXPECT_EQ(os.at("HOME_URL"), "https://x");
  EXPECT_EQ(os.count("lower"), 0u);
  EXPECT_EQ(os.size(), 5u);
}

struct Sample {
  std::string text;
  std::string id;
  std::string cloud_name;
  std::string version;
  bool named;
};

TEST(OsRelease, EveryDistributionOfTheCloudsList) {
  const std::vector<Sample> samples = {
      {"NAME=\"CentOS Linux\"\nID=\"centos\"\nVERSION_ID=\"7\"\n", "centos", "CentOS", "7", true},
      {"NAME=\"CentOS Stream\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"9\"\n", "centos", "CentOS Stream",
       "9", true},
      {"NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n", "ubuntu", "Ubuntu", "22.04", true},
      {"NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n", "debian", "Debian", "12", true},
      {"NAME=\"openSUSE Leap\"\nID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n", "opensuse", "openSUSE", "15.5", true},
      {"NAME=\"SLES\"\nID=\"sles\"\nVERSION_ID=\"15.4\"\n", "sles", "SUSE", "15.4", true},
      {"NAME=\"Fedora Linux\"\nID=fedora\nVARIANT_ID=coreos\nVERSION_ID=38\n", "coreos", "CoreOS", "38", true},
      {"NAME=\"Flatcar Container Linux by Kinvolk\"\nID=flatcar\nVERSION_ID=3510.2.0\n", "coreos", "CoreOS", "3510.2.0",
       true},
      {"NAME=FreeBSD\nID=freebsd\nVERSION_ID=13.2\n", "freebsd", "FreeBSD", "13.2", true},
      {"NAME=\"AlmaLinux\"\nID=\"almalinux\"\nVERSION_ID=\"9.2\"\n", "almalinux", "AlmaLinux", "9.2", true},
      {"NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.2\"\n", "rocky", "Rocky Linux", "9.2", true},
      {"NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=39\n", "fedora", "Fedora", "39", true},
      {"NAME=\"Kylin Linux Advanced Server\"\nID=\"kylin\"\nVERSION_ID=\"V10\"\n", "kylin", "Kylin", "V10", true},
      {"NAME=\"UOS Server\"\nID=\"uos\"\nVERSION_ID=\"20\"\n", "uos", "UnionTech OS", "20", true},
      {"NAME=\"TencentOS Server\"\nID=\"tencentos\"\nVERSION_ID=\"3.1\"\n", "tencentos", "TencentOS", "3.1", true},
      {"NAME=\"Arch Linux\"\nID=arch\n", "arch", "Other Linux", "", false},
      {"", "linux", "Other Linux", "", false},
  };
  for (const Sample& s : samples) {
    const Distribution d = classify(parse_os_release(s.text));
    EXPECT_EQ(d.id, s.id) << s.text;
    EXPECT_EQ(d.cloud_name, s.cloud_name) << s.text;
    EXPECT_EQ(d.version, s.version) << s.text;
    EXPECT_EQ(d.named, s.named) << s.text;
  }
}

// The real release files of the newer guests of the cloud's list, byte for byte as each release
// installs them (collected from installed systems; trailing whitespace kept where the file has
// it), each with the distribution, version and cloud OsVersion it must give. openEuler is not on
// the cloud's list: it imports as Other Linux, whose only OsVersion is "-".
struct RealRelease {
  const char* release;  // which release the text comes from
  const char* file;
  const char* text;
  const char* id;
  const char* cloud_name;
  const char* version;
  const char* os_version;  // api::listed_version against the cloud's list
};

const RealRelease kRealReleases[] = {
    // Kylin Linux Advanced Server V10 SP1 (Tercel), SP2 (Sword), SP3 (Lance).
    {"Kylin V10 SP1", "/etc/os-release", R"os(NAME="Kylin Linux Advanced Server"
VERSION="V10 (Tercel)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Tercel)"
ANSI_COLOR="0;31"
)os",
     "kylin", "Kylin", "V10", "V10"},
    {"Kylin V10 SP2", "/etc/os-release", R"os(NAME="Kylin Linux Advanced Server"
VERSION="V10 (Sword)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Sword)"
ANSI_COLOR="0;31"

)os",
     "kylin", "Kylin", "V10", "V10"},
    {"Kylin V10 SP3", "/etc/os-release", R"os(NAME="Kylin Linux Advanced Server"
VERSION="V10 (Lance)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Lance)"
ANSI_COLOR="0;31"
)os",
     "kylin", "Kylin", "V10", "V10"},
    {"Kylin V10 SP3 (/etc/system-release links here)", "/etc/kylin-release",
     "Kylin Linux Advanced Server release V10 (Lance)\n", "kylin", "Kylin", "V10", "V10"},
    {"Kylin V10 SP2", "/etc/kylin-release", "Kylin Linux Advanced Server release V10 (Sword)\n", "kylin", "Kylin",
     "V10", "V10"},
    // UnionTech OS Server 20: 1050e (kongzi) and 1001c (kongli).
    {"UOS Server 20 1050e", "/etc/os-release", R"os(PRETTY_NAME="UnionTech OS Server 20"
NAME="UnionTech OS Server 20"
VERSION_ID="20"
VERSION="20"
ID="uos"
HOME_URL="https://www.chinauos.com/"
BUG_REPORT_URL="https://bbs.chinauos.com/"
VERSION_CODENAME="kongzi"
PLATFORM_ID="platform:uelc20"
)os",
     "uos", "UnionTech OS", "20", "20"},
    {"UOS Server 20 1001c", "/etc/os-release", R"os(PRETTY_NAME="UnionTech OS Server 20"
NAME="UnionTech OS Server 20"
VERSION_ID="20"
VERSION="20"
ID="uos"
HOME_URL="https://www.chinauos.com/"
BUG_REPORT_URL="https://bbs.chinauos.com/"
VERSION_CODENAME="kongli"
)os",
     "uos", "UnionTech OS", "20", "20"},
    {"UOS Server 20 1050e", "/etc/uos-release", "UnionTech OS Server release 20 (kongzi)\n", "uos", "UnionTech OS",
     "20", "20"},
    // TencentOS Server 2.4: /etc/centos-release, /etc/redhat-release, /etc/system-release and
    // /etc/tencentos-release all link to /etc/tlinux-release.
    {"TencentOS Server 2.4", "/etc/os-release", R"os(NAME="TencentOS Server"
VERSION="2.4"
ID="tencentos"
ID_LIKE="rhel fedora centos tlinux"
VERSION_ID="2.4"
PRETTY_NAME="TencentOS Server 2.4"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:tencentos:tencentos:2"
HOME_URL="https://cloud.tencent.com/product/ts"
)os",
     "tencentos", "TencentOS", "2.4", "2"},
    {"TencentOS Server 2.4", "/etc/tlinux-release", "TencentOS Server 2.4 (Final)\n", "tencentos", "TencentOS", "2.4",
     "2"},
    {"TencentOS Server 2.4 (a link to tlinux-release)", "/etc/centos-release", "TencentOS Server 2.4 (Final)\n",
     "tencentos", "TencentOS", "2.4", "2"},
    // TencentOS Server 3.1: /etc/redhat-release links to /etc/centos-release; /etc/system-release
    // and /etc/tlinux-release to /etc/tencentos-release.
    {"TencentOS Server 3.1", "/etc/os-release", R"os(NAME="TencentOS Server"
VERSION="3.1 (Final)"
ID="tencentos"
ID_LIKE="rhel fedora centos"
VERSION_ID="3.1"
PLATFORM_ID="platform:el8"
PRETTY_NAME="TencentOS Server 3.1 (Final)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:tencentos:tencentos:3"
HOME_URL="https://cloud.tencent.com/product/ts"

TENCENT_SUPPORT_PRODUCT="tencentos"
TENCENT_SUPPORT_PRODUCT_VERSION="3"
NAME_ORIG="TencentOS Server"
)os",
     "tencentos", "TencentOS", "3.1", "3"},
    {"TencentOS Server 3.1", "/etc/centos-release", "TencentOS Server release 3.1 (Final) \n", "tencentos", "TencentOS",
     "3.1", "3"},
    {"TencentOS Server 3.1", "/etc/tencentos-release", "TencentOS Server 3.1 (Final)\n", "tencentos", "TencentOS",
     "3.1", "3"},
    // TencentOS Server 4 (platform:tl4; updates keep VERSION_ID "4"). Of this file only NAME, ID,
    // VERSION_ID and PLATFORM_ID could be checked against an installed system; the other lines
    // follow the 3.x file and are not what the test relies on.
    {"TencentOS Server 4", "/etc/os-release", R"os(NAME="TencentOS Server"
VERSION="4"
ID="tencentos"
VERSION_ID="4"
PLATFORM_ID="platform:tl4"
PRETTY_NAME="TencentOS Server 4"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:tencentos:tencentos:4"
HOME_URL="https://cloud.tencent.com/product/ts"
)os",
     "tencentos", "TencentOS", "4", "4"},
    // openEuler 22.03 LTS and 22.03 LTS SP2: not on the cloud's list.
    {"openEuler 22.03 LTS", "/etc/os-release", R"os(NAME="openEuler"
VERSION="22.03 LTS"
ID="openEuler"
VERSION_ID="22.03"
PRETTY_NAME="openEuler 22.03 LTS"
ANSI_COLOR="0;31"

)os",
     "openeuler", "Other Linux", "22.03", "-"},
    {"openEuler 22.03 LTS SP2", "/etc/os-release", R"os(NAME="openEuler"
VERSION="22.03 (LTS-SP2)"
ID="openEuler"
VERSION_ID="22.03"
PRETTY_NAME="openEuler 22.03 (LTS-SP2)"
ANSI_COLOR="0;31"
)os",
     "openeuler", "Other Linux", "22.03", "-"},
    {"openEuler 22.03 LTS", "/etc/openEuler-release", "openEuler release 22.03 LTS\n", "openeuler", "Other Linux",
     "22.03", "-"},
    // CentOS Stream 8 and 9.
    {"CentOS Stream 8", "/etc/os-release", R"os(NAME="CentOS Stream"
VERSION="8"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="8"
PLATFORM_ID="platform:el8"
PRETTY_NAME="CentOS Stream 8"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:8"
HOME_URL="https://centos.org/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux 8"
REDHAT_SUPPORT_PRODUCT_VERSION="CentOS Stream"
)os",
     "centos", "CentOS Stream", "8", "8"},
    {"CentOS Stream 8", "/etc/centos-release", "CentOS Stream release 8\n", "centos", "CentOS Stream", "8", "8"},
    {"CentOS Stream 9", "/etc/os-release", R"os(NAME="CentOS Stream"
VERSION="9"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="9"
PLATFORM_ID="platform:el9"
PRETTY_NAME="CentOS Stream 9"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:centos:centos:9"
HOME_URL="https://centos.org/"
BUG_REPORT_URL="https://issues.redhat.com/"
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux 9"
REDHAT_SUPPORT_PRODUCT_VERSION="CentOS Stream"
)os",
     "centos", "CentOS Stream", "9", "9"},
    {"CentOS Stream 9 (/etc/redhat-release and /etc/system-release link here)", "/etc/centos-release",
     "CentOS Stream release 9\n", "centos", "CentOS Stream", "9", "9"},
    // Rocky Linux 8.9 and 9.5.
    {"Rocky Linux 8.9", "/etc/os-release", R"os(NAME="Rocky Linux"
VERSION="8.9 (Green Obsidian)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="8.9"
PLATFORM_ID="platform:el8"
PRETTY_NAME="Rocky Linux 8.9 (Green Obsidian)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:8:GA"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2029-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-8"
ROCKY_SUPPORT_PRODUCT_VERSION="8.9"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="8.9"
)os",
     "rocky", "Rocky Linux", "8.9", "8"},
    {"Rocky Linux 8.10 (/etc/redhat-release links here)", "/etc/rocky-release",
     "Rocky Linux release 8.10 (Green Obsidian)\n", "rocky", "Rocky Linux", "8.10", "8"},
    {"Rocky Linux 9.5", "/etc/os-release", R"os(NAME="Rocky Linux"
VERSION="9.5 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.5"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.5 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
VENDOR_NAME="RESF"
VENDOR_URL="https://resf.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.5"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.5"
)os",
     "rocky", "Rocky Linux", "9.5", "9"},
    {"Rocky Linux 9.5", "/etc/redhat-release", "Rocky Linux release 9.5 (Blue Onyx)\n", "rocky", "Rocky Linux", "9.5",
     "9"},
    // AlmaLinux 8.10 and 9.4.
    {"AlmaLinux 8.10", "/etc/os-release", R"os(NAME="AlmaLinux"
VERSION="8.10 (Cerulean Leopard)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="8.10"
PLATFORM_ID="platform:el8"
PRETTY_NAME="AlmaLinux 8.10 (Cerulean Leopard)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:8::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-8"
ALMALINUX_MANTISBT_PROJECT_VERSION="8.10"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="8.10"
SUPPORT_END=2029-06-01
)os",
     "almalinux", "AlmaLinux", "8.10", "8"},
    {"AlmaLinux 8.10", "/etc/almalinux-release", "AlmaLinux release 8.10 (Cerulean Leopard)\n", "almalinux",
     "AlmaLinux", "8.10", "8"},
    {"AlmaLinux 9.4", "/etc/os-release", R"os(NAME="AlmaLinux"
VERSION="9.4 (Seafoam Ocelot)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-9"
ALMALINUX_MANTISBT_PROJECT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
SUPPORT_END=2032-06-01
)os",
     "almalinux", "AlmaLinux", "9.4", "9"},
    {"AlmaLinux 9.2 (/etc/redhat-release links here)", "/etc/almalinux-release",
     "AlmaLinux release 9.2 (Turquoise Kodkod)\n", "almalinux", "AlmaLinux", "9.2", "9"},
};

TEST(OsRelease, RealReleaseFilesOfTheNewerGuests) {
  for (const RealRelease& r : kRealReleases) {
    const std::string file = r.file;
    const OsRelease os = file == "/etc/os-release" ? parse_os_release(r.text) : parse_legacy_release(file, r.text);
    const Distribution d = classify(os);
    const std::string what = std::string(r.release) + ", " + file;
    EXPECT_EQ(d.id, r.id) << what;
    EXPECT_EQ(d.cloud_name, r.cloud_name) << what;
    EXPECT_EQ(d.version, r.version) << what;
    const api::ImportOs* listed = api::find_import_os(d.cloud_name);
    ASSERT_NE(listed, nullptr) << what;
    EXPECT_EQ(api::listed_version(*listed, d.version), r.os_version) << what;
  }
}

// The cloud's OsVersion for a guest's VERSION_ID: exact, or the longest listed prefix followed
// by a dot; never a prefix of another number ("1" is not "12", "2" not "20").
TEST(OsRelease, ListedVersionIsExactOrAWholeLeadingPart) {
  auto listed = [](const char* os, const char* version) {
    return api::listed_version(*api::find_import_os(os), version);
  };
  EXPECT_EQ(listed("CentOS", "7.9.2009"), "7");
  EXPECT_EQ(listed("SUSE", "15.4"), "15");
  EXPECT_EQ(listed("openSUSE", "15.5"), "15.5");
  EXPECT_EQ(listed("openSUSE", "15.3"), "");
  EXPECT_EQ(listed("Ubuntu", "22.04"), "22.04");
  EXPECT_EQ(listed("Ubuntu", "23.10"), "");
  EXPECT_EQ(listed("Debian", "7"), "");
  EXPECT_EQ(listed("Fedora", "41"), "");
  EXPECT_EQ(listed("TencentOS", "4.0"), "4");
  EXPECT_EQ(listed("TencentOS", "24"), "");
  EXPECT_EQ(listed("Kylin", "V10"), "V10");
  EXPECT_EQ(listed("Kylin", "V11"), "");
  EXPECT_EQ(listed("CoreOS", "3510.2.0"), "-");
  EXPECT_EQ(listed("Other Linux", "22.03"), "-");
}

}  // namespace
}  // namespace ig

namespace ig {
namespace {

// Guests older than os-release: each legacy file, as those distributions wrote it.
TEST(LegacyRelease, EachFileMapsToTheCloudsList) {
  struct Case {
    const char* file;
    const char* text;
    const char* cloud_name;
    const char* version;
  };
  const Case cases[] = {
      {"/etc/centos-release", "CentOS release 6.10 (Final)\n", "CentOS", "6.10"},
      {"/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n", "CentOS", "7.9.2009"},
      {"/etc/redhat-release", "CentOS Stream release 8\n", "CentOS Stream", "8"},
      {"/etc/rocky-release", "Rocky Linux release 8.9 (Green Obsidian)\n", "Rocky Linux", "8.9"},
      {"/etc/almalinux-release", "AlmaLinux release 8.9 (Midnight Oncilla)\n", "AlmaLinux", "8.9"},
      {"/etc/redhat-release", "Fedora release 20 (Heisenbug)\n", "Fedora", "20"},
      {"/etc/redhat-release", "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n", "Other Linux", "6.10"},
      {"/etc/SuSE-release", "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n", "SUSE", "11"},
      {"/etc/SuSE-release", "openSUSE 13.2 (x86_64)\nVERSION = 13.2\nCODENAME = Harlequin\n", "openSUSE", "13.2"},
      {"/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n", "Ubuntu", "14.04"},
      {"/usr/share/coreos/release", "COREOS_RELEASE_VERSION=1235.9.0\nCOREOS_RELEASE_BOARD=amd64-usr\n", "CoreOS",
       "1235.9.0"},
      {"/etc/debian_version", "8.11\n", "Debian", "8"},
  };
  for (const Case& c : cases) {
    const OsRelease os = parse_legacy_release(c.file, c.text);
    const Distribution d = classify(os);
    EXPECT_EQ(d.cloud_name, c.cloud_name) << c.file << ": " << c.text;
    EXPECT_EQ(d.version, c.version) << c.file << ": " << c.text;
  }
  EXPECT_TRUE(parse_legacy_release("/etc/debian_version", "bookworm/sid\n").empty());
  EXPECT_TRUE(parse_legacy_release("/etc/redhat-release", "").empty());
  EXPECT_TRUE(parse_legacy_release("/etc/lsb-release", "# nothing\n").empty());
}

}  // namespace
}  // namespace ig
