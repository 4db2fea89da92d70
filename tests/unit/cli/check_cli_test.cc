// `imagegate check` as a user runs it: exit codes (0 imports, 1 would fail, 2 usage), the JSON
// report's documented keys (docs/check.md), the five languages, and the colour-free human report.
#include <filesystem>

#include "support/guest.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;
const std::string kCli = IG_CLI_PATH;

class CheckCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = std::make_unique<LinuxTree>(dir_.path() / "tree");
    good_ = make_guest_disk(dir_, (dir_.path() / "tree").string());
    fs::rename(good_, dir_.file("good.qcow2"));
    good_ = dir_.file("good.qcow2");
    tree_->write("/etc/cloud/cloud-init.disabled", "");
    bad_ = make_guest_disk(dir_, (dir_.path() / "tree").string());
  }
  TempDir dir_;
  std::unique_ptr<LinuxTree> tree_;
  std::string good_;
  std::string bad_;
};

TEST_F(CheckCli, JsonReportOfAPassingImage) {
  const CommandResult r = run(kCli + " check --output=json " + good_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["result"], "pass");
  EXPECT_TRUE(j["error-code"].is_null());
  EXPECT_EQ(j["image"]["format"], "qcow2");
  EXPECT_EQ(j["image"]["virtual-size"], 64 << 20);
  const auto qemu = run_json("qemu-img measure -O qcow2 --output=json " + good_);
  EXPECT_EQ(j["image"]["qcow2-size"], qemu["required"]);
  EXPECT_EQ(j["image"]["actual-size"], run_json("qemu-img info --output=json " + good_)["actual-size"]);
  EXPECT_EQ(j["partition-table"], "mbr");
  EXPECT_EQ(j["os"]["type"], "linux");
  EXPECT_EQ(j["os"]["distribution"], "debian");
  EXPECT_EQ(j["os"]["version"], "12");
  EXPECT_EQ(j["os"]["architecture"], "x86_64");
  EXPECT_EQ(j["os"]["kernels"][0]["version"], "6.1.0-13-amd64");
  EXPECT_EQ(j["os"]["kernels"][0]["default"], true);
  EXPECT_EQ(j["os"]["kernels"][0]["virtio"]["virtio_blk"]["in-initramfs"], true);
  EXPECT_EQ(j["os"]["cloud-init"]["enabled"], true);
  std::vector<std::string> names;
  for (const auto& c : j["checks"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"format", "virtual-size", "qcow2-size", "partition-table", "partitions",
                                             "root", "os", "architecture", "declared", "virtio", "cloud-init"}));
}

TEST_F(CheckCli, FailingImageExitsOneWithItsCodeInEveryLanguage) {
  std::set<std::string> reasons;
  for (const char* lang : {"en", "zh", "ja", "id", "pt"}) {
    const CommandResult r = run(kCli + " check --output=json --lang " + lang + " " + bad_);
    ASSERT_EQ(r.exit_code, 1) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["result"], "fail");
    EXPECT_EQ(j["error-code"], "CloudInitNotInstalled");
    EXPECT_EQ(j["failed-check"], "cloud-init");
    EXPECT_EQ(j["lang"], lang);
    EXPECT_NE(j["reason"].get<std::string>().find("/etc/cloud/cloud-init.disabled"), std::string::npos) << j["reason"];
    reasons.insert(j["reason"]);
  }
  EXPECT_EQ(reasons.size(), 5u);  // five different sentences
  // LANG picks the language when --lang is absent.
  const CommandResult ja = run("LANG=ja_JP.UTF-8 " + kCli + " check " + bad_);
  EXPECT_NE(ja.out.find("インポートはエラーコード CloudInitNotInstalled で失敗します"), std::string::npos) << ja.out;
  // --force skips cloud-init: the same image would import.
  EXPECT_EQ(run(kCli + " check --force " + bad_).exit_code, 0);
}

