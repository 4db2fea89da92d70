// The operating systems ImportImage accepts (SPEC §2): what DescribeImportImageOs returns and what
// ImportImage's OsType / OsVersion are validated against.
#pragma once

#include <string>
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

}  // namespace ig::api
