#include "base/bytes.h"

#include <gtest/gtest.h>

#include "base/checked.h"
#include "support/test_support.h"

namespace ig {
namespace {

using test::HasError;

TEST(Bytes, LoadsNameTheirByteOrder) {
  const std::array<std::byte, 8> b{std::byte{0x01}, std::byte{0x02}, std::byte{0x03}, std::byte{0x04},
                                   std::byte{0x05}, std::byte{0x06}, std::byte{0x07}, std::byte{0x08}};
  EXPECT_EQ((load_be<std::uint32_t, 0>(b)), 0x01020304u);
  EXPECT_EQ((load_le<std::uint32_t, 0>(b)), 0x04030201u);
  EXPECT_EQ((load_be<std::uint16_t, 6>(b)), 0x0708u);
  EXPECT_EQ((load_be<std::uint64_t, 0>(b)), 0x0102030405060708ull);
  EXPECT_EQ((load_le<std::uint64_t, 0>(b)), 0x0807060504030201ull);
  std::array<std::byte, 8> out{};
  store_be<std::uint64_t, 0>(out, 0x0102030405060708ull);
  EXPECT_EQ(out, b);
}

TEST(Bytes, ReaderFailsPastTheEndWithKCorrupt) {
  const std::vector<std::byte> data(6, std::byte{0xff});
  ByteReader r(data, "test table");
  EXPECT_EQ(*r.le32(), 0xffffffffu);
  EXPECT_THAT(r.le32(), HasError(ErrorCode::kCorrupt, "test table: 4 bytes needed at offset 4, only 2 left"));
  EXPECT_EQ(*r.be16(), 0xffffu);
  EXPECT_THAT(r.skip(1), HasError(ErrorCode::kCorrupt, "test table"));
  EXPECT_THAT(r.seek(7), HasError(ErrorCode::kCorrupt, "offset 7 past the end"));
}

TEST(Bytes, AllZero) {
  std::vector<std::byte> z(1000);
  EXPECT_TRUE(all_zero(z));
  z[999] = std::byte{1};
  EXPECT_FALSE(all_zero(z));
  z[999] = std::byte{0};
  z[3] = std::byte{1};
  EXPECT_FALSE(all_zero(z));
}

TEST(Checked, OverflowIsCorruptNotWrapped) {
  EXPECT_EQ(*checked_add(1, 2, "x"), 3u);
  EXPECT_THAT(checked_add(UINT64_MAX, 1, "l1 end"), HasError(ErrorCode::kCorrupt, "l1 end"));
  EXPECT_THAT(checked_mul(UINT64_MAX / 2, 3, "bat bytes"), HasError(ErrorCode::kCorrupt, "overflows"));
  EXPECT_TRUE(range_within(10, 5, 15));
  EXPECT_FALSE(range_within(10, 6, 15));
  EXPECT_FALSE(range_within(UINT64_MAX, 2, UINT64_MAX));
  EXPECT_FALSE(range_within(16, 0, 15));
  EXPECT_EQ(align_up(513, 512), 1024u);
  EXPECT_EQ(div_round_up(1025, 512), 3u);
}

}  // namespace
}  // namespace ig
