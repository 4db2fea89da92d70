// The `imagegate` binary: exit codes (0 readable, 1 refused, 2 usage), JSON keys as qemu-img's,
// and `measure` output identical to `qemu-img measure`'s for the same image.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "support/test_support.h"

namespace ig::test {
namespace {

const std::string kCli = IG_CLI_PATH;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    raw_ = dir_.file("disk.raw");
    make_pattern_raw(raw_, 16 << 20);
    qcow2_ = dir_.file("disk.qcow2");
    run_ok("qemu-img convert -f raw -O qcow2 " + raw_ + " " + qcow2_);
  }
  TempDir dir_;
  std::string raw_;
  std::string qcow2_;
};

TEST_F(Cli, InfoJsonFollowsQemuImgKeys) {
  const CommandResult r = run(kCli + " info --output=json " + qcow2_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto ours = nlohmann::json::parse(r.out);
  const auto theirs = run_json("qemu-img info --output=json " + qcow2_);
  for (const char* key : {"virtual-size", "cluster-size", "format", "actual-size", "dirty-flag"}) {
    EXPECT_EQ(ours[key], theirs[key]) << key;
  }
  EXPECT_EQ(ours["format-specific"]["data"]["compat"], theirs["format-specific"]["data"]["compat"]);
}

TEST_F(Cli, HumanInfoNamesFormatAndSize) {
  const CommandResult r = run(kCli + " info " + qcow2_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("file format: qcow2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("virtual size: 16 MiB (16777216 bytes)"), std::string::npos) << r.out;
}

TEST_F(Cli, MeasureOutputEqualsQemuImgMeasure) {
  for (const std::string& img : {qcow2_, raw_}) {
    for (const std::string& opts :
         {std::string(""), std::string(" -o cluster_size=2M"), std::string(" --output=json")}) {
      const CommandResult ours = run(kCli + " measure -O qcow2" + opts + " " + img);
      const CommandResult theirs = run("qemu-img measure -O qcow2" + opts + " " + img);
      ASSERT_EQ(ours.exit_code, 0) << ours.out;
      EXPECT_EQ(ours.out, theirs.out) << img << opts;
    }
  }
}

TEST_F(Cli, RefusalIsExitOneWithTheReason) {
  const std::string backed = dir_.file("backed.qcow2");
  run_ok("qemu-img create -q -f qcow2 -F raw -b /etc/passwd -u " + backed + " 1M");
  const CommandResult human = run(kCli + " info " + backed);
  EXPECT_EQ(human.exit_code, 1);
  EXPECT_NE(human.out.find("backing file '/etc/passwd' refused"), std::string::npos) << human.out;
  const CommandResult json = run(kCli + " info --output=json " + backed);
  EXPECT_EQ(json.exit_code, 1);
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["refused"], true);
  EXPECT_EQ(j["error"]["code"], "unsupported");
  const CommandResult missing = run(kCli + " info " + dir_.file("missing.qcow2"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("No such file or directory"), std::string::npos) << missing.out;
  const CommandResult mismatch = run(kCli + " info -f vmdk " + qcow2_);
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_NE(mismatch.out.find("declared vmdk, but the content is qcow2"), std::string::npos) << mismatch.out;
}

// Issue 15, finding 5: `imagegate check` and `info` on a FIFO return at once (under timeout(1),
// whose exit 124 would mean the old hang), naming the file type.
TEST_F(Cli, FifoIsRefusedAtOnce) {
  const std::string fifo = dir_.file("x.img");
  run_ok("mkfifo " + fifo);
  for (const char* cmd : {" check ", " info "}) {
    const CommandResult r = run("timeout 10 " + kCli + cmd + fifo + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << cmd << r.out;
    EXPECT_NE(r.out.find(fifo + ": is a FIFO, not a regular file"), std::string::npos) << r.out;
  }
  // A directory is a file that cannot be read, as a missing one is (1), not a usage error (2);
  // the name is printed once.
  const CommandResult d = run(kCli + " check " + dir_.path().string() + " 2>&1");
  EXPECT_EQ(d.exit_code, 1) << d.out;
  EXPECT_EQ(d.out, "imagegate: " + dir_.path().string() + ": is a directory, not a regular file or block device\n");
  const CommandResult missing = run(kCli + " info " + dir_.file("gone.img") + " 2>&1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out.find(dir_.file("gone.img")), missing.out.rfind(dir_.file("gone.img"))) << missing.out;
}

// Issue 15, finding 6: SIGINT or SIGTERM during `convert` leaves no temporary file behind. The
// conversion (zlib over 384 MiB of random data, several seconds) runs as a child with default
// signal dispositions; the signal is sent once its temporary file exists.
TEST_F(Cli, InterruptedConvertLeavesNothingBehind) {
  namespace fs = std::filesystem;
  const std::string source = dir_.file("random.raw");
  run_ok("head -c 384M /dev/urandom > " + source);
  for (const int sig : {SIGINT, SIGTERM}) {
    const fs::path out_dir = dir_.path() / ("out-" + std::to_string(sig));
    fs::create_directories(out_dir);
    const std::string destination = (out_dir / "x.qcow2").string();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      ::execl(kCli.c_str(), kCli.c_str(), "convert", "-c", "-f", "raw", "-O", "qcow2", source.c_str(),
              destination.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    auto temp_files = [&] {
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(out_dir)) names.push_back(e.path().filename().string());
      return names;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (temp_files().empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(temp_files().size(), 1u) << "no temporary file appeared";
    EXPECT_EQ(temp_files()[0].rfind("x.qcow2.imagegate-", 0), 0u) << temp_files()[0];
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // well into the conversion
    ASSERT_EQ(::kill(pid, sig), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    EXPECT_TRUE(temp_files().empty()) << temp_files()[0];
  }
}

TEST_F(Cli, UsageErrorsAreExitTwo) {
  EXPECT_EQ(run(kCli).exit_code, 2);
  EXPECT_EQ(run(kCli + " frobnicate x").exit_code, 2);
  EXPECT_EQ(run(kCli + " info").exit_code, 2);
  EXPECT_EQ(run(kCli + " info --output=xml " + qcow2_).exit_code, 2);
  const CommandResult bad_format = run(kCli + " info -f vdi " + qcow2_);
  EXPECT_EQ(bad_format.exit_code, 2);
  EXPECT_NE(bad_format.out.find("unknown format 'vdi'"), std::string::npos) << bad_format.out;
  const CommandResult bad_opt = run(kCli + " measure -O qcow2 -o cluster_size=3000 " + qcow2_);
  EXPECT_EQ(bad_opt.exit_code, 2);
  EXPECT_NE(bad_opt.out.find("cluster_size 3000 must be a power of two"), std::string::npos) << bad_opt.out;
  EXPECT_EQ(run(kCli + " measure -O vmdk " + qcow2_).exit_code, 2);
  const CommandResult help = run(kCli + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: imagegate "), std::string::npos) << help.out;  // not the build path
  EXPECT_NE(help.out.find("Exit codes: 0"), std::string::npos) << help.out;
  const CommandResult version = run(kCli + " --version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("imagegate 0.", 0), 0u) << version.out;
}

}  // namespace
}  // namespace ig::test
