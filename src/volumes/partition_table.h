// Partition tables: MBR (with extended / logical partitions) and GPT, read from any ByteSource.
//
// read_partition_table(disk) reports what the disk's first sectors say: no table, an MBR (with a
// protective or hybrid entry for GPT recognised), or a GPT (header and entry-array CRCs checked,
// the backup header compared). It does not judge: a partition that reaches past the end of the
// disk, or a GPT whose primary header is damaged but whose backup is intact, is *reported*
// (`beyond_end`, `notes`) so that the rules layer can name the cloud's error (a truncated upload
// is PartitionNotPresent). Only structures that cannot be read at all are errors.
//
// Bounds: the EBR chain has a hop limit and loop detection; the GPT entry array is capped at
// 1 MiB; every LBA is checked against the disk before use.
// Thread safety: pure over a const ByteSource. Errors: kCorrupt for unreadable structures (an EBR
// chain that loops or runs past the disk, a GPT entry array out of bounds), kLimitExceeded for
// the caps, the source's own read errors. A BSD disklabel that cannot be believed is a note, not an
// error: the slice is still listed, without partitions (read_bsd_label() says why).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/byte_source.h"
#include "volumes/bsd_label.h"

namespace ig {

enum class PartitionScheme { kNone, kMbr, kGpt };
std::string_view scheme_name(PartitionScheme s);  // "none", "mbr", "gpt"

struct Guid {
  std::array<std::byte, 16> bytes{};  // as stored on disk (mixed-endian)
  bool is_zero() const;
  std::string to_string() const;  // canonical upper-case form
  bool operator==(const Guid&) const = default;
};

struct Partition {
  std::uint32_t number = 0;  // MBR: 1-4 primary, 5+ logical; GPT: entry index + 1
  std::uint64_t first_byte = 0;
  std::uint64_t length_bytes = 0;
  std::uint8_t mbr_type = 0;     // MBR partition type byte (0 for GPT entries)
  std::optional<Guid> gpt_type;  // GPT partition type GUID
  std::string name;              // GPT partition name (ASCII subset), or ""
  bool bootable = false;         // MBR status 0x80
  bool logical = false;          // inside an MBR extended partition
  bool beyond_end = false;       // reaches past the end of the disk
  std::string type_name;         // "Linux", "Linux swap", "NTFS/exFAT", "EFI system", ...
  // An MBR FreeBSD slice (type 0xA5): the partitions of its BSD disklabel, 'c' left out. They are
  // volumes in their own right, named "<number><letter>" ("1a"); see bsd_partition_name().
  std::vector<BsdPartition> bsd_partitions;
};

std::string bsd_partition_name(const Partition& slice, const BsdPartition& p);  // "1a"

struct PartitionTable {
  PartitionScheme scheme = PartitionScheme::kNone;
  std::uint32_t sector_size = 512;
  bool protective_mbr = false;  // GPT disk: an MBR whose only entry is type 0xEE
  bool hybrid_mbr = false;      // GPT disk whose MBR also lists real partitions
  std::optional<Guid> disk_guid;
  std::uint32_t mbr_disk_signature = 0;
  std::vector<Partition> partitions;
  std::vector<std::string> notes;  // facts worth telling (backup GPT used, overlap, ...)
};

struct PartitionLimits {
  std::uint32_t max_logical_partitions = 128;  // EBR chain hops
  std::uint64_t max_gpt_entry_array_bytes = 1 << 20;
  BsdLabelLimits bsd;
};

Result<PartitionTable> read_partition_table(const ByteSource& disk, const PartitionLimits& limits = {});

// The name of an MBR type byte or a GPT type GUID ("Linux", "Microsoft basic data", ...).
std::string mbr_type_name(std::uint8_t type);
std::string gpt_type_name(const Guid& type);

}  // namespace ig
