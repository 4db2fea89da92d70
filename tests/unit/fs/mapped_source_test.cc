// MappedSource, the block map every file-system reader hands its files to, with block numbers a
// hostile image can hold: sums and byte offsets near 2^64 must neither wrap nor stall a read.
#include "fs/mapped_source.h"

#include <gtest/gtest.h>

#include "io/sources.h"
#include "support/test_support.h"

namespace ig {
namespace {

using test::HasError;
using test::IsOk;

SourcePtr device_of(std::size_t bytes, std::byte fill) {
  return std::make_shared<MemorySource>(std::vector<std::byte>(bytes, fill), "device");
}

TEST(MappedSource, AHoleBeforeARunAtBlockTwoToTheFiftyTwoReadsAsZeros) {
  // 2^52 blocks of 4 KiB end at byte 2^64: wrapped, that was byte 0, no byte was read, and the
  // read looped for ever (an NTFS lowest_vcn or an XFS startoff of 2^52; the audit of 2026-12-07).
  const MappedSource file(device_of(8192, std::byte{7}), 4096, 8192, {FileRun{1ULL << 52, 1, 0}}, "file");
  std::vector<std::byte> out(8192, std::byte{1});
  ASSERT_THAT(file.read_at(0, out), IsOk());
  EXPECT_EQ(out, std::vector<std::byte>(8192, std::byte{0}));
}

TEST(MappedSource, ARunEndingPastTwoToTheSixtyFourReadsItsBlocks) {
  // 1-byte blocks (a resident-like map) from 2^64 - 11, 100 of them: logical + count wrapped to 89,
  // and the run's bytes read as a hole.
  const std::uint64_t first = UINT64_MAX - 10;
  const MappedSource file(device_of(8192, std::byte{7}), 1, UINT64_MAX, {FileRun{first, 100, 0}}, "file");
  std::vector<std::byte> out(8);
  ASSERT_THAT(file.read_at(first, out), IsOk());
  EXPECT_EQ(out, std::vector<std::byte>(8, std::byte{7}));
}

TEST(MappedSource, ADeviceOffsetThatWouldWrapIsCorrupt) {
  // A run placed near byte 2^64 (an NTFS LCN saturated by to_file_runs): its second block's
  // offset wraps to a small number, which once read the start of the device.
  const MappedSource file(device_of(8192, std::byte{7}), 4096, 8192, {FileRun{0, 2, UINT64_MAX - 100}}, "file");
  std::vector<std::byte> out(4096);
  EXPECT_THAT(file.read_at(4096, out), HasError(ErrorCode::kCorrupt, "lies past the end of the device"));
}

}  // namespace
}  // namespace ig
