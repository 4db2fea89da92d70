// ProgressMeter: the percent over an import's disks, the bytes of the disk in hand, and the
// estimate of the time left, computed from reports at chosen instants (no clock is read).
#include "service/progress_meter.h"

#include <gtest/gtest.h>

namespace ig::service {
namespace {

using Clock = ProgressMeter::Clock;
using std::chrono::seconds;

constexpr std::uint64_t kGiB = 1ULL << 30;

TEST(ProgressMeter, NothingIsKnownBeforeTheFirstDisk) {
  const ProgressMeter meter(2);
  const catalog::Progress p = meter.at(Clock::now());
  EXPECT_EQ(p.disk, 0);
  EXPECT_EQ(p.disks, 2);
  EXPECT_EQ(p.percent, 0);
  EXPECT_EQ(p.seconds_left, -1);
}

TEST(ProgressMeter, TheDownloadAloneGivesTheEstimateUntilTheConversionHasARate) {
  ProgressMeter meter(1);
  const Clock::time_point t0 = Clock::now();
  meter.start_disk(1, 0, 100, t0);
  // Half a second in: too soon for an estimate.
  meter.fetched(kGiB / 8, 2 * kGiB);
  EXPECT_EQ(meter.at(t0 + std::chrono::milliseconds(500)).seconds_left, -1);
  // 10 s in, a quarter fetched, nothing converted yet (the check reads first): 30 s to go.
  meter.fetched(kGiB / 2, 2 * kGiB);
  catalog::Progress p = meter.at(t0 + seconds(10));
  EXPECT_EQ(p.disk, 1);
  EXPECT_EQ(p.fetched, static_cast<std::int64_t>(kGiB / 2));
  EXPECT_EQ(p.bytes, static_cast<std::int64_t>(2 * kGiB));
  EXPECT_EQ(p.percent, 12);  // (250 + 0) / 2000 of 100
  EXPECT_EQ(p.seconds_left, 30);
  // The conversion has started and lags: an eighth of a GiB of 4 GiB converted in 10 s; 310 s to go.
  meter.converted(kGiB / 8, 4 * kGiB);
  p = meter.at(t0 + seconds(10));
  EXPECT_EQ(p.virtual_bytes, static_cast<std::int64_t>(4 * kGiB));
  EXPECT_EQ(p.percent, 14);  // (250 + 31) / 2000 of 100
  EXPECT_EQ(p.seconds_left, 310);
  // All fetched and converted: nothing left, and the percent stops short of 100 (the task's end
  // is the catalog's to record).
  meter.fetched(2 * kGiB, 2 * kGiB);
  meter.converted(4 * kGiB, 4 * kGiB);
  p = meter.at(t0 + seconds(20));
  EXPECT_EQ(p.seconds_left, 0);
  EXPECT_EQ(p.percent, 99);
}

TEST(ProgressMeter, AnUnknownSizeOrAFinishedDownloadWithNoConversionYetHasNoEstimate) {
  ProgressMeter meter(1);
  const Clock::time_point t0 = Clock::now();
  meter.start_disk(1, 0, 100, t0);
  meter.fetched(kGiB, 0);  // no Content-Length
  EXPECT_EQ(meter.at(t0 + seconds(5)).seconds_left, -1);
  meter.fetched(kGiB, kGiB);  // all in; a qcow2's check waits for its end before converting
  EXPECT_EQ(meter.at(t0 + seconds(5)).seconds_left, -1);
}

TEST(ProgressMeter, EachDiskHasItsShareAndStartsAfresh) {
  ProgressMeter meter(3);
  const Clock::time_point t0 = Clock::now();
  meter.start_disk(1, 0, 90, t0);
  meter.fetched(100, 100);
  meter.converted(100, 100);
  EXPECT_EQ(meter.at(t0 + seconds(2)).percent, 90);
  const std::uint64_t before = meter.version();
  meter.start_disk(2, 90, 95, t0 + seconds(2));
  EXPECT_GT(meter.version(), before);
  catalog::Progress p = meter.at(t0 + seconds(2));
  EXPECT_EQ(p.disk, 2);
  EXPECT_EQ(p.disks, 3);
  EXPECT_EQ(p.percent, 90);
  EXPECT_EQ(p.fetched, 0);
  EXPECT_EQ(p.seconds_left, -1);  // the second disk has no history yet
  meter.fetched(50, 100);
  meter.converted(25, 100);
  p = meter.at(t0 + seconds(12));  // 10 s into the disk
  EXPECT_EQ(p.percent, 91);        // 90 + 5 × (500 + 250) / 2000
  EXPECT_EQ(p.seconds_left, 30);   // the conversion, at a quarter in 10 s
}

}  // namespace
}  // namespace ig::service
