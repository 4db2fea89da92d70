// BSD disklabels inside an MBR slice (type 0xA5, FreeBSD), as FreeBSD's bsdlabel(8) writes them
// and its loader and GEOM read them: struct disklabel (sys/sys/disklabel.h) at sector 1 of the
// slice, little-endian, up to 20 partitions a, b, c, d, ... of which 'c' is the raw partition
// spanning the slice.
//
// Offsets: older labels store partition offsets from the start of the disk, newer ones from the
// start of the slice; both set 'c' to the slice's own start in the same convention, so every
// offset is taken relative to 'c' (what FreeBSD's loader does: p_offset - d_partitions[2].p_offset).
//
// read_partition_table() reads the label of each 0xA5 slice and attaches its partitions to that
// slice's Partition (bsd_partitions); they are named by the slice number and the letter, "1a".
// See docs/decisions/0012-bsd-partition-names.md.
//
// Thread safety: pure over a const ByteSource. Errors: kCorrupt for a label that is there (both
// magics) but cannot be believed (checksum, partitions outside the slice, too many to fit the
// sector), kUnsupported for sector sizes other than 512, kLimitExceeded for the partition cap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/byte_source.h"

namespace ig {

struct BsdPartition {
  char letter = 'a';               // 'a' + index in d_partitions; 'c' is never listed
  std::uint64_t offset_bytes = 0;  // from the start of the slice
  std::uint64_t first_byte = 0;    // from the start of the disk
  std::uint64_t length_bytes = 0;
  std::uint8_t fstype = 0;  // p_fstype: 7 4.2BSD (UFS), 1 swap, 27 ZFS, ...
  std::string type_name;    // "4.2BSD", "swap", "ZFS", ...
  bool beyond_end = false;  // inside the slice, but the disk ends before it does (truncated upload)
};

struct BsdLabelLimits {
  std::uint32_t max_partitions = 20;  // FreeBSD's BSD_NPARTS_MAX
};

// The label of the slice at [slice_first_byte, +slice_length_bytes) of `disk`, or nothing when
// sector 1 of the slice carries no disklabel magic.
Result<std::optional<std::vector<BsdPartition>>> read_bsd_label(const ByteSource& disk, std::uint64_t slice_first_byte,
                                                                std::uint64_t slice_length_bytes,
                                                                const BsdLabelLimits& limits = {});

std::string bsd_fstype_name(std::uint8_t fstype);  // "4.2BSD", "swap", ... or "fstype 42"

}  // namespace ig
