// Every format and subformat qemu-img writes, across cluster sizes, compression, zero clusters and
// virtual sizes that are not a multiple of the cluster: imagegate must read each guest disk
// byte-identically to `qemu-img convert -O raw`, and agree with `qemu-img info` and
// `qemu-img measure` to the byte.
#include <string>
#include <vector>

#include "convert/measure.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

struct Case {
  std::string name;
  std::string qemu_format;   // qemu's driver name: qcow2, vmdk, vpc, raw
  std::string extension;     // .qcow2, .vmdk, .vhd, .raw
  std::string convert_args;  // extra `qemu-img convert` arguments
  std::uint64_t raw_size;    // size of the pattern disk converted
  std::string qemu_io;       // qemu-io commands applied afterwards (zero clusters and the like)
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kOdd = 20 * kMiB + 3 * 512;  // not a multiple of any cluster size

const std::vector<Case> kCases = {
    {"raw_sparse", "raw", ".raw", "", 20 * kMiB, ""},
    {"raw_odd", "raw", ".raw", "", kOdd, ""},
    {"qcow2_v3_64k", "qcow2", ".qcow2", "", 20 * kMiB, ""},
    {"qcow2_v3_512", "qcow2", ".qcow2", "-o cluster_size=512", 20 * kMiB, ""},
    {"qcow2_v3_2m", "qcow2", ".qcow2", "-o cluster_size=2M", 20 * kMiB, ""},
    {"qcow2_v3_odd", "qcow2", ".qcow2", "", kOdd, ""},
    {"qcow2_v2_64k", "qcow2", ".qcow2", "-o compat=0.10", 20 * kMiB, ""},
    {"qcow2_v2_512_odd", "qcow2", ".qcow2", "-o compat=0.10,cluster_size=512", kOdd, ""},
    {"qcow2_zlib_64k", "qcow2", ".qcow2", "-c", 20 * kMiB, ""},
    {"qcow2_zlib_512", "qcow2", ".qcow2", "-c -o cluster_size=512", 20 * kMiB, ""},
    {"qcow2_zlib_2m_odd", "qcow2", ".qcow2", "-c -o cluster_size=2M", kOdd, ""},
    {"qcow2_zstd_64k", "qcow2", ".qcow2", "-c -o compression_type=zstd", 20 * kMiB, ""},
    {"qcow2_zstd_512_odd", "qcow2", ".qcow2", "-c -o compression_type=zstd,cluster_size=512", kOdd, ""},
    {"qcow2_v2_zlib", "qcow2", ".qcow2", "-c -o compat=0.10", 20 * kMiB, ""},
    {"qcow2_zero_clusters", "qcow2", ".qcow2", "", 20 * kMiB, "write -z 0 256k;write -z 5M 1M;write -z 19M 1M"},
    {"qcow2_zero_clusters_512", "qcow2", ".qcow2", "-o cluster_size=512", 20 * kMiB,
     "write -z 4096 8192;write -z 12M 1M"},
    {"qcow2_extended_l2", "qcow2", ".qcow2", "-o extended_l2=on", 20 * kMiB, ""},
    {"qcow2_extended_l2_subclusters", "qcow2", ".qcow2", "-o extended_l2=on,cluster_size=2M", kOdd,
     "write -z 4k 8k;write -P 0x5a 3M 4k;write -z 16M 64k;write -P 0x77 18M 2k"},
    {"qcow2_extended_l2_zstd", "qcow2", ".qcow2", "-c -o extended_l2=on,compression_type=zstd", 20 * kMiB, ""},
    {"qcow2_prealloc_metadata", "qcow2", ".qcow2", "-o preallocation=metadata", 20 * kMiB, ""},
    {"qcow2_lazy_refcounts", "qcow2", ".qcow2", "-o lazy_refcounts=on", 20 * kMiB, "write -P 0x11 2M 64k"},
    {"vmdk_monolithic_sparse", "vmdk", ".vmdk", "", 20 * kMiB, ""},
    {"vmdk_monolithic_sparse_odd", "vmdk", ".vmdk", "", kOdd, ""},
    {"vmdk_zeroed_grain", "vmdk", ".vmdk", "-o zeroed_grain=on", 20 * kMiB, "write -z 0 128k;write -z 6M 1M"},
    {"vmdk_stream_optimized", "vmdk", ".vmdk", "-o subformat=streamOptimized", 20 * kMiB, ""},
    {"vmdk_stream_optimized_odd", "vmdk", ".vmdk", "-o subformat=streamOptimized", kOdd, ""},
    {"vhd_dynamic", "vpc", ".vhd", "", 20 * kMiB, ""},
    {"vhd_dynamic_force_size", "vpc", ".vhd", "-o force_size=on", kOdd, ""},
    {"vhd_fixed", "vpc", ".vhd", "-o subformat=fixed", 20 * kMiB, ""},
    {"vhd_fixed_force_size", "vpc", ".vhd", "-o subformat=fixed,force_size=on", kOdd, ""},
};

class QemuMatrix : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    raw_ = dir_.file("pattern.raw");
    make_pattern_raw(raw_, c.raw_size);
    image_ = dir_.file("image" + c.extension);
    if (c.qemu_format == "raw") {
      run_ok("cp --sparse=always " + raw_ + " " + image_);
    } else {
      run_ok("qemu-img convert -f raw -O " + c.qemu_format + " " + c.convert_args + " " + raw_ + " " + image_);
    }
    if (!c.qemu_io.empty()) {
      std::string cmd = "qemu-io -f " + c.qemu_format;
      std::size_t pos = 0;
      while (pos < c.qemu_io.size()) {
        auto semi = c.qemu_io.find(';', pos);
        if (semi == std::string::npos) semi = c.qemu_io.size();
        cmd += " -c " + shell_quote(c.qemu_io.substr(pos, semi - pos));
        pos = semi + 1;
      }
      run_ok(cmd + " " + image_);
    }
  }

  TempDir dir_;
  std::string raw_;
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

INSTANTIATE_TEST_SUITE_P(Formats, QemuMatrix, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
}  // namespace ig::test
