// The ImageStore port against both adapters: the directory, and S3 against a Swift + s3api that
// the test starts on loopback with tests/support/start-swift.sh (or IG_TEST_S3_ENDPOINT, with
// IG_TEST_S3_ACCESS_KEY / IG_TEST_S3_SECRET_KEY, default test:tester / testing). botocore
// (s3_oracle.py) is the independent client that creates the bucket, lists pending multipart
// uploads and downloads objects; qemu-img is the oracle for converted images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "convert/convert.h"
#include "store/directory_store.h"
#include "store/s3_store.h"
#include "support/test_support.h"

namespace ig::store {
namespace {

using test::HasError;
using test::IsOk;

constexpr std::uint64_t kPart = 5ULL << 20;  // S3's smallest part
const std::string kBucket = "ig-store-test";
const std::string kSource = IG_SOURCE_DIR;

std::byte pattern(std::uint64_t offset, unsigned seed) {
  return static_cast<std::byte>(((offset + seed) * 2654435761ULL) >> 13);
}
std::vector<std::byte> make(std::uint64_t offset, std::size_t n, unsigned seed = 1) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = pattern(offset + i, seed);
  return v;
}

// One Swift per test process (gtest_discover_tests runs each test in its own process), in its
// own directory and on free ports, stopped when the process ends.
struct Swift {
  std::string endpoint;
  std::string access = "test:tester";
  std::string secret = "testing";
  std::string skip_reason;
  std::unique_ptr<test::TempDir> dir;

  static Swift& get() {
    static Swift swift;
    return swift;
  }

  std::string oracle(const std::string& args) const {
    return "/usr/bin/python3 " + test::shell_quote(kSource + "/tests/unit/store/s3_oracle.py") + " " +
           test::shell_quote(endpoint) + " " + test::shell_quote(access) + " " + test::shell_quote(secret) + " " + args;
  }

 private:
  Swift() {
    if (const char* e = std::getenv("IG_TEST_S3_ENDPOINT"); e != nullptr && *e != 0) {
      endpoint = e;
      if (const char* a = std::getenv("IG_TEST_S3_ACCESS_KEY")) access = a;
      if (const char* s = std::getenv("IG_TEST_S3_SECRET_KEY")) secret = s;
    } else {
      dir = std::make_unique<test::TempDir>();
      const auto r = test::run(kSource + "/tests/support/start-swift.sh " + test::shell_quote(dir->file("swift")) +
                               " 2>" + test::shell_quote(dir->file("start.log")));
      if (r.exit_code == 3) {
        skip_reason =
            "OpenStack Swift is not installed (tests/support/start-swift.sh exit 3): apt-get install "
            "swift swift-proxy swift-object swift-container swift-account";
        return;
      }
      if (r.exit_code != 0) {
        skip_reason = "FAIL: start-swift.sh failed: " + r.out + test::run("cat " + dir->file("start.log")).out;
        return;
      }
      endpoint = r.out.substr(0, r.out.find('\n'));
    }
    if (test::run("/usr/bin/python3 -c 'import botocore'").exit_code != 0) {
      skip_reason = "python3-botocore is not installed (the test's independent S3 client)";
      return;
    }
    const auto mb = test::run(oracle("mb " + kBucket));
    if (mb.exit_code != 0) skip_reason = "FAIL: creating bucket " + kBucket + ": " + mb.out;
  }
  ~Swift() {
    if (dir && !endpoint.empty()) {
      (void)test::run(kSource + "/tests/support/stop-swift.sh " + test::shell_quote(dir->file("swift")) + " 2>&1");
    }
  }
};

enum class Kind { kDirectory, kS3 };

// A prefix no other test process shares.
std::string unique_prefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "-" + info->name();
  for (char& c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '-';
  }
  return "run" + std::to_string(::getpid()) + "/" + name;
}

class StoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { open_store(GetParam()); }

  void open_store(Kind kind) {
    kind_ = kind;
    StoreConfig config;
    config.part_size_bytes = kPart;
    if (kind == Kind::kDirectory) {
      config.location = dir_.file("images");
    } else {
      Swift& swift = Swift::get();
      if (swift.skip_reason.starts_with("FAIL")) FAIL() << swift.skip_reason;
      if (!swift.skip_reason.empty()) GTEST_SKIP() << swift.skip_reason;
      prefix_ = unique_prefix();
      config.location = "s3://" + kBucket + "/" + prefix_;
      config.endpoint = swift.endpoint;
      config.access_key = swift.access;
      config.secret_key = swift.secret;
    }
    config_ = config;
    auto s = open_image_store(config);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
  }

  std::vector<std::byte> read_all(const std::string& key) {
    auto src = store_->open(key);
    EXPECT_THAT(src, IsOk());
    if (!src) return {};
    std::vector<std::byte> out(static_cast<std::size_t>((*src)->size()));
    EXPECT_THAT((*src)->read_at(0, out), IsOk());
    return out;
  }

  // Multipart uploads botocore sees pending under this test's prefix.
  std::string pending_uploads() const {
    return test::run_ok(Swift::get().oracle("uploads " + kBucket + " " + test::shell_quote(prefix_ + "/")));
  }

  S3Sink* as_s3(ByteSink* sink) const { return kind_ == Kind::kS3 ? dynamic_cast<S3Sink*>(sink) : nullptr; }

  test::TempDir dir_;
  Kind kind_ = Kind::kDirectory;
  std::string prefix_;
  StoreConfig config_;
  std::unique_ptr<ImageStore> store_;
};

TEST_P(StoreTest, PutCommitOpenReadsBackTheSameBytes) {
  const auto data = make(0, 1'000'003);
  auto sink = store_->put("small.raw", data.size());
  ASSERT_THAT(sink, IsOk());
  ASSERT_THAT((*sink)->write_at(0, data), IsOk());
  EXPECT_THAT(store_->open("small.raw"), HasError(ErrorCode::kNotFound, "small.raw")) << "visible before commit";
  ASSERT_THAT((*sink)->commit(), IsOk());
  EXPECT_EQ(read_all("small.raw"), data);

  auto src = store_->open("small.raw");
  ASSERT_THAT(src, IsOk());
  std::vector<std::byte> mid(4097);
  ASSERT_THAT((*src)->read_at(123'456, mid), IsOk());
  EXPECT_TRUE(std::equal(mid.begin(), mid.end(), data.begin() + 123'456));
  EXPECT_THAT((*src)->read_at(data.size() - 10, mid), HasError(ErrorCode::kOutOfRange, ""));
}

TEST_P(StoreTest, EmptyObject) {
  auto sink = store_->put("empty.raw", 0);
  ASSERT_THAT(sink, IsOk());
  ASSERT_THAT((*sink)->commit(), IsOk());
  auto src = store_->open("empty.raw");
  ASSERT_THAT(src, IsOk());
  EXPECT_EQ((*src)->size(), 0u);
}

// The converter's order: parts 2..N in increasing order, then the header into part 1.
TEST_P(StoreTest, MultipartWithTheHeaderWrittenLast) {
  const std::uint64_t size = 3 * kPart + kPart / 2 + 17;
  auto sink = store_->put("multi.qcow2", size);
  ASSERT_THAT(sink, IsOk());
  constexpr std::size_t kChunk = 1'000'000;  // not a divisor of the part size: writes straddle parts
  for (std::uint64_t at = kPart; at < size; at += kChunk) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - at));
    ASSERT_THAT((*sink)->write_at(at, make(at, n)), IsOk()) << at;
  }
  for (std::uint64_t at = 0; at < kPart; at += kChunk) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, kPart - at));
    ASSERT_THAT((*sink)->write_at(at, make(at, n)), IsOk()) << at;
  }
  ASSERT_THAT((*sink)->commit(), IsOk());
  if (S3Sink* s3 = as_s3(sink->get())) {
    EXPECT_EQ(s3->part_size_bytes(), kPart);
    EXPECT_EQ(s3->parts_uploaded(), 4u);
    EXPECT_LE(s3->peak_buffered_bytes(), 2 * kPart) << "the sink holds at most the first part and one more";
    EXPECT_EQ(pending_uploads(), "");
  }
  const auto back = read_all("multi.qcow2");
  ASSERT_EQ(back.size(), size);
  EXPECT_TRUE(back == make(0, static_cast<std::size_t>(size))) << "content differs";
}

