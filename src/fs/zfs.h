// ZFS vdev labels: enough to name a volume "zfs" and its pool, never to read the pool's data.
//
// A ZFS vdev (a whole disk, a partition, or a file given to `zpool create`) carries four 256 KiB
// labels: L0 and L1 at its start, L2 and L3 in the last 512 KiB of its size rounded down to
// 256 KiB. Each label is an 8 KiB blank, an 8 KiB boot header, a 112 KiB packed nvlist of the
// vdev's configuration (XDR: version, name, state, txg, pool_guid, vdev_tree, ...) and a 128 KiB
// ring of uberblocks, each opening with ub_magic 0x00bab10c in the byte order of the host that
// wrote it (docs/formats/zfs.md).
//
// probe() reads, label by label, the uberblock ring (128 KiB) and, for a label whose ring holds
// an uberblock, the nvlist (112 KiB): at most 960 KiB in all. The pool name is the nvlist's
// top-level "name" string, raw guest bytes (pass them through guest_text before showing them).
// Thread safety: pure. Errors: the source's own; an nvlist that cannot be decoded is not an
// error (the volume is still ZFS), its reason is kept in `config_error`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "io/byte_source.h"

namespace ig::zfs {

inline constexpr std::uint64_t kUberblockMagic = 0x00bab10c;
inline constexpr std::uint64_t kLabelBytes = 256 * 1024;
inline constexpr std::uint64_t kNvlistOffset = 16 * 1024;  // in a label: after the blank and the boot header
inline constexpr std::uint64_t kNvlistBytes = 112 * 1024;
inline constexpr std::uint64_t kUberblockRingOffset = 128 * 1024;
inline constexpr std::uint64_t kUberblockRingBytes = 128 * 1024;
inline constexpr std::size_t kMaxPoolNameBytes = 256;  // ZFS_MAX_DATASET_NAME_LEN
inline constexpr std::size_t kMaxNvpairs = 1024;       // top-level pairs walked in one nvlist

struct VdevLabel {
  unsigned label = 0;            // the first label (0-3) whose ring holds an uberblock
  bool big_endian = false;       // the byte order of that uberblock
  std::uint64_t ub_version = 0;  // its SPA version (1-28, or 5000 for feature flags)
  std::string pool_name;         // "name" from the nvlist of a label with an uberblock; "" when none
  std::string config_error;      // why no pool name was read, when none was
};

// Nothing when no label holds an uberblock.
Result<std::optional<VdevLabel>> probe(const ByteSource& vdev);

// The top-level "name" string of one label's packed nvlist (the 112 KiB after its boot header).
// kNotFound when the list has no such pair; kCorrupt for a malformed list; kUnsupported for a
// list not in XDR encoding (ZFS writes labels in XDR only).
Result<std::string> pool_name_from_nvlist(std::span<const std::byte> packed);

}  // namespace ig::zfs
