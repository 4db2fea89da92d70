// The sandbox at the command line: `info`, `measure`, `check` and `convert` give the same answer,
// byte for byte, whether the image is read in the sandbox (the default) or in the process
// (--no-sandbox), on images made by qemu-img and a real guest tree.
#include <filesystem>

#include "support/guest.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;
const std::string kCli = IG_CLI_PATH;

class SandboxCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = std::make_unique<LinuxTree>(dir_.path() / "tree");
    good_ = make_guest_disk(dir_, (dir_.path() / "tree").string());
    fs::rename(good_, dir_.file("good.qcow2"));
    good_ = dir_.file("good.qcow2");
    tree_->write("/etc/cloud/cloud-init.disabled", "");
    bad_ = make_guest_disk(dir_, (dir_.path() / "tree").string());
    run_ok("qemu-img convert -O vpc " + good_ + " " + dir_.file("good.vhd"));
  }
  // `command` run both ways: the same stdout, stderr and exit code.
  void expect_same(const std::string& command) {
    const CommandResult in_sandbox = run_split(kCli + " " + command);
    const std::string first_word = command.substr(0, command.find(' '));
    const CommandResult direct =
        run_split(kCli + " " + first_word + " --no-sandbox" + command.substr(first_word.size()));
    EXPECT_EQ(in_sandbox.exit_code, direct.exit_code) << command << "\n" << in_sandbox.err;
    EXPECT_EQ(in_sandbox.out, direct.out) << command;
    EXPECT_EQ(in_sandbox.err, direct.err) << command;
    EXPECT_FALSE(in_sandbox.out.empty()) << command;
  }
  TempDir dir_;
  std::unique_ptr<LinuxTree> tree_;
  std::string good_;
  std::string bad_;
};

TEST_F(SandboxCli, CheckGivesTheSameReportWithAndWithoutTheSandbox) {
  for (const std::string& image : {good_, bad_, dir_.file("good.vhd")}) {
    expect_same("check --output=json " + image);
    expect_same("check --lang en " + image);
    expect_same("check --lang zh --force " + image);
  }
  // The JSON report of the passing image is the real one, not an error document.
  const auto j = nlohmann::json::parse(run_split(kCli + " check --output=json " + good_).out);
  EXPECT_EQ(j["result"], "pass");
  EXPECT_EQ(j["os"]["distribution"], "debian");
  const auto b = nlohmann::json::parse(run_split(kCli + " check --output=json " + bad_).out);
  EXPECT_EQ(b["error-code"], "CloudInitNotInstalled");
}

TEST_F(SandboxCli, InfoAndMeasureGiveTheSameAnswers) {
  for (const std::string& image : {good_, dir_.file("good.vhd")}) {
    expect_same("info " + image);
    expect_same("info --output=json " + image);
    expect_same("measure --output=json " + image);
    expect_same("measure --exact " + image);
  }
  // And qemu-img's own: the sandboxed measure is not a different computation.
  const auto ours = nlohmann::json::parse(run_split(kCli + " measure --output=json " + good_).out);
  EXPECT_EQ(ours["required"], run_json("qemu-img measure -O qcow2 --output=json " + good_)["required"]);
}

TEST_F(SandboxCli, ConvertWritesTheSameFileWithAndWithoutTheSandbox) {
  const std::string sandboxed = dir_.file("sandboxed.qcow2");
  const std::string direct = dir_.file("direct.qcow2");
  const CommandResult a = run_split(kCli + " convert --output=json " + good_ + " " + sandboxed);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const CommandResult b = run_split(kCli + " convert --no-sandbox " + good_ + " " + direct);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["destination"], sandboxed);
  run_ok("cmp " + sandboxed + " " + direct);
  run_ok("qemu-img compare " + good_ + " " + sandboxed);
  run_ok("qemu-img check " + sandboxed);
  // Nothing is left beside the output: the sandboxed writer's temporary file was committed.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_.path())) names.push_back(e.path().filename().string());
  for (const std::string& n : names) EXPECT_EQ(n.find(".imagegate-"), std::string::npos) << n;
}

TEST_F(SandboxCli, NoSandboxIsDocumentedInHelp) {
  for (const char* command : {"check", "info", "measure", "convert"}) {
    const CommandResult r = run(kCli + " " + command + " --help");
    EXPECT_NE(r.out.find("--no-sandbox"), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace ig::test