TEST_P(StoreTest, SetSizeExtendsWithZeros) {
  const std::uint64_t size = 3 * kPart + 7;
  auto sink = store_->put("sparse.raw", size);
  ASSERT_THAT(sink, IsOk());
  ASSERT_THAT((*sink)->set_size(size), IsOk());
  ASSERT_THAT((*sink)->write_at(10, make(10, 100)), IsOk());
  ASSERT_THAT((*sink)->write_at(2 * kPart - 50, make(2 * kPart - 50, 100)), IsOk());
  EXPECT_EQ((*sink)->size(), size);
  ASSERT_THAT((*sink)->commit(), IsOk());
  std::vector<std::byte> want(static_cast<std::size_t>(size));
  const auto a = make(10, 100);
  const auto b = make(2 * kPart - 50, 100);
  std::copy(a.begin(), a.end(), want.begin() + 10);
  std::copy(b.begin(), b.end(), want.begin() + static_cast<std::ptrdiff_t>(2 * kPart - 50));
  EXPECT_TRUE(read_all("sparse.raw") == want);
}

TEST_P(StoreTest, ListWithPrefixAndRemove) {
  for (const std::string key : {"a-2.qcow2", "a-1.qcow2", "b-1.qcow2"}) {
    auto sink = store_->put(key, 0);
    ASSERT_THAT(sink, IsOk());
    ASSERT_THAT((*sink)->write_at(0, make(0, key.size() * 1000)), IsOk());
    ASSERT_THAT((*sink)->commit(), IsOk());
  }
  auto all = store_->list("");
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, "a-1.qcow2");
  EXPECT_EQ((*all)[0].size_bytes, 9000u);
  auto a = store_->list("a-");
  ASSERT_THAT(a, IsOk());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[1].key, "a-2.qcow2");

  ASSERT_THAT(store_->remove("a-1.qcow2"), IsOk());
  EXPECT_THAT(store_->remove("a-1.qcow2"), IsOk()) << "removing a missing key is not an error";
  EXPECT_THAT(store_->open("a-1.qcow2"), HasError(ErrorCode::kNotFound, "a-1.qcow2"));
  auto after = store_->list("a-");
  ASSERT_THAT(after, IsOk());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].key, "a-2.qcow2");
}

TEST_P(StoreTest, MissingKeyIsNotFound) {
  EXPECT_THAT(store_->open("never-put.qcow2"), HasError(ErrorCode::kNotFound, "never-put.qcow2"));
  EXPECT_THAT(store_->open("../escape"), HasError(ErrorCode::kInvalidArgument, "invalid key"));
  EXPECT_THAT(store_->ping(), IsOk());
}

TEST_P(StoreTest, SinkDestroyedBeforeCommitLeavesNothing) {
  {
    auto sink = store_->put("dropped.qcow2", 4 * kPart);
    ASSERT_THAT(sink, IsOk());
    // Two parts after the first are uploaded: a multipart upload is under way.
    for (std::uint64_t at = kPart; at < 3 * kPart + 10; at += kPart / 2) {
      ASSERT_THAT((*sink)->write_at(at, make(at, kPart / 2)), IsOk());
    }
    if (S3Sink* s3 = as_s3(sink->get())) {
      EXPECT_EQ(s3->parts_uploaded(), 2u);
      EXPECT_NE(pending_uploads(), "") << "the upload should be pending before the sink is dropped";
    }
  }
  auto listed = store_->list("");
  ASSERT_THAT(listed, IsOk());
  EXPECT_TRUE(listed->empty());
  EXPECT_THAT(store_->open("dropped.qcow2"), HasError(ErrorCode::kNotFound, ""));
  if (kind_ == Kind::kS3) {
    EXPECT_EQ(pending_uploads(), "") << "AbortMultipartUpload was not sent";
  }
}

