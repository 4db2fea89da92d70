// check_image: the import rules applied to one uploaded file, without root and without booting.
//
// Reads the file through the format engine (probe, open_image), sizes it as qcow2 (measure), reads
// the guest (inspect/linux.h) and judges SPEC.md §2's Linux rules, in the cloud's order. Anything
// the image's bytes say — an unknown format, a refused qcow2, a corrupt partition table — becomes a
// failed check with its code; only an I/O error on the file itself is returned as an Error.
// Thread safety: pure over the file.
#pragma once

#include <optional>
#include <string>

#include "base/limits.h"
#include "formats/disk_image.h"
#include "io/byte_source.h"
#include "rules/report.h"

namespace ig {

struct CheckOptions {
  std::optional<Format> declared_format;
  std::string file_name;
  bool force = false;  // the API's Force: skips cloud-init (SPEC §6) and accepts an installer ISO
  // What the user will declare in ImportImage; compared with what the image holds.
  std::string os_type;  // "Linux", "Windows", or the distribution name ("CentOS", "Debian")
  std::string os_version;
  std::string architecture;  // "x86_64", "i386", "arm_64"
  // The cloud's size rules (SPEC §2); a deployment may set its own.
  std::uint64_t max_virtual_size = 500ULL << 30;
  std::uint64_t max_qcow2_size = 50ULL << 30;
  Limits limits;
};

Result<CheckReport> check_image(SourcePtr file, const CheckOptions& options);

}  // namespace ig
