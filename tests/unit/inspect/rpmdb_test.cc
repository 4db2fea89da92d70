// The rpm database reader against databases rpm 4.18 itself writes, and broken copies of them.
#include "inspect/rpmdb.h"

#include "base/text.h"
#include "support/guest.h"

namespace ig::test {
namespace {

class Rpmdb : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = make_rpmdb(dir_, {"bash-5.1.8-6.el9", "cloud-init-23.4-7.el9", "python3-libs-3.9.18-1.el9"});
    if (path_.empty()) GTEST_SKIP() << "rpm and rpmbuild are not installed";
    db_ = read_file(path_);
  }
  TempDir dir_;
  std::string path_;
  std::vector<std::byte> db_;
};

TEST_F(Rpmdb, FindsPackagesAsRpmListsThem) {
  auto ci = rpmdb_find(db_, "cloud-init");
  ASSERT_THAT(ci, IsOk());
  ASSERT_TRUE(ci->has_value());
  EXPECT_EQ((*ci)->name, "cloud-init");
  EXPECT_EQ((*ci)->version, "23.4");
  EXPECT_EQ((*ci)->release, "7.el9");
  // rpm's own answer for the same database.
  const std::string root = dir_.file("rpm/root");
  EXPECT_EQ(
      run_ok("rpm --root " + root + " --dbpath /var/lib/rpm -q --qf '%{VERSION}-%{RELEASE}' cloud-init 2>/dev/null"),
      (*ci)->evr());
  auto none = rpmdb_find(db_, "cloud-utils");
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
}

TEST_F(Rpmdb, DamagedDatabasesAreErrorsNotCrashes) {
  EXPECT_THAT(rpmdb_find(std::vector<std::byte>(4096), "cloud-init"),
              HasError(ErrorCode::kCorrupt, "not an SQLite database"));
  // Cut to its first pages: the tables point past the end.
  std::vector<std::byte> cut(db_.begin(), db_.begin() + 8192);
  EXPECT_FALSE(rpmdb_find(cut, "cloud-init").has_value());
  // Every page after the first overwritten with noise.
  std::vector<std::byte> noisy = db_;
  for (std::size_t i = 4096; i < noisy.size(); ++i) noisy[i] = static_cast<std::byte>((i * 2654435761U) >> 13);
  auto r = rpmdb_find(noisy, "cloud-init");
  EXPECT_FALSE(r.has_value());
}

std::vector<std::byte> header(std::uint32_t il, std::uint32_t dl, std::vector<std::array<std::uint32_t, 4>> entries,
                              const std::string& data) {
  std::vector<std::byte> out;
  auto put = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::byte>((v >> s) & 0xff));
  };
  put(il);
  put(dl);
  for (const auto& e : entries) {
    for (std::uint32_t v : e) put(v);
  }
  for (char c : data) out.push_back(static_cast<std::byte>(c));
  return out;
}

TEST(RpmHeader, FieldsAndMalformedBlobs) {
  const std::string data(
      "cloud-init\0"
      "23.4\0"
      "7.el9\0",
      22);
  auto ok = parse_rpm_header(header(3, 22, {{1000, 6, 0, 1}, {1001, 6, 11, 1}, {1002, 6, 16, 1}}, data));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->evr(), "23.4-7.el9");
  EXPECT_THAT(parse_rpm_header(header(3, 22, {}, "")), HasError(ErrorCode::kCorrupt, "do not fit"));
  EXPECT_THAT(parse_rpm_header(header(0, 0, {}, "")), HasError(ErrorCode::kCorrupt, "0 index entries"));
  EXPECT_THAT(parse_rpm_header(header(1, 22, {{1000, 6, 40, 1}}, data)), HasError(ErrorCode::kCorrupt, "offset 40"));
  EXPECT_THAT(parse_rpm_header(header(1, 22, {{1000, 4, 0, 1}}, data)), HasError(ErrorCode::kCorrupt, "type 4"));
  EXPECT_THAT(parse_rpm_header(header(1, 4, {{1000, 6, 0, 1}}, "abcd")),
              HasError(ErrorCode::kCorrupt, "not terminated"));
  EXPECT_THAT(parse_rpm_header(header(1, 22, {{1001, 6, 11, 1}}, data)), HasError(ErrorCode::kCorrupt, "no NAME"));
  EXPECT_THAT(parse_rpm_header(header(200000, 0, {}, "")), HasError(ErrorCode::kCorrupt, "200000 index entries"));
}

}  // namespace
}  // namespace ig::test

namespace ig::test {
namespace {

// libguestfs's phony Fedora guest: an SQL dump of a real, minimal Fedora rpmdb.sqlite. Every
// package it names must read back with the version rpm itself reports from the same database.
TEST(RpmdbCorpus, FedoraDatabaseAgreesWithRpm) {
  if (!corpus_available()) GTEST_SKIP() << corpus_absent("libguestfs's Fedora rpmdb");
  if (run("command -v rpm && command -v sqlite3").exit_code != 0) GTEST_SKIP() << "rpm or sqlite3 is not installed";
  TempDir dir;
  const std::string db = dir.file("rpmdb.sqlite");
  run_ok("xz -dc " + corpus_path("libguestfs/test-data/phony-guests/fedora-db.sql.xz").string() + " | sqlite3 " + db);
  const std::vector<std::byte> bytes = read_file(db);
  const std::string names = run_ok("sqlite3 " + db + " 'SELECT DISTINCT key FROM Name ORDER BY key'");
  int checked = 0;
  for_each_line(names, [&](std::string_view name) {
    if (name.empty()) return;
    auto p = rpmdb_find(bytes, name);
    ASSERT_THAT(p, IsOk()) << name;
    ASSERT_TRUE(p->has_value()) << name;
    const std::string theirs = run_ok("rpm --dbpath " + dir.path().string() + " -q --qf '%{VERSION}-%{RELEASE}\\n' " +
                                      std::string(name) + " 2>/dev/null | head -1");
    EXPECT_EQ((*p)->evr() + "\n", theirs) << name;
    ++checked;
  });
  EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace ig::test