// A qemu-img-made qcow2 converted by the project's converter into the store reads back, through
// open(), as the same disk (qemu-img compare).
TEST_P(StoreTest, ConvertIntoTheStore) {
  const std::string src = dir_.file("src.qcow2");
  test::run_ok("qemu-img create -q -f qcow2 " + src + " 64M");
  test::run_ok("qemu-io -f qcow2 -c 'write -P 0xab 0 7M' -c 'write -P 0xcd 20M 9M' -c 'write -P 0x11 63M 1M' " + src +
               " >/dev/null");
  auto image = test::open_file(src);
  ASSERT_THAT(image, IsOk());
  auto measured = measure_exact(**image, {});
  ASSERT_THAT(measured, IsOk());
  auto sink = store_->put("converted.qcow2", measured->output_size);
  ASSERT_THAT(sink, IsOk());
  auto stats = convert(**image, **sink, {});
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->output_size, measured->output_size);
  if (S3Sink* s3 = as_s3(sink->get())) {
    EXPECT_GE(s3->parts_uploaded(), 4u);
    EXPECT_LE(s3->peak_buffered_bytes(), 2 * s3->part_size_bytes());
    EXPECT_EQ(pending_uploads(), "");
  }
  const auto back = read_all("converted.qcow2");
  ASSERT_EQ(back.size(), measured->output_size);
  test::write_file(dir_.file("back.qcow2"), back);
  EXPECT_EQ(test::run("qemu-img compare -q -f qcow2 -F qcow2 " + src + " " + dir_.file("back.qcow2")).exit_code, 0);
  EXPECT_EQ(test::run("qemu-img check -q " + dir_.file("back.qcow2")).exit_code, 0);
  if (kind_ == Kind::kS3) {
    // botocore's download is the same object.
    test::run_ok(Swift::get().oracle("get " + kBucket + " " + test::shell_quote(prefix_ + "/converted.qcow2") + " " +
                                     dir_.file("boto.qcow2")));
    EXPECT_EQ(test::run("cmp " + dir_.file("boto.qcow2") + " " + dir_.file("back.qcow2")).exit_code, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Adapters, StoreTest, ::testing::Values(Kind::kDirectory, Kind::kS3),
                         [](const auto& p) { return p.param == Kind::kDirectory ? "Directory" : "S3"; });

// ---- S3 only ----

class S3StoreTest : public StoreTest {
 protected:
  void SetUp() override { open_store(Kind::kS3); }
};

TEST_F(S3StoreTest, WriteBackIntoAnUploadedPartIsRefused) {
  auto sink = store_->put("backwards.qcow2", 0);
  ASSERT_THAT(sink, IsOk());
  ASSERT_THAT((*sink)->write_at(kPart, make(kPart, kPart)), IsOk());  // part 2, full: uploaded
  ASSERT_THAT((*sink)->write_at(2 * kPart, make(0, 100)), IsOk());    // part 3, held
  EXPECT_THAT((*sink)->write_at(kPart + 10, make(0, 10)), HasError(ErrorCode::kUnsupported, "part 2"));
  EXPECT_THAT((*sink)->set_size(kPart), HasError(ErrorCode::kUnsupported, "truncate"));
  ASSERT_THAT((*sink)->write_at(2 * kPart + 50, make(0, 100)), IsOk()) << "the held part may be rewritten";
  ASSERT_THAT((*sink)->write_at(0, make(0, 100)), IsOk()) << "the first part is held until commit";
  sink->reset();
  EXPECT_EQ(pending_uploads(), "");
}

TEST_F(S3StoreTest, BadCredentialsAreAClearError) {
  StoreConfig bad = config_;
  bad.secret_key = "not-the-secret";
  auto store = open_image_store(bad);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->ping(), HasError(ErrorCode::kPermissionDenied, "HTTP 403 SignatureDoesNotMatch"));
  EXPECT_THAT((*store)->open("x.qcow2"), HasError(ErrorCode::kPermissionDenied, "403"));
  bad.access_key = "nobody:none";
  store = open_image_store(bad);
  ASSERT_THAT(store, IsOk());
  // AWS says InvalidAccessKeyId; Swift's tempauth cannot tell and says SignatureDoesNotMatch.
  EXPECT_THAT((*store)->list(""),
              HasError(ErrorCode::kPermissionDenied, "s3 list '' page 1 (GET /ig-store-test): HTTP 403"));
}

