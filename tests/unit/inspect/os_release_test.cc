// os-release parsing and the cloud's distribution list (SPEC.md §2), on the key lines each
// distribution's own /etc/os-release carries.
#include "inspect/os_release.h"

#include <gtest/gtest.h>

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
