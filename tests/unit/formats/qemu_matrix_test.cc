// Every format and subformat qemu-img writes, across cluster sizes, compression, zero clusters and
// virtual sizes that are not a multiple of the cluster: imagegate must read each guest disk
// byte-identically to `qemu-img convert -O raw`, and agree with `qemu-img info` and
// `qemu-img measure` to the byte.
#include <algorithm>
#include <string>
#include <vector>

#include "convert/measure.h"
#include "formats/open_image.h"
#include "io/sources.h"
#include "io/stage_meter.h"
#include "support/fixtures.h"

namespace ig::test {
namespace {

class QemuMatrix : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { image_ = make_fixture(GetParam(), dir_); }

  TempDir dir_;
  std::string image_;
};

TEST_P(QemuMatrix, ReadsByteIdenticalToQemuConvert) {
  const Case& c = GetParam();
  const std::string ref = dir_.file("reference.bin");
  run_ok("qemu-img convert -f " + c.qemu_format + " -O raw " + image_ + " " + ref);
  auto image = open_file(image_);
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ(compare_with_raw(**image, ref), "");
}

TEST_P(QemuMatrix, InfoAgreesWithQemuImgInfo) {
  const Case& c = GetParam();
  const nlohmann::json q = run_json("qemu-img info --output=json -f " + c.qemu_format + " " + image_);
  auto image = open_file(image_);
  ASSERT_THAT(image, IsOk());
  const ImageInfo& info = (*image)->info();
  EXPECT_EQ(info.virtual_size, q["virtual-size"].get<std::uint64_t>());
  EXPECT_EQ(std::string(format_name(info.format)), c.qemu_format == "vpc" ? "vhd" : c.qemu_format);
  if (q.contains("cluster-size")) {
    ASSERT_TRUE(info.cluster_size.has_value());
    EXPECT_EQ(*info.cluster_size, q["cluster-size"].get<std::uint64_t>());
  } else {
    EXPECT_FALSE(info.cluster_size.has_value());
  }
  if (q.contains("format-specific") && c.qemu_format == "qcow2") {
    const auto& data = q["format-specific"]["data"];
    for (const InfoField& f : info.format_specific) {
      ASSERT_TRUE(data.contains(f.key)) << f.key;
      std::visit([&](const auto& v) { EXPECT_EQ(data[f.key], nlohmann::json(v)) << f.key; }, f.value);
    }
  }
  if (c.qemu_format == "vmdk") {
    const auto& data = q["format-specific"]["data"];
    EXPECT_EQ(info.subformat, data["create-type"].get<std::string>());
  }
}

TEST_P(QemuMatrix, MeasureAgreesWithQemuImgMeasure) {
  const Case& c = GetParam();
  auto image = open_file(image_);
  ASSERT_THAT(image, IsOk());
  for (const char* cs : {"65536", "512", "2097152"}) {
    for (bool ext : {false, true}) {
      if (ext && std::string(cs) == "512") continue;  // extended L2 needs 16K clusters
      Qcow2TargetOptions o;
      o.cluster_size = std::stoull(cs);
      o.extended_l2 = ext;
      const nlohmann::json q = run_json(std::string("qemu-img measure --output=json -f ") + c.qemu_format +
                                        " -O qcow2 -o cluster_size=" + cs + (ext ? ",extended_l2=on " : " ") + image_);
      auto r = measure_qcow2(**image, o);
      ASSERT_THAT(r, IsOk());
      EXPECT_EQ(r->required, q["required"].get<std::uint64_t>()) << "cluster_size " << cs << " ext " << ext;
      EXPECT_EQ(r->fully_allocated, q["fully-allocated"].get<std::uint64_t>()) << "cluster_size " << cs;
      EXPECT_EQ(r->bitmaps.has_value(), q.contains("bitmaps"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, QemuMatrix, ::testing::ValuesIn(qemu_fixtures()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

// A check reads a file system a few KiB at a time. The parts of one compressed cluster (qcow2) or
// grain (streamOptimized VMDK) cost one inflation, not one each (docs/performance.md): after the
// first 512-byte read of the first cluster, its other 127 parts read nothing more from the file,
// and each gives qemu's bytes.
TEST(CompressedReads, ThePartsOfOneClusterInflateItOnce) {
  TempDir dir;
  const std::string data = dir.file("data.raw");
  run_ok("head -c 1M /dev/urandom | base64 -w 0 > " + data + " && truncate -s 2M " + data);
  const std::vector<std::byte> want = read_file(data);
  const std::pair<const char*, const char*> cases[] = {{"qcow2", "-c"}, {"vmdk", "-o subformat=streamOptimized"}};
  for (const auto& [format, options] : cases) {
    SCOPED_TRACE(format);
    const std::string image = dir.file(std::string("compressed.") + format);
    run_ok(std::string("qemu-img convert -f raw -O ") + format + " " + options + " " + data + " " + image);
    auto file = FileSource::open(image);
    ASSERT_THAT(file, IsOk());
    StageMeter meter;
    const StageScope reading(&meter, Stage::kFileSystems);
    auto disk = open_image(std::make_shared<CountingSource>(SourcePtr(std::move(*file)), meter), OpenOptions{});
    ASSERT_THAT(disk, IsOk());
    auto bytes_read = [&] { return meter.totals()[static_cast<std::size_t>(Stage::kFileSystems)].bytes_read; };
    std::vector<std::byte> part(512);
    ASSERT_THAT((*disk)->read_at(0, part), IsOk());
    EXPECT_TRUE(std::equal(part.begin(), part.end(), want.begin()));
    const std::uint64_t after_first = bytes_read();
    for (std::uint64_t offset = 512; offset < 65536; offset += 512) {
      ASSERT_THAT((*disk)->read_at(offset, part), IsOk());
      ASSERT_TRUE(std::equal(part.begin(), part.end(), want.begin() + static_cast<std::ptrdiff_t>(offset))) << offset;
    }
    EXPECT_EQ(bytes_read(), after_first) << "the cluster was read again for its other parts";
  }
}

}  // namespace
}  // namespace ig::test
