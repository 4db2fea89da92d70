// CRC-32C against the published check values (RFC 3720, appendix B.4, and the CRC catalogue's
// "123456789"), and the instruction's form against the table's at every length and alignment.
#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace ig {
namespace {

// The iSCSI form: start from ~0, invert at the end.
std::uint32_t iscsi(std::span<const std::byte> bytes) {
  return ~crc32c_update(~0u, bytes);
}

TEST(Crc32c, MatchesPublishedCheckValues) {
  const std::string_view check = "123456789";
  EXPECT_EQ(iscsi(std::as_bytes(std::span(check))), 0xE3069283u);
  std::vector<std::byte> v(32, std::byte{0});
  EXPECT_EQ(iscsi(v), 0x8A9136AAu);
  std::fill(v.begin(), v.end(), std::byte{0xFF});
  EXPECT_EQ(iscsi(v), 0x62A8AB43u);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(i);
  EXPECT_EQ(iscsi(v), 0x46DD794Eu);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(31 - i);
  EXPECT_EQ(iscsi(v), 0x113FDB5Cu);
}

TEST(Crc32c, InstructionAndTableAgreeAtEveryLengthAndAlignment) {
  std::vector<std::byte> data(300);
  std::uint32_t x = 2463534242u;  // xorshift32: bytes with no pattern the CRC could hide
  for (std::byte& b : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x);
  }
  for (std::size_t start = 0; start < 8; ++start) {
    for (std::size_t len = 0; start + len <= 200; ++len) {
      const auto s = std::span<const std::byte>(data).subspan(start, len);
      ASSERT_EQ(crc32c_update(0x12345678u, s), crc32c_update_table(0x12345678u, s)) << start << "+" << len;
    }
  }
  // Continuing a CRC over two pieces is the CRC of the whole.
  const auto all = std::span<const std::byte>(data);
  EXPECT_EQ(crc32c_update(crc32c_update(~0u, all.first(77)), all.subspan(77)), crc32c_update(~0u, all));
}

}  // namespace
}  // namespace ig
