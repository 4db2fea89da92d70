#include "api/os_list.h"

namespace ig::api {

const std::vector<ImportOs>& import_os_list() {
  static const std::vector<std::string> k64 = {"x86_64"};
  static const std::vector<std::string> k32_64 = {"x86_64", "i386"};
  static const std::vector<std::string> kArm = {"x86_64", "arm_64"};
  static const std::vector<ImportOs> list = {
      {"CentOS", "Linux", {"6", "7", "8"}, k32_64},
      {"CentOS Stream", "Linux", {"8", "9"}, kArm},
      {"Ubuntu", "Linux", {"14.04", "16.04", "18.04", "20.04", "22.04", "24.04"}, {"x86_64", "i386", "arm_64"}},
      {"Debian", "Linux", {"8", "9", "10", "11", "12"}, {"x86_64", "i386", "arm_64"}},
      {"openSUSE", "Linux", {"15.4", "15.5", "15.6"}, k64},
      {"SUSE", "Linux", {"12", "15"}, k64},
      {"CoreOS", "Linux", {"-"}, k64},
      {"FreeBSD", "Linux", {"11", "12", "13", "14"}, k64},
      {"AlmaLinux", "Linux", {"8", "9"}, kArm},
      {"Rocky Linux", "Linux", {"8", "9"}, kArm},
      {"Fedora", "Linux", {"37", "38", "39", "40"}, kArm},
      {"Kylin", "Linux", {"V10"}, kArm},
      {"UnionTech OS", "Linux", {"20"}, kArm},
      {"TencentOS", "Linux", {"2", "3", "4"}, kArm},
      {"Other Linux", "Linux", {"-"}, {"x86_64", "i386", "arm_64"}},
      {"Windows Server 2008", "Windows", {"-"}, k64},
      {"Windows Server 2008 R2", "Windows", {"-"}, k64},
      {"Windows Server 2012", "Windows", {"-"}, k64},
      {"Windows Server 2012 R2", "Windows", {"-"}, k64},
      {"Windows Server 2016", "Windows", {"-"}, k64},
      {"Windows Server 2019", "Windows", {"-"}, k64},
      {"Windows Server 2022", "Windows", {"-"}, k64},
  };
  return list;
}

const ImportOs* find_import_os(std::string_view name) {
  for (const ImportOs& os : import_os_list()) {
    if (os.name == name) return &os;
  }
  return nullptr;
}

std::string listed_version(const ImportOs& os, std::string_view version) {
  std::string best;
  for (const std::string& v : os.versions) {
    if (v == "-") return v;
    if (version == v) return v;
    if (version.size() > v.size() && version.rfind(v, 0) == 0 && version[v.size()] == '.' && v.size() > best.size()) {
      best = v;
    }
  }
  return best;
}

}  // namespace ig::api
