// File-system identification by signature, for any ByteSource (a partition, a whole disk).
//
// identify() names what a volume holds, whether or not imagegate can read it: the check report
// must be able to say "partition 2 is swap", "the root is on LVM", "this disk is LUKS-encrypted",
// "partition 1 is a ZFS vdev of pool tank". Reads the first 68 KiB, and for a volume none of
// those signatures names, the ZFS labels (at most 960 KiB, fs/zfs.h). Thread safety: pure.
// Errors: the source's own.
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
  kUfs,
  kZfs
};

struct VolumeId {
  VolumeKind kind = VolumeKind::kUnknown;
  std::string name;  // "ext4"-agnostic family name: "ext", "xfs", "ufs", "zfs", "swap", "vfat", "ntfs", "LVM2 PV", ...
  // The volume's own name where identify() reads one without opening the volume: a ZFS pool's
  // name (blkid reports it as LABEL too). Raw guest bytes.
  std::string label;
};

Result<VolumeId> identify(const ByteSource& volume);

class FileSystem;
struct FsLimits;

// Opens the file system `id` names on `volume` (ext, xfs, ntfs, btrfs, ufs). Other kinds are kUnsupported,
// naming the kind: the caller reports what the volume is even when it cannot look inside.
Result<std::unique_ptr<FileSystem>> open_filesystem(SourcePtr volume, const VolumeId& id, const FsLimits& limits);

}  // namespace ig
