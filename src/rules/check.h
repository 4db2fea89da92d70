// check_image: the import rules applied to one uploaded file, without root and without booting.
//
// judge() takes the facts that assess/assess.h found (format, sizes, the guest) and applies SPEC.md
// §2's rules in the cloud's order. Anything the image's bytes say — an unknown format, a refused
// qcow2, a corrupt partition table — becomes a failed check with its code. judge() reads nothing:
// the rules layer depends on the facts, not on the format engine or the converter.
// Thread safety: pure.
#pragma once

#include <optional>
#include <string>

#include "assess/assess.h"
#include "io/byte_source.h"
#include "rules/report.h"

namespace ig {

struct CheckOptions {
  AssessOptions assess;  // how the file is opened: declared format, file name, limits
  bool force = false;    // the API's Force: skips cloud-init (SPEC §6) and accepts an installer ISO
  // What the user will declare in ImportImage; compared with what the image holds.
  std::string os_type;  // "Linux", "Windows", or the distribution name ("CentOS", "Debian")
  std::string os_version;
  std::string architecture;  // "x86_64", "i386", "arm_64"
  // The cloud's size rules (SPEC §2); a deployment may set its own.
  std::uint64_t max_virtual_size = 500ULL << 30;
  std::uint64_t max_qcow2_size = 50ULL << 30;
};

// The system-disk rules of SPEC §2 over the facts, in the cloud's order.
CheckReport judge(const Facts& facts, const CheckOptions& options);
// A data disk's rules: a format the cloud takes, and the virtual-size limit.
CheckReport judge_data_disk(const Facts& facts, const CheckOptions& options);

// assess() and judge() in one: what `imagegate check` prints.
Result<CheckReport> check_image(SourcePtr file, const CheckOptions& options);

}  // namespace ig
