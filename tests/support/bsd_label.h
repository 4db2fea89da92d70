// A BSD disklabel as FreeBSD's bsdlabel(8) writes it, for the tests: no Linux tool writes one.
// Shared by the volumes tests (the label itself) and the inspector's (a FreeBSD MBR disk).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/bytes.h"

namespace ig::test {

inline constexpr std::uint64_t kSliceLba = 2048;
inline constexpr std::uint64_t kSliceSectors = 40960;  // 20 MiB
inline constexpr std::uint32_t kDiskMagic = 0x82564557;

struct LabelPartition {
  std::uint32_t size = 0;    // p_size, sectors
  std::uint32_t offset = 0;  // p_offset, sectors
  std::uint8_t fstype = 0;   // p_fstype
};

// struct disklabel, little-endian: d_magic 0, d_typename 8 ("amnesiac", as bsdlabel writes),
// d_secsize 40, d_nsectors 44, d_ntracks 48, d_ncylinders 52, d_secpercyl 56, d_secperunit 60,
// d_rpm 72, d_interleave 74, d_magic2 132, d_checksum 136, d_npartitions 138, d_bbsize 140,
// d_sbsize 144, d_partitions 148 (p_size, p_offset, p_fsize, p_fstype, p_frag, p_cpg).
inline std::vector<std::byte> disklabel(const std::vector<LabelPartition>& parts, std::uint16_t npartitions,
                                        std::uint32_t secsize = 512) {
  std::vector<std::byte> s(512);
  store_le_ptr<std::uint32_t>(s.data() + 0, kDiskMagic);
  for (std::size_t i = 0; i < 8; ++i) s[8 + i] = static_cast<std::byte>("amnesiac"[i]);
  store_le_ptr<std::uint32_t>(s.data() + 40, secsize);
  store_le_ptr<std::uint32_t>(s.data() + 44, 63);
  store_le_ptr<std::uint32_t>(s.data() + 48, 255);
  store_le_ptr<std::uint32_t>(s.data() + 56, 63 * 255);
  store_le_ptr<std::uint32_t>(s.data() + 60, kSliceSectors);
  store_le_ptr<std::uint16_t>(s.data() + 72, 3600);
  store_le_ptr<std::uint16_t>(s.data() + 74, 1);
  store_le_ptr<std::uint32_t>(s.data() + 132, kDiskMagic);
  store_le_ptr<std::uint16_t>(s.data() + 138, npartitions);
  store_le_ptr<std::uint32_t>(s.data() + 140, 8192);
  for (std::size_t i = 0; i < parts.size() && 148 + (i + 1) * 16 <= s.size(); ++i) {
    std::byte* p = s.data() + 148 + i * 16;
    store_le_ptr<std::uint32_t>(p, parts[i].size);
    store_le_ptr<std::uint32_t>(p + 4, parts[i].offset);
    if (parts[i].fstype == 7) {
      store_le_ptr<std::uint32_t>(p + 8, 4096);  // p_fsize
      p[13] = std::byte{8};                      // p_frag
    }
    p[12] = static_cast<std::byte>(parts[i].fstype);
  }
  // d_checksum: the XOR of all 16-bit words up to the end of d_partitions[d_npartitions] is zero.
  std::uint16_t sum = 0;
  const std::size_t end = std::min<std::size_t>(148 + std::size_t{npartitions} * 16, 512);
  for (std::size_t i = 0; i < end; i += 2) sum ^= load_le_ptr<std::uint16_t>(s.data() + i);
  store_le_ptr<std::uint16_t>(s.data() + 136, sum);
  return s;
}

// The standard layout in a slice of kSliceSectors: 'a' (4.2BSD) from sector 16 (after the boot
// blocks), 12 MiB; 'b' (swap) after it to the end; 'c' the whole slice. `base` is 0 for offsets
// from the slice, the slice's first LBA for offsets from the disk (older labels).
inline std::vector<LabelPartition> standard_label(std::uint32_t base) {
  return {{12 * 2048, base + 16, 7}, {8 * 2048 - 16, base + 16 + 12 * 2048, 1}, {kSliceSectors, base, 0}};
}

}  // namespace ig::test
