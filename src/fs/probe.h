// File-system identification by signature, for any ByteSource (a partition, a whole disk).
//
// identify() names what a volume holds, whether or not imagegate can read it: the check report
// must be able to say "partition 2 is swap", "the root is on LVM", "this disk is LUKS-encrypted".
// Reads at most the first 68 KiB. Thread safety: pure. Errors: the source's own.
#pragma once

#include <memory>
#include <string>

#include "io/byte_source.h"

namespace ig {

enum class VolumeKind {
  kUnknown,
  kExt,
  kXfs,
  kBtrfs,
  kSwap,
  kFat,
  kNtfs,
  kExfat,
  kIso9660,
  kLvm2Pv,
  kLuks,
  kLdm,
  kUfs
};

struct VolumeId {
  VolumeKind kind = VolumeKind::kUnknown;
  std::string name;  // "ext4"-agnostic family name: "ext", "xfs", "ufs", "swap", "vfat", "ntfs", "LVM2 PV", ...
};

Result<VolumeId> identify(const ByteSource& volume);

class FileSystem;
struct FsLimits;

// Opens the file system `id` names on `volume` (ext, xfs, ntfs, btrfs, ufs). Other kinds are kUnsupported,
// naming the kind: the caller reports what the volume is even when it cannot look inside.
Result<std::unique_ptr<FileSystem>> open_filesystem(SourcePtr volume, const VolumeId& id, const FsLimits& limits);

}  // namespace ig
