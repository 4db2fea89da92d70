// inflate_into: libdeflate answers for complete streams that fit; zlib decides every other case.
// The streams are made by zlib's deflate, as qemu (raw deflate, 4 KiB window) and VMware (zlib
// wrapper) make them; each case is one qemu or VMDK relies on.
#include <zlib.h>

#include <random>

#include "formats/internal.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

// Half text, half noise: compressible, with matches reaching back across the window.
std::vector<std::byte> sample(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = (i / 512) % 2 == 0 ? std::byte{static_cast<std::uint8_t>("imagegate "[i % 10])}
                                : std::byte{static_cast<std::uint8_t>(rng())};
  }
  return out;
}

std::vector<std::byte> deflate_stream(std::span<const std::byte> in, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<std::byte> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(Inflate, RawDeflateWithSectorPaddingAfterTheStream) {
  // qemu's descriptor counts whole sectors: bytes after the stream's end are not part of it.
  const auto data = sample(65536, 1);
  auto stream = deflate_stream(data, -12);
  stream.resize(stream.size() + 500, std::byte{0xa5});
  std::vector<std::byte> out(65536);
  auto n = inflate_into(stream, out, false);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, out.size());
  EXPECT_EQ(out, data);
}

TEST(Inflate, ZlibWrapperAsVmdkGrains) {
  for (unsigned seed = 0; seed < 16; ++seed) {
    const auto data = sample(65536 - seed * 1000, seed);
    const auto stream = deflate_stream(data, 15);
    std::vector<std::byte> out(65536);
    auto n = inflate_into(stream, out, true);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
  }
}

TEST(Inflate, StreamLargerThanTheClusterFillsItAndStops) {
  // zlib's Z_BUF_ERROR with a full output: qemu accepts the cluster, and so do we.
  const auto data = sample(3 * 4096, 7);
  const auto stream = deflate_stream(data, -15);
  std::vector<std::byte> out(4096);
  auto n = inflate_into(stream, out, false);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, out.size());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin()));
}

TEST(Inflate, TruncatedStreamReportsWhatItProduced) {
  const auto data = sample(65536, 3);
  auto stream = deflate_stream(data, -12);
  stream.resize(stream.size() / 2);
  std::vector<std::byte> out(65536);
  auto n = inflate_into(stream, out, false);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_LT(*n, out.size());  // the callers turn this into "inflates to N bytes, not M"
}

TEST(Inflate, CorruptStreamsAreNamed) {
  std::vector<std::byte> out(4096);
  const std::vector<std::byte> reserved_block{std::byte{0x07}, std::byte{0}, std::byte{0}};  // BTYPE 11
  auto bad = inflate_into(reserved_block, out, false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorrupt);
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("deflate:"));

  // A zlib stream whose Adler-32 does not match its data.
  const auto data = sample(4096, 5);
  auto stream = deflate_stream(data, 15);
  stream.back() ^= std::byte{1};
  auto sum = inflate_into(stream, out, true);
  ASSERT_FALSE(sum);
  EXPECT_EQ(sum.error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace ig::test
