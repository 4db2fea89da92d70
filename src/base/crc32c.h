// CRC-32C (Castagnoli), as ext4 and XFS use it for metadata checksums.
//
// crc32c_update(crc, bytes) continues a raw CRC (no final inversion), which is the form the Linux
// kernel's crc32c() and ext4's checksums use: ext4 starts from ~0 and stores the raw value; XFS
// stores the inverted one. Table-driven, no state. Thread safety: pure.
#pragma once

#include <cstdint>
#include <span>

namespace ig {

std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> bytes);

}  // namespace ig
