#include "base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace ig {
namespace {

constexpr std::uint32_t kPolyReflected = 0x82f63b78;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<std::uint32_t, 256> kTable = make_table();

#if defined(__x86_64__)
// SSE4.2's CRC32 instruction is this CRC (Castagnoli, reflected, no inversions), 8 bytes a step.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, std::to_integer<std::uint8_t>(*p));
  return c32;
}

// Set during static initialisation (the CPU model is read first, whichever constructor runs
// first); a caller from another translation unit's initialiser before then gets the table.
const bool kHaveSse42 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

}  // namespace

std::uint32_t crc32c_update_table(std::uint32_t crc, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) crc = kTable[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xffu] ^ (crc >> 8);
  return crc;
}

std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> bytes) {
#if defined(__x86_64__)
  if (kHaveSse42) return crc32c_sse42(crc, bytes);
#endif
  return crc32c_update_table(crc, bytes);
}

}  // namespace ig
