// The check report: what `imagegate check` and the import worker decide about an image.
//
// Each rule of SPEC.md §2 is one named check with a status, the facts behind it (evidence: paths,
// values) and, when it fails, the error code of SPEC.md §3 the cloud returns. The verdict is the
// first failing check in the order the cloud applies its rules: format and size, partitions, root,
// virtio, cloud-init. Texts are not stored as sentences but as message ids with arguments, so the
// same report renders in any of the five languages (text/messages.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/messages.h"

namespace ig {

// kUnverified: imagegate could not judge the rule (a volume it cannot read may hold the root); not
// a failure the cloud would report, and not a pass either.
enum class CheckStatus { kPass, kWarn, kFail, kSkipped, kUnverified };
std::string_view check_status_name(CheckStatus s);  // "pass", "warn", "fail", "skipped", "unverified"

// The error codes of SPEC.md §3.
inline constexpr const char* kInvalidUrl = "InvalidUrl";
inline constexpr const char* kInvalidFormatSize = "InvalidFormatSize";
inline constexpr const char* kVirtioNotInstall = "VirtioNotInstall";
inline constexpr const char* kCloudInitNotInstalled = "CloudInitNotInstalled";
inline constexpr const char* kPartitionNotPresent = "PartitionNotPresent";
inline constexpr const char* kRootPartitionNotFound = "RootPartitionNotFound";
inline constexpr const char* kInternalError = "InternalError";

struct CheckResult {
  std::string name;  // "format", "virtual-size", "qcow2-size", "partition-table", "partitions", "root",
                     // "os", "architecture", "declared", "virtio", "cloud-init"
  CheckStatus status = CheckStatus::kSkipped;
  std::string error_code;         // set when failed
  Message message;                // what was found
  std::optional<Message> advice;  // what to do about it
  std::vector<Message> evidence;  // the facts behind it, one line each
};

struct KernelReport {
  std::string version;
  bool is_default = false;
  std::string architecture;  // what its image is built for, "" when its header does not say
  std::string image;         // what was read of /boot/vmlinuz-<version>, or why not
  std::string initramfs;
  std::vector<std::string> initramfs_archives;
  struct Driver {
    std::string name;
    std::string state;  // "built-in", "module", "module-missing", "absent"
    std::optional<bool> in_initramfs;
  };
  std::vector<Driver> virtio;
};

struct CheckReport {
  bool pass = false;
  // Neither pass nor fail: no rule failed, but one could not be judged (the root may sit on a
  // volume imagegate cannot read). `pass` is false and `error_code` empty.
  bool unverified = false;
  std::string error_code;  // "" when it passes or is unverified
  std::string failed_check;
  Message reason;

  std::vector<CheckResult> checks;

  // image
  std::string format;  // "qcow2", "raw", ...; "" when it is not an image format the cloud takes
  std::uint64_t virtual_size = 0;
  std::uint64_t actual_size = 0;                  // bytes the file occupies
  std::optional<std::uint64_t> qcow2_size;        // the estimate (qemu-img measure's `required`)
  std::optional<std::uint64_t> qcow2_exact_size;  // the converter's exact output, when the estimate was over
  std::string partition_table;                    // "mbr", "gpt", "none", "" when not read

  // os
  std::string os_type;  // "linux", "windows", "" when none was found
  std::string distribution;
  std::string distribution_name;  // the cloud's name: "Debian", "Other Linux", "Windows Server 2022"
  std::string product_name;       // Windows: ProductName from the SOFTWARE hive
  std::string version;
  // The OsVersion of the cloud's list that `version` falls under (api::listed_version: "3" for
  // TencentOS 3.1), "-" for a name listed without versions, "" when unlisted or not Linux.
  std::string os_version;
  std::string architecture;
  std::vector<KernelReport> kernels;
  struct CloudInit {
    bool installed = false;
    bool enabled = false;
    std::string version;
    std::vector<std::string> evidence;
  };
  std::optional<CloudInit> cloud_init;
};

}  // namespace ig
