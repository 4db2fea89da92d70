// Windows facts that need no disk: releases by build number, and PE machine types.
#include "inspect/windows.h"

#include <gtest/gtest.h>

namespace ig {
namespace {

TEST(WindowsRelease, EveryServerReleaseOfTheCloudsList) {
  const std::vector<std::tuple<std::string, std::string>> builds = {
      {"6001", "2008"}, {"6002", "2008"},    {"6003", "2008"},  {"7600", "2008 R2"}, {"7601", "2008 R2"},
      {"9200", "2012"}, {"9600", "2012 R2"}, {"14393", "2016"}, {"17763", "2019"},   {"20348", "2022"},
  };
  for (const auto& [build, version] : builds) {
    std::string v;
    EXPECT_EQ(windows_server_release(build, true, v), "Windows Server " + version) << build;
    EXPECT_EQ(v, version);
  }
  std::string v;
  EXPECT_EQ(windows_server_release("26100", true, v), "");   // Server 2025: not in the cloud's list
  EXPECT_EQ(windows_server_release("17763", false, v), "");  // Windows 10 1809 shares the build
  EXPECT_EQ(windows_server_release("", true, v), "");
}

TEST(PeArchitecture, MachinesAndMalformedHeaders) {
  auto pe = [](std::uint16_t machine, std::uint32_t at = 0x80) {
    std::vector<std::byte> h(512, std::byte{0});
    h[0] = std::byte{'M'};
    h[1] = std::byte{'Z'};
    h[0x3C] = static_cast<std::byte>(at & 0xff);
    h[0x3D] = static_cast<std::byte>(at >> 8);
    if (at + 6 <= h.size()) {
      h[at] = std::byte{'P'};
      h[at + 1] = std::byte{'E'};
      h[at + 4] = static_cast<std::byte>(machine & 0xff);
      h[at + 5] = static_cast<std::byte>(machine >> 8);
    }
    return h;
  };
  EXPECT_EQ(pe_architecture(pe(0x8664)), "x86_64");
  EXPECT_EQ(pe_architecture(pe(0x014C)), "i386");
  EXPECT_EQ(pe_architecture(pe(0xAA64)), "arm_64");
  EXPECT_EQ(pe_architecture(pe(0x01C4)), "");          // ARMv7: not an architecture the cloud takes
  EXPECT_EQ(pe_architecture(pe(0x8664, 0xFFFF)), "");  // e_lfanew past the header read
  EXPECT_EQ(pe_architecture(std::vector<std::byte>(10)), "");
}

}  // namespace
}  // namespace ig
