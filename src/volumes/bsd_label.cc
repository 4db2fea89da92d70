// BSD disklabel reader. Layout of struct disklabel (FreeBSD sys/sys/disklabel.h), little-endian:
//   0 d_magic (0x82564557)   4 d_type, d_subtype   8 d_typename[16]   24 d_packname[16]
//   40 d_secsize   44..131 geometry, flags, drive data, spares   132 d_magic2   136 d_checksum
//   138 d_npartitions   140 d_bbsize   144 d_sbsize   148 d_partitions[], 16 bytes each:
//   p_size, p_offset (sectors), p_fsize, p_fstype (u8), p_frag (u8), p_cpg (u16).
// d_checksum makes the XOR of every 16-bit word from d_magic to the end of d_partitions[
// d_npartitions] zero (FreeBSD's dkcksum()).
#include "volumes/bsd_label.h"

#include <array>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"

namespace ig {
namespace {

constexpr std::uint64_t kSector = 512;
constexpr std::uint32_t kDiskMagic = 0x82564557;
constexpr std::size_t kDSecsize = 40;
constexpr std::size_t kDMagic2 = 132;
constexpr std::size_t kDNpartitions = 138;
constexpr std::size_t kDPartitions = 148;
constexpr std::size_t kPartitionSize = 16;
constexpr std::uint32_t kRawPart = 2;  // 'c'

}  // namespace

std::string bsd_fstype_name(std::uint8_t fstype) {
  switch (fstype) {
    case 0: return "unused";
    case 1: return "swap";
    case 7: return "4.2BSD";
    case 8: return "MSDOS";
    case 12: return "ISO9660";
    case 13: return "boot";
    case 17: return "ext2fs";
    case 18: return "NTFS";
    case 19: return "vinum";
    case 27: return "ZFS";
    default: return fmt::format("fstype {}", fstype);
  }
}

Result<std::optional<std::vector<BsdPartition>>> read_bsd_label(const ByteSource& disk, std::uint64_t slice_first_byte,
                                                                std::uint64_t slice_length_bytes,
                                                                const BsdLabelLimits& limits) {
  const std::uint64_t at = IG_TRY(checked_add(slice_first_byte, kSector, "bsd disklabel"));
  if (slice_length_bytes < 2 * kSector || !range_within(at, kSector, disk.size())) return std::nullopt;
  std::array<std::byte, kSector> s{};
  IG_TRY(disk.read_at(at, s));
  if (load_le<std::uint32_t, 0>(s) != kDiskMagic) return std::nullopt;
  if (load_le<std::uint32_t, kDMagic2>(s) != kDiskMagic)
    return Error::corrupt(
        fmt::format("bsd disklabel at byte {}: d_magic2 {:#010x}", at, load_le<std::uint32_t, kDMagic2>(s)));
  const std::uint32_t secsize = load_le<std::uint32_t, kDSecsize>(s);
  if (secsize != kSector)
    return Error::unsupported(fmt::format("bsd disklabel at byte {}: d_secsize {} (512 is read)", at, secsize));
  const std::uint16_t npartitions = load_le<std::uint16_t, kDNpartitions>(s);
  constexpr std::size_t kFit = (kSector - kDPartitions) / kPartitionSize;
  if (npartitions > kFit) {
    return Error::corrupt(fmt::format("bsd disklabel at byte {}: d_npartitions {} do not fit its sector (at most {})",
                                      at, npartitions, kFit));
  }
  if (npartitions > limits.max_partitions) {
    return Error::limit_exceeded(
        fmt::format("bsd disklabel at byte {}: d_npartitions {} exceeds {}", at, npartitions, limits.max_partitions));
  }
  std::uint16_t sum = 0;
  for (std::size_t i = 0; i < kDPartitions + std::size_t{npartitions} * kPartitionSize; i += 2) {
    sum ^= load_le_ptr<std::uint16_t>(s.data() + i);
  }
  if (checksum_refuses(sum != 0))
    return Error::corrupt(fmt::format("bsd disklabel at byte {}: d_checksum does not hold ({:#06x})", at, sum));

  auto entry = [&](std::size_t i) { return s.data() + kDPartitions + i * kPartitionSize; };
  const std::uint64_t raw_offset = npartitions > kRawPart ? load_le_ptr<std::uint32_t>(entry(kRawPart) + 4) : 0;
  const std::uint64_t slice_sectors = slice_length_bytes / kSector;
  std::vector<BsdPartition> out;
  for (std::uint32_t i = 0; i < npartitions; ++i) {
    if (i == kRawPart) continue;
    const std::uint64_t size = load_le_ptr<std::uint32_t>(entry(i));
    const std::uint64_t offset = load_le_ptr<std::uint32_t>(entry(i) + 4);
    const auto fstype = std::to_integer<std::uint8_t>(entry(i)[12]);
    if (size == 0) continue;
    const char letter = static_cast<char>('a' + i);
    if (offset < raw_offset || offset - raw_offset > slice_sectors || size > slice_sectors - (offset - raw_offset)) {
      return Error::corrupt(fmt::format(
          "bsd disklabel at byte {}: partition '{}' (p_offset {}, p_size {}, raw offset {}) lies outside the slice "
          "of {} sectors",
          at, letter, offset, size, raw_offset, slice_sectors));
    }
    BsdPartition p;
    p.letter = letter;
    p.offset_bytes = (offset - raw_offset) * kSector;
    p.first_byte = slice_first_byte + p.offset_bytes;  // inside the slice: no overflow past its end
    p.length_bytes = size * kSector;
    p.fstype = fstype;
    p.type_name = bsd_fstype_name(fstype);
    p.beyond_end = !range_within(p.first_byte, p.length_bytes, disk.size());
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace ig
