// The converter against qemu's own judges: for every fixture of the format matrix and every
// readable image of the shared corpus, `qemu-img check` finds no error and no leak in our qcow2,
// `qemu-img compare` says the output equals the source, imagegate reads its own output back
// identically, and `measure --exact` equals the size of the file written. Then the broken path:
// a full file system, cancellation, a failing source: each leaves no output behind.
#include "convert/convert.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>

#include "io/faulty_source.h"
#include "support/fixtures.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

struct Target {
  std::string name;
  ConvertOptions options;
};

std::ostream& operator<<(std::ostream& os, const Target& t) {
  return os << t.name;
}

ConvertOptions qcow2_options(std::uint64_t cluster_size, Compression c) {
  ConvertOptions o;
  o.cluster_size = cluster_size;
  o.compression = c;
  return o;
}

const std::vector<Target>& targets() {
  static const std::vector<Target> t = [] {
    std::vector<Target> v = {
        {"qcow2_64k", qcow2_options(65536, Compression::kNone)},
        {"qcow2_zlib", qcow2_options(65536, Compression::kZlib)},
        {"qcow2_zstd", qcow2_options(65536, Compression::kZstd)},
        {"qcow2_512", qcow2_options(512, Compression::kNone)},
        {"qcow2_2m_zlib", qcow2_options(2 << 20, Compression::kZlib)},
        {"raw", ConvertOptions{}},
    };
    v.back().options.format = TargetFormat::kRaw;
    return v;
  }();
  return t;
}

std::uint64_t file_size(const std::string& path) {
  return static_cast<std::uint64_t>(fs::file_size(path));
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".imagegate-") != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

// Converts `source` (opened by content) with `t`, then applies every oracle.
void convert_and_judge(const std::string& source, const std::string& qemu_format, const Target& t, const TempDir& dir) {
  const bool qcow2 = t.options.format == TargetFormat::kQcow2;
  const std::string out = dir.file(qcow2 ? "out.qcow2" : "out.raw");
  auto image = open_file(source);
  ASSERT_THAT(image, IsOk());
  auto sink = AtomicFileSink::create(out, source);
  ASSERT_THAT(sink, IsOk());
  auto stats = convert(**image, **sink, t.options);
  ASSERT_THAT(stats, IsOk());
  sink->reset();
  EXPECT_EQ(stats->output_size, file_size(out));
  EXPECT_TRUE(leftovers(dir.path()).empty());

  auto exact = measure_exact(**image, t.options);
  ASSERT_THAT(exact, IsOk());
  EXPECT_EQ(exact->output_size, file_size(out)) << "measure --exact must equal the output size";

  if (qcow2) {
    const CommandResult check = run("qemu-img check --output=json " + out);
    EXPECT_EQ(check.exit_code, 0) << check.out;
    const auto j = nlohmann::json::parse(check.out, nullptr, false);
    EXPECT_EQ(j.value("check-errors", -1), 0) << check.out;
    EXPECT_EQ(j.value("corruptions", 0), 0) << check.out;
    EXPECT_EQ(j.value("leaks", 0), 0) << check.out;
  }
  const CommandResult cmp =
      run("qemu-img compare -f " + qemu_format + " -F " + (qcow2 ? "qcow2 " : "raw ") + source + " " + out);
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out;
  EXPECT_NE(cmp.out.find("Images are identical"), std::string::npos) << cmp.out;

  const std::string ref = dir.file("reference.bin");
  run_ok("qemu-img convert -f " + qemu_format + " -O raw " + source + " " + ref);
  auto back = open_file(out);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(compare_with_raw(**back, ref), "");
  fs::remove(ref);
  fs::remove(out);
}

class ConvertMatrix : public ::testing::TestWithParam<std::tuple<Case, Target>> {};

TEST_P(ConvertMatrix, QemuChecksComparesAndReadsBackIdentically) {
  const auto& [c, t] = GetParam();
  TempDir dir;
  const std::string image = make_fixture(c, dir);
  convert_and_judge(image, c.qemu_format, t, dir);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ConvertMatrix,
                         ::testing::Combine(::testing::ValuesIn(qemu_fixtures()), ::testing::ValuesIn(targets())),
                         [](const auto& i) { return std::get<0>(i.param).name + "_to_" + std::get<1>(i.param).name; });

