// Every format and subformat qemu-img writes, across cluster sizes, compression, zero clusters and
// virtual sizes that are not a multiple of the cluster: imagegate must read each guest disk
// byte-identically to `qemu-img convert -O raw`, and agree with `qemu-img info` and
// `qemu-img measure` to the byte.
#include <string>
#include <vector>

#include "convert/measure.h"
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

}  // namespace
}  // namespace ig::test
