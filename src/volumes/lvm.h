// LVM2: physical volume label, metadata, and linear logical volumes as byte sources.
//
// read_pv(pv) finds the label in the first four sectors, checks its CRC, reads the first
// metadata area (header checksum, circular text buffer, text checksum) and parses the metadata
// text with a bounded parser. open_lv() maps a linear LV (segments of type "striped" with one
// stripe) onto this PV as a ConcatSource of slices. Other segment types (raid, mirror, thin,
// striped over several stripes) and VGs that span PVs outside the image are kUnsupported, named.
// Thread safety: pure over const sources. Errors: kCorrupt naming the structure, kUnsupported,
// kLimitExceeded, and the source's own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "io/byte_source.h"

namespace ig::lvm {

struct Segment {
  std::uint64_t start_extent = 0;
  std::uint64_t extent_count = 0;
  std::string type;  // "striped" (linear when stripe_count is 1), "raid1", "thin", ...
  std::uint32_t stripe_count = 0;
  std::string pv_name;  // "pv0"
  std::uint64_t pv_start_extent = 0;
};

struct LogicalVolume {
  std::string name;
  std::vector<Segment> segments;  // sorted by start_extent
};

struct VgPv {
  std::string name;  // "pv0"
  std::string uuid;
  std::uint64_t pe_start_sectors = 0;
  std::uint64_t pe_count = 0;
  bool is_this_pv = false;
};

struct VolumeGroup {
  std::string name;
  std::uint64_t extent_size_sectors = 0;
  std::vector<VgPv> pvs;
  std::vector<LogicalVolume> lvs;
};

struct PhysicalVolume {
  std::string uuid;                                                     // 32 characters, no dashes
  std::vector<std::pair<std::uint64_t, std::uint64_t>> metadata_areas;  // (offset, size) in bytes
  std::string metadata_text;
  VolumeGroup vg;
};

// The volume group a metadata text describes (the bounded parser behind read_pv). `pv_uuid`
// (32 characters, no dashes) marks which PV of the VG is the one being read. Errors: kCorrupt
// naming the syntax error and its byte offset, or the missing or impossible field.
Result<VolumeGroup> parse_metadata(std::string_view text, std::string_view pv_uuid);

// Nothing when `pv` carries no LVM2 label.
Result<std::optional<PhysicalVolume>> read_pv(const ByteSource& pv);

Result<SourcePtr> open_lv(const SourcePtr& pv_device, const PhysicalVolume& pv, const LogicalVolume& lv);

}  // namespace ig::lvm
