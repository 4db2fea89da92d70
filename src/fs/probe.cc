#include "fs/probe.h"

#include <algorithm>
#include <vector>

#include "base/bytes.h"
#include "fs/btrfs.h"
#include "fs/ext.h"
#include "fs/ntfs.h"
#include "fs/ufs.h"
#include "fs/xfs.h"
#include "fs/zfs.h"

namespace ig {
namespace {

bool at(std::string_view s, std::size_t off, std::string_view magic) {
  return off + magic.size() <= s.size() && s.substr(off, magic.size()) == magic;
}

}  // namespace

Result<VolumeId> identify(const ByteSource& volume) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(volume.size(), 68 * 1024));
  std::vector<std::byte> buf(n);
  IG_TRY(volume.read_at(0, buf));
  const std::string_view s = as_chars(buf);

  // Order matters only where signatures could coexist: containers (LUKS, LVM) first.
  if (at(s, 0, "LUKS\xba\xbe") || at(s, 0, "SKUL\xba\xbe")) return VolumeId{VolumeKind::kLuks, "LUKS", {}};
  for (std::size_t sector = 0; sector < 4; ++sector) {
    if (at(s, sector * 512, "LABELONE") && at(s, sector * 512 + 24, "LVM2 001")) {
      return VolumeId{VolumeKind::kLvm2Pv, "LVM2 PV", {}};
    }
  }
  if (at(s, 0, "XFSB")) return VolumeId{VolumeKind::kXfs, "xfs", {}};
  if (at(s, 1080, "\x53\xef")) return VolumeId{VolumeKind::kExt, "ext", {}};
  if (at(s, 65536 + 64, "_BHRfS_M")) return VolumeId{VolumeKind::kBtrfs, "btrfs", {}};
  // UFS: the superblock at 64 KiB (UFS2) or 8 KiB (UFS1, or UFS2 as makefs writes it); fs_magic
  // sits 1372 bytes in. ufs::open() refuses UFS1 and big-endian UFS by name.
  if (ufs::probe(volume) != ufs::Flavor::kNone) return VolumeId{VolumeKind::kUfs, "ufs", {}};
  if (at(s, 3, "NTFS    ")) return VolumeId{VolumeKind::kNtfs, "ntfs", {}};
  if (at(s, 3, "EXFAT   ")) return VolumeId{VolumeKind::kExfat, "exfat", {}};
  if (at(s, 0x8001, "CD001")) return VolumeId{VolumeKind::kIso9660, "iso9660", {}};
  // Swap: the signature sits at the end of the first page, whose size is not recorded.
  for (std::size_t page : {4096u, 8192u, 16384u, 65536u}) {
    if (at(s, page - 10, "SWAPSPACE2") || at(s, page - 10, "SWAP-SPACE"))
      return VolumeId{VolumeKind::kSwap, "swap", {}};
  }
  if (at(s, 510, "\x55\xaa") && (at(s, 54, "FAT12") || at(s, 54, "FAT16") || at(s, 82, "FAT32") || at(s, 54, "FAT"))) {
    return VolumeId{VolumeKind::kFat, "vfat", {}};
  }
  // A Windows dynamic disk keeps its LDM database at the end of the disk; its private header
  // ("PRIVHEAD") sits at sector 6 on MBR disks.
  if (at(s, 6 * 512, "PRIVHEAD")) return VolumeId{VolumeKind::kLdm, "Windows LDM (dynamic disk)", {}};
  // ZFS last: its labels start with 16 KiB that other signatures never match, and a pool's old
  // labels (at 128 KiB and at the end) may survive a mkfs of another file system, which wins.
  if (auto vdev = IG_TRY(zfs::probe(volume))) return VolumeId{VolumeKind::kZfs, "zfs", vdev->pool_name};
  return VolumeId{VolumeKind::kUnknown, "unknown", {}};
}

Result<std::unique_ptr<FileSystem>> open_filesystem(SourcePtr volume, const VolumeId& id, const FsLimits& limits) {
  switch (id.kind) {
    case VolumeKind::kExt: return ext::open(std::move(volume), limits);
    case VolumeKind::kXfs: return xfs::open(std::move(volume), limits);
    case VolumeKind::kNtfs: return ntfs::open(std::move(volume), limits);
    case VolumeKind::kBtrfs: {  // the default subvolume, as a mount without subvol= shows
      auto fs = IG_TRY(btrfs::open(std::move(volume), limits));
      return std::unique_ptr<FileSystem>(std::move(fs));
    }
    case VolumeKind::kUfs: return ufs::open(std::move(volume), limits);
    default: return Error::unsupported(fmt::format("{} volumes are not read", id.name));
  }
}

}  // namespace ig