// Every refcount width qcow2 allows (-o refcount_bits): qemu-img reads the width from the header,
// `check` counts every reference (compressed clusters share host clusters, so narrow widths
// force new ones), `compare` finds the same disk.
TEST(ConvertRefcountBits, EveryWidthPassesQemuCheck) {
  TempDir dir;
  const std::string raw = dir.file("source.raw");
  make_pattern_raw(raw, 8 << 20);
  run_ok("dd if=/dev/urandom of=" + raw + " bs=1M count=2 seek=5 conv=notrunc status=none");
  for (const std::uint32_t bits : {1u, 2u, 4u, 8u, 16u, 32u, 64u}) {
    for (const Compression c : {Compression::kNone, Compression::kZlib}) {
      for (const std::uint64_t cluster_size : {std::uint64_t{512}, std::uint64_t{65536}}) {
        SCOPED_TRACE(fmt::format("refcount_bits {}, {}, cluster {}", bits, c == Compression::kNone ? "raw" : "zlib",
                                 cluster_size));
        Target t{"refcount", qcow2_options(cluster_size, c)};
        t.options.refcount_bits = bits;
        {
          auto image = open_file(raw);
          ASSERT_THAT(image, IsOk());
          const std::string out = dir.file("bits.qcow2");
          auto sink = AtomicFileSink::create(out, raw);
          ASSERT_THAT(sink, IsOk());
          ASSERT_THAT(convert(**image, **sink, t.options), IsOk());
          sink->reset();
          const auto info = run_json("qemu-img info --output=json " + out);
          EXPECT_EQ(info["format-specific"]["data"]["refcount-bits"], bits);
        }
        convert_and_judge(raw, "raw", t, dir);
      }
    }
  }
  ConvertOptions bad;
  bad.refcount_bits = 3;
  EXPECT_THAT(validate(bad), HasError(ErrorCode::kInvalidArgument, "refcount_bits 3 must be a power of two"));
  bad.refcount_bits = 128;
  EXPECT_THAT(validate(bad), HasError(ErrorCode::kInvalidArgument, "refcount_bits 128"));
}

class ConvertCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvertCorpus, ThirdPartyImagesConvert) {
  if (!corpus_available()) GTEST_SKIP() << corpus_absent("corpus conversions");
  TempDir dir;
  const std::string& name = GetParam();
  const std::string image = bunzip_to(corpus_path("qemu/sample_images/" + name + ".bz2"), dir);
  const std::string qemu_format = name.ends_with(".vhd") ? "vpc" : name.ends_with(".vmdk") ? "vmdk" : "raw";
  for (const Target& t : {targets()[0], targets()[1], targets()[5]}) convert_and_judge(image, qemu_format, t, dir);
}

INSTANTIATE_TEST_SUITE_P(Qemu, ConvertCorpus,
                         ::testing::Values("d2v-zerofilled.vhd", "hyperv2012r2-dynamic.vhd", "virtualpc-dynamic.vhd",
                                           "iotest-version3.vmdk", "grub_mbr.raw"),
                         [](const auto& i) { return testing::PrintToString(i.index); });

// ---- The broken path ----

class ConvertFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = dir_.file("source.qcow2");
    const std::string raw = dir_.file("source.raw");
    make_pattern_raw(raw, 24 << 20);
    run_ok("dd if=/dev/urandom of=" + raw + " bs=1M count=8 seek=14 conv=notrunc status=none");
    run_ok("qemu-img convert -f raw -O qcow2 " + raw + " " + source_);
  }
  TempDir dir_;
  std::string source_;
};

TEST_F(ConvertFailures, FullFileSystemLeavesNothingAndNamesEnospc) {
  const fs::path small = dir_.path() / "small";
  fs::create_directory(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "mount(tmpfs, size=2m) on " << small << " failed: " << std::strerror(errno);
  }
  const std::string out = (small / "out.qcow2").string();
  {
    auto image = open_file(source_);
    ASSERT_THAT(image, IsOk());
    auto sink = AtomicFileSink::create(out, source_);
    ASSERT_THAT(sink, IsOk());
    auto r = convert(**image, **sink, ConvertOptions{});
    EXPECT_THAT(r, HasError(ErrorCode::kIo, "No space left on device"));
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(small)) files.push_back(e.path().string());
  EXPECT_TRUE(files.empty()) << "left behind: " << (files.empty() ? "" : files[0]);
  const CommandResult cli = run(std::string(IG_CLI_PATH) + " convert " + source_ + " " + out);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.out.find("No space left on device"), std::string::npos) << cli.out;
  EXPECT_FALSE(fs::exists(out));
  ::umount(small.c_str());
}

