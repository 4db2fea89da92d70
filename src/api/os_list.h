// The operating systems ImportImage accepts (SPEC §2): what DescribeImportImageOs returns and what
// ImportImage's OsType / OsVersion are validated against.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ig::api {

struct ImportOs {
  std::string name;                        // OsType as the API spells it: "CentOS", "Windows Server 2022"
  std::string platform;                    // "Linux" | "Windows"
  std::vector<std::string> versions;       // OsVersion values; "-" when the name carries it
  std::vector<std::string> architectures;  // "x86_64", "i386", "arm_64"
};

const std::vector<ImportOs>& import_os_list();
const ImportOs* find_import_os(std::string_view name);

// The OsVersion of `os` a guest's VERSION_ID falls under: the listed version it equals ("22.04",
// "V10", "15.5"), else the longest listed version it starts with followed by a dot ("3.1" is
// TencentOS "3", "7.9.2009" CentOS "7", "15.4" SUSE "15", "9.4" Rocky Linux "9"); "-" for an
// entry listed without versions; "" when the list has none for it (Debian "7", Ubuntu "23.10").
std::string listed_version(const ImportOs& os, std::string_view version);

}  // namespace ig::api
