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
    // Written back now: a report's actual-size is the file's st_blocks, which the file system
    // changes when it allocates delayed writes (532480 bytes, then 536576 in the next run, once here).
    run_ok("sync " + good_ + " " + bad_ + " " + dir_.file("good.vhd"));
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

// The test build's fault hook (IG_SANDBOX_FAULT, main.cc) makes the sandboxed reader act as a
// compromised parser would: the command stops it and names the outcome in its own report.
TEST_F(SandboxCli, AReaderThatOpensAFileOrASocketIsStoppedAndNamedInTheReport) {
  for (const std::string fault : {"open", "socket"}) {
    const std::string env = "IG_SANDBOX_FAULT=" + fault + " ";
    const CommandResult j = run_split(env + kCli + " check --output=json --lang en " + good_);
    EXPECT_EQ(j.exit_code, 1) << fault;
    const auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["result"], "error");
    EXPECT_EQ(doc["error"]["code"], "internal");
    EXPECT_EQ(doc["error"]["path"], good_);
    EXPECT_NE(doc["error"]["message"].get<std::string>().find(
                  "reading the image was stopped: the image reader attempted a system call it is not allowed"),
              std::string::npos)
        << doc["error"]["message"];
    EXPECT_TRUE(doc["os"].is_null());
    // In the report's language, on stderr for the human report; nothing on stdout.
    const CommandResult zh = run_split(env + kCli + " check --lang zh " + good_);
    EXPECT_EQ(zh.exit_code, 1);
    EXPECT_EQ(zh.out, "");
    EXPECT_NE(zh.err.find("镜像读取程序尝试了不允许的系统调用"), std::string::npos) << zh.err;
    // convert: refused the same way, and nothing is left behind.
    const std::string out = dir_.file("faulted-" + fault + ".qcow2");
    const CommandResult c = run_split(env + kCli + " convert " + good_ + " " + out);
    EXPECT_EQ(c.exit_code, 1);
    EXPECT_NE(c.err.find("attempted a system call it is not allowed"), std::string::npos) << c.err;
    EXPECT_FALSE(fs::exists(out));
    // --no-sandbox runs no hook: the real report.
    const CommandResult direct = run_split(env + kCli + " check --no-sandbox --output=json " + good_);
    EXPECT_EQ(direct.exit_code, 0) << direct.err;
  }
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".imagegate-"), std::string::npos) << e.path();
  }
}

TEST_F(SandboxCli, AReaderThatCrashesIsNamedACrash) {
  const CommandResult r = run_split("IG_SANDBOX_FAULT=abort " + kCli + " info --output=json " + good_);
  EXPECT_EQ(r.exit_code, 1);
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["error"]["code"], "internal");
  EXPECT_NE(doc["error"]["message"].get<std::string>().find("reading the image failed: the image reader crashed"),
            std::string::npos)
      << doc["error"]["message"];
  EXPECT_TRUE(doc["format"].is_null());
}

// The budgets are the user's to set: a reader that sleeps, computes or allocates without end is
// stopped by the budget given on the command line, and the message names that budget's value.
TEST_F(SandboxCli, BudgetsSetOnTheCommandLineStopAReaderThatRunsAway) {
  struct Case {
    std::string fault;
    std::string options;
    std::string message;
  };
  for (const Case& c : {Case{"sleep", "--sandbox-time 1", "took longer than its time budget of 1 seconds"},
                        Case{"spin", "--sandbox-cpu 1", "used more than its CPU-time budget of 1 seconds"},
                        Case{"memory", "--sandbox-memory 96M", "more memory than its budget of 96"}}) {
    const CommandResult r =
        run_split("IG_SANDBOX_FAULT=" + c.fault + " " + kCli + " info --output=json " + c.options + " " + good_);
    EXPECT_EQ(r.exit_code, 1) << c.fault << ": " << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    EXPECT_NE(doc["error"]["message"].get<std::string>().find(c.message), std::string::npos)
        << c.fault << ": " << doc["error"]["message"];
  }
  // convert's output budget: a 256 KiB budget for a conversion that writes more.
  const std::string out = dir_.file("over-budget.qcow2");
  const CommandResult c = run_split(kCli + " convert --sandbox-output 256K " + good_ + " " + out);
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_NE(c.err.find("grew past the budget of 256 KiB"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(out));
  // A budget that cannot hold the readers is a usage error naming the option.
  const CommandResult tiny = run_split(kCli + " info --sandbox-memory 1M " + good_);
  EXPECT_EQ(tiny.exit_code, 2);
  EXPECT_NE(tiny.err.find("--sandbox-memory"), std::string::npos) << tiny.err;
}

TEST_F(SandboxCli, NoSandboxIsDocumentedInHelp) {
  for (const char* command : {"check", "info", "measure", "convert"}) {
    const CommandResult r = run(kCli + " " + command + " --help");
    for (const char* option : {"--no-sandbox", "--sandbox-memory", "--sandbox-cpu", "--sandbox-time"}) {
      EXPECT_NE(r.out.find(option), std::string::npos) << command << " " << option;
    }
  }
}

}  // namespace
}  // namespace ig::test