TEST_F(ConvertFailures, CancellationLeavesNothing) {
  auto image = open_file(source_);
  ASSERT_THAT(image, IsOk());
  const std::string out = dir_.file("out.qcow2");
  std::stop_source stop;
  ConvertOptions o;
  o.stop = stop.get_token();
  o.progress = [&](std::uint64_t, std::uint64_t) { stop.request_stop(); };
  {
    auto sink = AtomicFileSink::create(out, source_);
    ASSERT_THAT(sink, IsOk());
    EXPECT_THAT(convert(**image, **sink, o), HasError(ErrorCode::kCancelled, "cancelled"));
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(leftovers(dir_.path()).empty());
}

TEST_F(ConvertFailures, FailingSourceReadLeavesNothing) {
  auto file = FileSource::open(source_);
  ASSERT_THAT(file, IsOk());
  std::shared_ptr<const ByteSource> shared(std::move(*file));
  OpenOptions oo;
  oo.file_name = "source.qcow2";
  // Count the reads of a clean conversion, then fail reads spread over that range.
  std::uint64_t total = 0;
  {
    auto counting = std::make_shared<FaultySource>(shared, FaultPlan{});
    auto image = open_image(counting, oo);
    ASSERT_THAT(image, IsOk());
    const std::uint64_t at_open = counting->reads();
    CountingSink sink;
    ASSERT_THAT(convert(**image, sink, ConvertOptions{}), IsOk());
    total = counting->reads();
    ASSERT_GT(total, at_open + 4) << "the conversion should read the source several times";
  }
  for (std::uint64_t n : {total / 3, total / 2, total - 1, total}) {
    FaultPlan plan;
    plan.fail_read_number = n;
    auto image = open_image(std::make_shared<FaultySource>(shared, plan), oo);
    if (!image) continue;  // the failure hit the open itself
    const std::string out = dir_.file("out.qcow2");
    {
      auto sink = AtomicFileSink::create(out, source_);
      ASSERT_THAT(sink, IsOk());
      EXPECT_THAT(convert(**image, **sink, ConvertOptions{}), HasError(ErrorCode::kIo, "injected failure"))
          << "read " << n << " of " << total;
    }
    EXPECT_FALSE(fs::exists(out));
    EXPECT_TRUE(leftovers(dir_.path()).empty());
  }
}

TEST_F(ConvertFailures, TheSourceIsNeverTheOutputNorModified) {
  EXPECT_THAT(AtomicFileSink::create(source_, source_),
              HasError(ErrorCode::kInvalidArgument, "the output is the source"));
  const std::string link = dir_.file("alias.qcow2");
  fs::create_hard_link(source_, link);
  EXPECT_THAT(AtomicFileSink::create(link, source_), HasError(ErrorCode::kInvalidArgument, "the output is the source"));
  const std::string before = run_ok("sha256sum < " + source_);
  struct stat st_before {};
  ::stat(source_.c_str(), &st_before);
  run_ok(std::string(IG_CLI_PATH) + " convert -c " + source_ + " " + dir_.file("out.qcow2"));
  EXPECT_EQ(run_ok("sha256sum < " + source_), before);
  struct stat st_after {};
  ::stat(source_.c_str(), &st_after);
  EXPECT_EQ(st_before.st_mtim.tv_sec, st_after.st_mtim.tv_sec);
  EXPECT_EQ(st_before.st_mtim.tv_nsec, st_after.st_mtim.tv_nsec);
}

TEST_F(ConvertFailures, BadOptionsAreRefusedBeforeAnythingIsWritten) {
  auto image = open_file(source_);
  ASSERT_THAT(image, IsOk());
  ConvertOptions o;
  o.cluster_size = 3000;
  CountingSink sink;
  EXPECT_THAT(convert(**image, sink, o), HasError(ErrorCode::kInvalidArgument, "cluster_size 3000"));
  EXPECT_EQ(sink.size(), 0u);
  o = ConvertOptions{};
  o.format = TargetFormat::kRaw;
  o.compression = Compression::kZlib;
  EXPECT_THAT(convert(**image, sink, o), HasError(ErrorCode::kInvalidArgument, "compression (-c) needs qcow2"));
}

TEST_F(ConvertFailures, ProgressIsDrawnOnATerminalOnly) {
  if (run("script -V").exit_code != 0) GTEST_SKIP() << "script(1) is not installed";
  const std::string out = dir_.file("out.qcow2");
  // script(1) gives the command a pseudo-terminal, as a user's shell would.
  const CommandResult tty =
      run("script -qec " + shell_quote(std::string(IG_CLI_PATH) + " convert -p " + source_ + " " + out) + " /dev/null");
  EXPECT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("(100.00/100%)"), std::string::npos) << tty.out;
  const CommandResult pipe = run(std::string(IG_CLI_PATH) + " convert -p " + source_ + " " + out);
  EXPECT_EQ(pipe.exit_code, 0);
  EXPECT_EQ(pipe.out.find("100%"), std::string::npos) << "no progress into a pipe: " << pipe.out;
}

TEST_F(ConvertFailures, CliConvertReportsStatisticsAndExitCodes) {
  const std::string out = dir_.file("out.qcow2");
  const CommandResult r = run(std::string(IG_CLI_PATH) + " convert --output=json -c " + source_ + " " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["output-size"].get<std::uint64_t>(), file_size(out));
  EXPECT_GT(j["bytes-read"].get<std::uint64_t>(), 0u);
  EXPECT_GT(j["bytes-skipped-holes"].get<std::uint64_t>(), 0u);
  EXPECT_GT(j["clusters-compressed"].get<std::uint64_t>(), 0u);
  const CommandResult exact = run(std::string(IG_CLI_PATH) + " measure --exact -c " + source_);
  EXPECT_EQ(exact.out, fmt::format("exact size: {}\n", file_size(out)));
  EXPECT_EQ(run(std::string(IG_CLI_PATH) + " convert -O vdi " + source_ + " " + out).exit_code, 2);
  EXPECT_EQ(run(std::string(IG_CLI_PATH) + " convert " + source_).exit_code, 2);
  const CommandResult refused =
      run(std::string(IG_CLI_PATH) + " convert " + dir_.file("missing.qcow2") + " " + dir_.file("x.qcow2"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_.file("x.qcow2")));
}

}  // namespace
}  // namespace ig::test