TEST_F(S3StoreTest, MissingBucketIsNotFound) {
  StoreConfig other = config_;
  other.location = "s3://no-such-bucket-here/x";
  auto store = open_image_store(other);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->ping(), HasError(ErrorCode::kNotFound, "NoSuchBucket"));
}

// ---- No server needed ----

TEST(S3Config, UnreachableEndpointIsUnavailable) {
  StoreConfig c{.location = "s3://bucket/p", .endpoint = "http://127.0.0.1:9", .access_key = "a", .secret_key = "s"};
  auto store = open_image_store(c);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->ping(), HasError(ErrorCode::kUnavailable, "s3 ping (GET /bucket)"));
  EXPECT_THAT((*store)->open("k.qcow2"), HasError(ErrorCode::kUnavailable, "after 4 attempt(s)"));
}

TEST(S3Config, LocationsAndEndpointsAreChecked) {
  auto loc = parse_s3_location("s3://images/prod/eu/");
  ASSERT_THAT(loc, IsOk());
  EXPECT_EQ(loc->bucket, "images");
  EXPECT_EQ(loc->prefix, "prod/eu");
  EXPECT_THAT(parse_s3_location("s3://"), HasError(ErrorCode::kInvalidArgument, "bucket"));
  EXPECT_THAT(parse_s3_location("s3://b/a//c"), HasError(ErrorCode::kInvalidArgument, "prefix segment"));
  EXPECT_THAT(parse_s3_location("s3://b/../c"), HasError(ErrorCode::kInvalidArgument, "prefix segment"));
  StoreConfig c{.location = "s3://b", .endpoint = "ftp://x", .access_key = "a", .secret_key = "s"};
  EXPECT_THAT(open_image_store(c), HasError(ErrorCode::kInvalidArgument, "not http"));
  c.endpoint = "http://h:1/path";
  EXPECT_THAT(open_image_store(c), HasError(ErrorCode::kInvalidArgument, "no path"));
  c.endpoint = "http://h:1";
  c.part_size_bytes = 1 << 20;
  EXPECT_THAT(open_image_store(c), HasError(ErrorCode::kInvalidArgument, "part size"));
  c.part_size_bytes = kPart;
  c.max_part_count = 0;
  EXPECT_THAT(open_image_store(c), HasError(ErrorCode::kInvalidArgument, "max part count"));
}

TEST(S3Config, PartSizeGrowsToFitThePartCap) {
  StoreConfig c{.location = "s3://b/p", .endpoint = "http://127.0.0.1:9", .access_key = "a", .secret_key = "s"};
  auto store = S3Store::create(c);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->part_size_for(0), 16u << 20);
  EXPECT_EQ((*store)->part_size_for(1000ULL * (16 << 20)), 16u << 20);
  // 100 GiB in 1,000 parts: 102.4 MiB, rounded up to whole MiB.
  EXPECT_EQ((*store)->part_size_for(100ULL << 30), 103ULL << 20);
  c.max_part_count = 10000;
  store = S3Store::create(c);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->part_size_for(100ULL << 30), 16u << 20);
  EXPECT_THAT((*store)->put("huge.qcow2", 60000ULL << 30), HasError(ErrorCode::kLimitExceeded, "10000 parts"));
  auto sink = (*store)->put("k.qcow2", 0);
  ASSERT_THAT(sink, IsOk());
  EXPECT_THAT((*sink)->write_at(10000ULL * (16 << 20), make(0, 1)), HasError(ErrorCode::kLimitExceeded, "part 10001"));
}

}  // namespace
}  // namespace ig::store