TEST_F(CheckCli, HumanReportWithoutColourWhenPiped) {
  const CommandResult r = run(kCli + " check --lang en " + bad_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_NE(r.out.find("The import would fail with CloudInitNotInstalled: cloud-init is installed but disabled"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("✘ cloud-init:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("What to do: Enable cloud-init"), std::string::npos) << r.out;
}

// A root imagegate cannot read (here a LUKS volume made by cryptsetup): exit 3, "unverified",
// no error code, in JSON and in the human report.
TEST_F(CheckCli, UnverifiableRootExitsThree) {
  const std::string disk = dir_.file("luks.raw");
  const std::string part = dir_.file("luks.part");
  const std::string key = dir_.file("key");
  run_ok("printf pw > " + key + " && truncate -s 20M " + part +
         " && cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file " + key +
         " " + part + " && truncate -s 32M " + disk + " && printf 'label: dos\\nstart=2048,type=83\\n' | sfdisk -q " +
         disk + " && dd if=" + part + " of=" + disk + " bs=512 seek=2048 conv=notrunc status=none");
  const CommandResult j = run(kCli + " check --output=json " + disk);
  EXPECT_EQ(j.exit_code, 3) << j.out;
  const auto report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["result"], "unverified");
  EXPECT_TRUE(report["error-code"].is_null());
  EXPECT_EQ(report["failed-check"], "root");
  EXPECT_EQ(report["reason-id"], "root.cannot-read");
  const CommandResult h = run(kCli + " check --lang en " + disk);
  EXPECT_EQ(h.exit_code, 3);
  EXPECT_NE(h.out.find("? Root partition: no system root among the volumes imagegate reads, and it cannot read "
                       "partition 1 (LUKS"),
            std::string::npos)
      << h.out;
}

// A deployment's own size limits; sizes print in the unit that fits.
TEST_F(CheckCli, SizeLimitsAndUnits) {
  const CommandResult human = run(kCli + " check --lang en " + good_);
  EXPECT_NE(human.out.find("64.00 MiB virtual"), std::string::npos) << human.out;
  EXPECT_EQ(human.out.find("0.06 GiB"), std::string::npos) << human.out;
  // Under a 1 MiB qcow2 limit the estimate is over, so the exact size is computed and judged.
  const CommandResult small = run(kCli + " check --output=json --max-qcow2-size 1M " + good_);
  EXPECT_EQ(small.exit_code, 1) << small.out;
  const auto j = nlohmann::json::parse(small.out);
  EXPECT_EQ(j["failed-check"], "qcow2-size");
  EXPECT_EQ(j["error-code"], "InvalidFormatSize");
  EXPECT_TRUE(j["image"]["qcow2-exact-size"].is_number()) << j["image"];
  EXPECT_NE(j["reason"].get<std::string>().find("1.00 MiB limit"), std::string::npos) << j["reason"];
  const CommandResult vsize = run(kCli + " check --output=json --max-virtual-size 32M " + good_);
  EXPECT_EQ(vsize.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(vsize.out)["failed-check"], "virtual-size");
  EXPECT_EQ(run(kCli + " check --max-qcow2-size lots " + good_).exit_code, 2);
}

// A declared OS that disagrees passes with a warning, and the headline says so; an OsType the
// cloud's list does not know is a usage error, as an unknown --arch is.
TEST_F(CheckCli, DeclaredMismatchHeadlinesItsWarningAndUnknownOsTypeIsUsage) {
  const CommandResult r = run(kCli + " check --lang en --os-type CentOS " + good_);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("The image meets every import rule, with warnings (1): read them below.", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("! Declared OS:"), std::string::npos) << r.out;
  EXPECT_EQ(run(kCli + " check --lang en --os-type Debian " + good_).out.rfind("The image meets every import rule.", 0),
            0u);
  const CommandResult bad = run(kCli + " check --os-type Debain " + good_ + " 2>&1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("unknown OsType 'Debain' (Linux, Windows, CentOS, "), std::string::npos) << bad.out;
  // An OsVersion the list does not offer for that OsType is a usage error too ("3.1" is
  // TencentOS "3"); a listed one is not.
  const CommandResult version = run(kCli + " check --os-type TencentOS --os-version 3.1 " + good_ + " 2>&1");
  EXPECT_EQ(version.exit_code, 2);
  EXPECT_NE(version.out.find("OsVersion '3.1' is not offered for TencentOS (2, 3, 4)"), std::string::npos)
      << version.out;
  EXPECT_EQ(run(kCli + " check --os-type Debian --os-version 12 " + good_).exit_code, 0);
}

// The file-name rule: a name that claims another format gives the fix (the name to rename to) in
// every language; a declared format (-f) is the user's word and overrides the name.
TEST_F(CheckCli, FileNameRuleGivesTheFixAndYieldsToTheDeclaredFormat) {
  const std::string vhd = dir_.file("system.vhd");
  fs::copy_file(good_, vhd);
  std::set<std::string> advice;
  for (const char* lang : {"en", "zh", "ja", "id", "pt"}) {
    const CommandResult r = run_split(kCli + " check --output=json --lang " + lang + " " + vhd);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["failed-check"], "format");
    EXPECT_EQ(j["error-code"], "InvalidFormatSize");
    EXPECT_EQ(j["reason-id"], "format.name");
    const std::string a = j["checks"][0]["advice"];
    EXPECT_NE(a.find("system.qcow2"), std::string::npos) << lang << ": " << a;
    advice.insert(a);
  }
  EXPECT_EQ(advice.size(), 5u);
  const CommandResult declared = run_split(kCli + " check --output=json --lang en -f qcow2 " + vhd);
  EXPECT_EQ(declared.exit_code, 0) << declared.out;
  const auto d = nlohmann::json::parse(declared.out);
  EXPECT_EQ(d["checks"][0]["status"], "pass");
  EXPECT_EQ(d["checks"][0]["evidence"].back(),
            "the file name system.vhd says vhd; the declared format qcow2 overrides it");
  // info and convert follow the same rule.
  const CommandResult info = run(kCli + " info " + vhd);
  EXPECT_EQ(info.exit_code, 1);
  EXPECT_NE(info.out.find("rename it to 'system.qcow2', or declare it as qcow2"), std::string::npos) << info.out;
  EXPECT_EQ(run(kCli + " info -f qcow2 " + vhd).exit_code, 0);
  EXPECT_EQ(run(kCli + " convert -f qcow2 " + vhd + " " + dir_.file("out.qcow2")).exit_code, 0);
  // A declared format that disagrees with the content is still refused: -f overrides the name,
  // not the content.
  EXPECT_EQ(run(kCli + " check -f vmdk " + vhd).exit_code, 1);
}

// One JSON schema per command for its report and its errors (docs/json.md): a file that cannot
// be opened, a usage error and a report have the same top-level keys; "error" is null in a
// report and names code, message and path otherwise. Every key is documented.
TEST_F(CheckCli, OneJsonSchemaForReportsAndErrors) {
  auto keys = [](const nlohmann::json& j) {
    std::vector<std::string> k;
    for (const auto& [key, value] : j.items()) k.push_back(key);
    return k;
  };
  const std::string doc = run_ok("cat " + std::string(IG_SOURCE_DIR) + "/docs/json.md");
  const std::string missing = dir_.file("missing.qcow2");
  for (const std::string& command : {std::string("check"), std::string("info")}) {
    SCOPED_TRACE(command);
    const CommandResult ok = run_split(kCli + " " + command + " --output=json " + good_);
    ASSERT_EQ(ok.exit_code, 0) << ok.out;
    const auto report = nlohmann::json::parse(ok.out);
    EXPECT_TRUE(report["error"].is_null());
    const CommandResult gone = run_split(kCli + " " + command + " --output=json " + missing);
    EXPECT_EQ(gone.exit_code, 1);
    const auto error = nlohmann::json::parse(gone.out);
    const CommandResult bad = run_split(kCli + " " + command + " --output=json -f vdi " + good_);
    EXPECT_EQ(bad.exit_code, 2);
    const auto usage = nlohmann::json::parse(bad.out);
    EXPECT_EQ(keys(error), keys(report));
    EXPECT_EQ(keys(usage), keys(report));
    EXPECT_EQ(keys(error["error"]), (std::vector<std::string>{"code", "message", "path"}));
    EXPECT_EQ(error["error"]["code"], "not-found");
    EXPECT_EQ(error["error"]["path"], missing);
    EXPECT_NE(error["error"]["message"].get<std::string>().find("No such file or directory"), std::string::npos);
    EXPECT_EQ(usage["error"]["code"], "invalid-argument");
    EXPECT_TRUE(usage["error"]["path"].is_null());
    for (const std::string& k : keys(report)) {
      EXPECT_NE(doc.find("\"" + k + "\""), std::string::npos) << "docs/json.md does not document " << k;
    }
  }
  const auto e = nlohmann::json::parse(run_split(kCli + " check --output=json " + missing).out);
  EXPECT_EQ(e["result"], "error");
  EXPECT_EQ(e["reason-id"], "verdict.error");
  EXPECT_TRUE(e["checks"].empty());
  // Python's json module (any consumer's) reads both shapes too.
  EXPECT_EQ(
      run(kCli + " check --output=json " + missing + " | /usr/bin/python3 -c 'import json, sys; json.load(sys.stdin)'")
          .exit_code,
      0);
}

TEST_F(CheckCli, UsageErrors) {
  EXPECT_EQ(run(kCli + " check --lang fr " + good_).exit_code, 2);
  EXPECT_EQ(run(kCli + " check --arch sparc " + good_).exit_code, 2);
  EXPECT_EQ(run(kCli + " check -f qed " + good_).exit_code, 2);
  EXPECT_EQ(run(kCli + " check").exit_code, 2);
  const CommandResult missing = run(kCli + " check " + dir_.file("nope.qcow2"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("nope.qcow2"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace ig::test
