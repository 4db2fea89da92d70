// MBR and GPT readers. Layouts: the MBR as in every PC BIOS since DOS 2 (four 16-byte entries
// at 446, signature 0x55AA at 510; extended partitions chained through EBRs whose second entry
// points at the next EBR relative to the extended partition's start), and UEFI 2.10 §5.3 for
// GPT. See docs/formats/partitions.md. Everything is little-endian.
#include "volumes/partition_table.h"

#include <zlib.h>

#include <algorithm>
#include <set>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"

namespace ig {
namespace {

constexpr std::uint64_t kSector = 512;
constexpr std::size_t kMbrEntries = 446;
constexpr std::size_t kMbrEntrySize = 16;
constexpr std::size_t kMbrSignature = 510;
constexpr std::size_t kMbrDiskSignature = 440;
constexpr std::uint8_t kTypeGptProtective = 0xee;
constexpr std::uint8_t kTypeFreeBsd = 0xa5;

struct MbrEntry {
  std::uint8_t status = 0;
  std::uint8_t type = 0;
  std::uint32_t first_lba = 0;
  std::uint32_t sectors = 0;
};

MbrEntry mbr_entry(const std::array<std::byte, 512>& s, std::size_t i) {
  const std::byte* p = s.data() + kMbrEntries + i * kMbrEntrySize;
  MbrEntry e;
  e.status = std::to_integer<std::uint8_t>(p[0]);
  e.type = std::to_integer<std::uint8_t>(p[4]);
  e.first_lba = load_le_ptr<std::uint32_t>(p + 8);
  e.sectors = load_le_ptr<std::uint32_t>(p + 12);
  return e;
}

bool has_signature(const std::array<std::byte, 512>& s) {
  return s[kMbrSignature] == std::byte{0x55} && s[kMbrSignature + 1] == std::byte{0xaa};
}

bool is_extended(std::uint8_t type) {
  return type == 0x05 || type == 0x0f || type == 0x85;
}

Partition make_partition(std::uint32_t number, std::uint64_t first_lba, std::uint64_t sectors,
                         std::uint64_t disk_size) {
  Partition p;
  p.number = number;
  p.first_byte = first_lba * kSector;
  p.length_bytes = sectors * kSector;
  p.beyond_end = !range_within(p.first_byte, p.length_bytes, disk_size);
  return p;
}

Result<std::array<std::byte, 512>> read_sector(const ByteSource& disk, std::uint64_t lba, std::string_view what) {
  std::array<std::byte, 512> s{};
  if (lba > disk.size() / kSector || !range_within(lba * kSector, kSector, disk.size())) {
    return Error::corrupt(fmt::format("{} at LBA {} lies past the end of the disk ({} bytes): truncated upload?", what,
                                      lba, disk.size()));
  }
  IG_TRY(disk.read_at(lba * kSector, s));
  return s;
}

// Walks the EBR chain of the extended partition starting at `ext_lba`.
Result<void> read_logical(const ByteSource& disk, std::uint64_t ext_lba, const PartitionLimits& limits,
                          PartitionTable& table) {
  std::set<std::uint64_t> visited;
  std::uint64_t ebr = ext_lba;
  std::uint32_t number = 5;
  for (std::uint32_t hop = 0;; ++hop) {
    if (hop >= limits.max_logical_partitions) {
      return Error::limit_exceeded(
          fmt::format("mbr: more than {} logical partitions in the EBR chain", limits.max_logical_partitions));
    }
    if (!visited.insert(ebr).second) {
      return Error::corrupt(fmt::format("mbr: the EBR chain loops back to LBA {}", ebr));
    }
    const auto s = IG_TRY(read_sector(disk, ebr, "mbr: extended boot record"));
    if (!has_signature(s)) return Error::corrupt(fmt::format("mbr: EBR at LBA {} has no 0x55AA signature", ebr));
    const MbrEntry logical = mbr_entry(s, 0);
    const MbrEntry next = mbr_entry(s, 1);
    if (logical.type != 0 && logical.sectors != 0) {
      Partition p = make_partition(number++, ebr + logical.first_lba, logical.sectors, disk.size());
      p.mbr_type = logical.type;
      p.bootable = logical.status == 0x80;
      p.logical = true;
      p.type_name = mbr_type_name(logical.type);
      table.partitions.push_back(std::move(p));
    }
    if (next.sectors == 0 || !is_extended(next.type)) return ok();
    ebr = ext_lba + next.first_lba;
  }
}

// ---- GPT ----

constexpr std::string_view kGptSignature = "EFI PART";
constexpr std::uint32_t kGptMinHeaderSize = 92;

struct GptHeader {
  std::uint64_t my_lba = 0;
  std::uint64_t alternate_lba = 0;
  std::uint64_t first_usable_lba = 0;
  std::uint64_t last_usable_lba = 0;
  Guid disk_guid;
  std::uint64_t partition_entry_lba = 0;
  std::uint32_t num_entries = 0;
  std::uint32_t entry_size = 0;
  std::uint32_t entries_crc32 = 0;
};

std::uint32_t crc32_of(std::span<const std::byte> bytes) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Parses and checks the GPT header at `lba`; the error says what is wrong with it.
Result<GptHeader> read_gpt_header(const ByteSource& disk, std::uint64_t lba) {
  auto s = IG_TRY(read_sector(disk, lba, "gpt header"));
  if (as_chars(s).substr(0, 8) != kGptSignature) {
    return Error::corrupt(fmt::format("gpt header at LBA {}: no 'EFI PART' signature", lba));
  }
  const std::uint32_t header_size = load_le<std::uint32_t, 12>(s);
  if (header_size < kGptMinHeaderSize || header_size > kSector) {
    return Error::corrupt(fmt::format("gpt header at LBA {}: header_size {} not in [92, 512]", lba, header_size));
  }
  const std::uint32_t stored_crc = load_le<std::uint32_t, 16>(s);
  store_le<std::uint32_t, 16>(s, 0);
  const std::uint32_t crc = crc32_of(std::span<const std::byte>(s).first(header_size));
  if (checksum_refuses(crc != stored_crc)) {
    return Error::corrupt(fmt::format("gpt header at LBA {}: CRC32 {:#010x}, computed {:#010x}", lba, stored_crc, crc));
  }
  GptHeader h;
  h.my_lba = load_le<std::uint64_t, 24>(s);
  h.alternate_lba = load_le<std::uint64_t, 32>(s);
  h.first_usable_lba = load_le<std::uint64_t, 40>(s);
  h.last_usable_lba = load_le<std::uint64_t, 48>(s);
  std::copy_n(s.begin() + 56, 16, h.disk_guid.bytes.begin());
  h.partition_entry_lba = load_le<std::uint64_t, 72>(s);
  h.num_entries = load_le<std::uint32_t, 80>(s);
  h.entry_size = load_le<std::uint32_t, 84>(s);
  h.entries_crc32 = load_le<std::uint32_t, 88>(s);
  if (h.my_lba != lba) {
    return Error::corrupt(fmt::format("gpt header at LBA {}: my_lba says {}", lba, h.my_lba));
  }
  if (h.entry_size < 128 || h.entry_size % 128 != 0 || h.entry_size > 4096) {
    return Error::corrupt(
        fmt::format("gpt header at LBA {}: entry size {} (a multiple of 128, at most 4096)", lba, h.entry_size));
  }
  if (h.first_usable_lba > h.last_usable_lba + 1) {
    return Error::corrupt(fmt::format("gpt header at LBA {}: first_usable_lba {} > last_usable_lba {}", lba,
                                      h.first_usable_lba, h.last_usable_lba));
  }
  return h;
}

Result<std::vector<Partition>> read_gpt_entries(const ByteSource& disk, const GptHeader& h,
                                                const PartitionLimits& limits) {
  const std::uint64_t bytes = std::uint64_t{h.num_entries} * h.entry_size;
  if (bytes > limits.max_gpt_entry_array_bytes) {
    return Error::limit_exceeded(fmt::format("gpt: entry array of {} x {} bytes exceeds the limit {}", h.num_entries,
                                             h.entry_size, limits.max_gpt_entry_array_bytes));
  }
  if (h.partition_entry_lba > disk.size() / kSector ||
      !range_within(h.partition_entry_lba * kSector, bytes, disk.size())) {
    return Error::corrupt(fmt::format("gpt: entry array at LBA {} ({} bytes) lies past the end of the disk",
                                      h.partition_entry_lba, bytes));
  }
  std::vector<std::byte> raw =
      IG_TRY(read_vector(disk, h.partition_entry_lba * kSector, static_cast<std::size_t>(bytes)));
  const std::uint32_t crc = crc32_of(raw);
  if (checksum_refuses(crc != h.entries_crc32)) {
    return Error::corrupt(fmt::format("gpt: entry array CRC32 {:#010x}, computed {:#010x}", h.entries_crc32, crc));
  }
  std::vector<Partition> out;
  for (std::uint32_t i = 0; i < h.num_entries; ++i) {
    const std::byte* e = raw.data() + std::uint64_t{i} * h.entry_size;
    Guid type;
    std::copy_n(e, 16, type.bytes.begin());
    if (type.is_zero()) continue;
    const std::uint64_t first = load_le_ptr<std::uint64_t>(e + 32);
    const std::uint64_t last = load_le_ptr<std::uint64_t>(e + 40);
    if (last < first) {
      return Error::corrupt(fmt::format("gpt: entry {}: last_lba {} < first_lba {}", i + 1, last, first));
    }
    // last - first, not + 1: first 0 and last 2^64 - 1 make that sum wrap to 0 sectors.
    if (first > UINT64_MAX / kSector || last - first >= UINT64_MAX / kSector) {
      return Error::corrupt(fmt::format("gpt: entry {}: LBAs {}..{} overflow", i + 1, first, last));
    }
    Partition p = make_partition(i + 1, first, last - first + 1, disk.size());
    p.gpt_type = type;
    p.type_name = gpt_type_name(type);
    for (std::size_t c = 0; c < 36; ++c) {  // name: 36 UTF-16LE code units
      const std::uint16_t u = load_le_ptr<std::uint16_t>(e + 56 + c * 2);
      if (u == 0) break;
      p.name.push_back(u >= 0x20 && u < 0x7f ? static_cast<char>(u) : '?');
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<bool> read_gpt(const ByteSource& disk, const PartitionLimits& limits, PartitionTable& table) {
  const std::uint64_t last_lba = disk.size() / kSector - 1;
  auto primary = read_gpt_header(disk, 1);
  std::optional<GptHeader> used;
  if (primary) {
    used = *primary;
    auto backup = read_gpt_header(disk, primary->alternate_lba);
    if (!backup) {
      table.notes.push_back(
          fmt::format("the backup GPT header is missing or damaged ({}): truncated upload?", backup.error().message));
    }
  } else {
    auto backup = read_gpt_header(disk, last_lba);
    if (!backup) {
      if (as_chars(IG_TRY(read_sector(disk, 1, "gpt header"))).substr(0, 8) != kGptSignature) return false;
      return primary.error();  // a GPT signature is there, but neither header is intact
    }
    used = *backup;
    table.notes.push_back(
        fmt::format("the primary GPT header is damaged ({}); the backup header was used", primary.error().message));
  }
  table.scheme = PartitionScheme::kGpt;
  table.disk_guid = used->disk_guid;
  table.partitions = IG_TRY(read_gpt_entries(disk, *used, limits));
  return true;
}

void note_overlaps(PartitionTable& t) {
  std::vector<const Partition*> ps;
  for (const auto& p : t.partitions) ps.push_back(&p);
  std::sort(ps.begin(), ps.end(), [](auto* a, auto* b) { return a->first_byte < b->first_byte; });
  for (std::size_t i = 1; i < ps.size(); ++i) {
    if (ps[i - 1]->first_byte + ps[i - 1]->length_bytes > ps[i]->first_byte) {
      t.notes.push_back(fmt::format("partitions {} and {} overlap", ps[i - 1]->number, ps[i]->number));
    }
  }
}

}  // namespace

std::string_view scheme_name(PartitionScheme s) {
  switch (s) {
    case PartitionScheme::kNone: return "none";
    case PartitionScheme::kMbr: return "mbr";
    case PartitionScheme::kGpt: return "gpt";
  }
  return "none";
}

bool Guid::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

std::string Guid::to_string() const {
  const std::byte* b = bytes.data();
  std::string tail;
  for (std::size_t i = 10; i < 16; ++i) tail += fmt::format("{:02X}", std::to_integer<unsigned>(b[i]));
  return fmt::format("{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{}", load_le_ptr<std::uint32_t>(b),
                     load_le_ptr<std::uint16_t>(b + 4), load_le_ptr<std::uint16_t>(b + 6),
                     std::to_integer<unsigned>(b[8]), std::to_integer<unsigned>(b[9]), tail);
}

std::string bsd_partition_name(const Partition& slice, const BsdPartition& p) {
  return fmt::format("{}{}", slice.number, p.letter);
}

std::string mbr_type_name(std::uint8_t type) {
  switch (type) {
    case 0x01:
    case 0x04:
    case 0x06:
    case 0x0e: return "FAT";
    case 0x05:
    case 0x0f:
    case 0x85: return "Extended";
    case 0x07: return "NTFS/exFAT";
    case 0x0b:
    case 0x0c: return "FAT32";
    case 0x42: return "Windows dynamic disk (LDM)";
    case 0x82: return "Linux swap";
    case 0x83: return "Linux";
    case 0x8e: return "Linux LVM";
    case 0xa5: return "FreeBSD";
    case 0xee: return "GPT protective";
    case 0xef: return "EFI system";
    case 0xfd: return "Linux RAID";
    default: return fmt::format("type {:#04x}", type);
  }
}

std::string gpt_type_name(const Guid& type) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"},
      {"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "Linux root (x86-64)"},
      {"44479540-F297-41B2-9AF7-D131D5F0458A", "Linux root (x86)"},
      {"B921B045-1DF0-41C3-AF44-4C6F280D3FAE", "Linux root (ARM64)"},
      {"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"},
      {"E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM"},
      {"BC13C2FF-59E6-4262-A352-B275FD6F7172", "Linux extended boot"},
      {"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI system"},
      {"21686148-6449-6E6F-744E-656564454649", "BIOS boot"},
      {"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data"},
      {"E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved"},
      {"DE94BBA4-06D1-4D40-A16A-BFD50179D6AC", "Windows recovery"},
      {"5808C8AA-7E8F-42E0-85D2-E1E90434CFB3", "Windows LDM metadata"},
      {"AF9B60A0-1431-4F62-BC68-3311714A69AD", "Windows LDM data"},
      {"516E7CB4-6ECF-11D6-8FF8-00022D09712B", "FreeBSD data"},
      {"83BD6B9D-7F41-11DC-BE0B-001560B84F0F", "FreeBSD boot"},
      {"516E7CB5-6ECF-11D6-8FF8-00022D09712B", "FreeBSD swap"},
      {"516E7CB6-6ECF-11D6-8FF8-00022D09712B", "FreeBSD UFS"},
      {"516E7CB8-6ECF-11D6-8FF8-00022D09712B", "FreeBSD Vinum"},
      {"516E7CBA-6ECF-11D6-8FF8-00022D09712B", "FreeBSD ZFS"},
  };
  const std::string s = type.to_string();
  for (const auto& [guid, name] : kNames) {
    if (s == guid) return std::string(name);
  }
  return s;
}

Result<PartitionTable> read_partition_table(const ByteSource& disk, const PartitionLimits& limits) {
  PartitionTable table;
  if (disk.size() < 2 * kSector) {
    table.notes.push_back(fmt::format("the disk has {} bytes: too small for a partition table", disk.size()));
    return table;
  }
  const auto mbr = IG_TRY(read_sector(disk, 0, "mbr"));
  const bool signature = has_signature(mbr);
  std::array<MbrEntry, 4> entries{};
  bool plausible = signature;
  bool protective = false;
  bool others = false;
  for (std::size_t i = 0; i < 4; ++i) {
    entries[i] = mbr_entry(mbr, i);
    if (entries[i].status != 0 && entries[i].status != 0x80) plausible = false;
    if (entries[i].type == kTypeGptProtective) {
      protective = true;
    } else if (entries[i].type != 0 && entries[i].sectors != 0) {
      others = true;
    }
  }

  // GPT first: a protective (or hybrid) MBR points at it, and a GPT without one is still a GPT.
  if (IG_TRY(read_gpt(disk, limits, table))) {
    table.protective_mbr = plausible && protective && !others;
    table.hybrid_mbr = plausible && protective && others;
    if (!plausible || !protective) table.notes.push_back("GPT without a protective MBR");
    note_overlaps(table);
    return table;
  }
  if (protective && plausible) {
    return Error::corrupt("mbr: a GPT protective entry (type 0xEE), but no GPT header at LBA 1 or at the end");
  }
  if (!signature) return table;
  if (!plausible) {
    table.notes.push_back("sector 0 carries 0x55AA but no partition table (a boot sector of a partitionless disk?)");
    return table;
  }

  table.scheme = PartitionScheme::kMbr;
  table.mbr_disk_signature = load_le<std::uint32_t, kMbrDiskSignature>(mbr);
  bool seen_extended = false;
  for (std::uint32_t i = 0; i < 4; ++i) {
    const MbrEntry& e = entries[i];
    if (e.type == 0 || e.sectors == 0) continue;
    if (is_extended(e.type)) {
      if (seen_extended) {
        table.notes.push_back(fmt::format("more than one extended partition; partition {} is ignored", i + 1));
        continue;
      }
      seen_extended = true;
      Partition container = make_partition(i + 1, e.first_lba, e.sectors, disk.size());
      container.mbr_type = e.type;
      container.type_name = mbr_type_name(e.type);
      table.partitions.push_back(container);
      IG_TRY(read_logical(disk, e.first_lba, limits, table));
      continue;
    }
    Partition p = make_partition(i + 1, e.first_lba, e.sectors, disk.size());
    p.mbr_type = e.type;
    p.bootable = e.status == 0x80;
    p.type_name = mbr_type_name(e.type);
    if (e.type == kTypeFreeBsd) {
      auto label = read_bsd_label(disk, p.first_byte, p.length_bytes, limits.bsd);
      if (!label) {
        table.notes.push_back(fmt::format("partition {}: {}", p.number, label.error().message));
      } else if (*label) {
        p.bsd_partitions = std::move(**label);
      }
    }
    table.partitions.push_back(std::move(p));
  }
  std::sort(table.partitions.begin(), table.partitions.end(),
            [](const Partition& a, const Partition& b) { return a.number < b.number; });
  // Logical partitions lie inside their container: only compare the others for overlap.
  PartitionTable check;
  for (const auto& p : table.partitions) {
    if (!is_extended(p.mbr_type)) check.partitions.push_back(p);
  }
  note_overlaps(check);
  table.notes.insert(table.notes.end(), check.notes.begin(), check.notes.end());
  return table;
}

}  // namespace ig
