// CRC-32C (Castagnoli), as ext4 and XFS use it for metadata checksums.
//
// crc32c_update(crc, bytes) continues a raw CRC (no final inversion), which is the form the Linux
// kernel's crc32c() and ext4's checksums use: ext4 starts from ~0 and stores the raw value; XFS
// stores the inverted one. SSE4.2's CRC32 instruction where the CPU has it (8 bytes a step, about
// 20 times the table), else a table. No state. Thread safety: pure.
#pragma once

#include <cstdint>
#include <span>

namespace ig {

std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> bytes);

// The table-driven form alone, whatever the CPU: what the tests hold the instruction's form to.
std::uint32_t crc32c_update_table(std::uint32_t crc, std::span<const std::byte> bytes);

}  // namespace ig
