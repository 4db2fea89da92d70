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

// Issue 14: every -o option qemu-img measure takes for qcow2 that bears on the size gives
// qemu-img's numbers, on a small full image and on a 100 GiB sparse one (where the metadata's
// share shows: refcount width, extended L2 entries, preallocation).
TEST_F(Cli, MeasureTargetOptionsEqualQemuImg) {
  const std::string sparse = dir_.file("sparse.qcow2");
  run_ok("qemu-img create -q -f qcow2 " + sparse + " 100G && qemu-io -c 'write -P 1 1G 3M' " + sparse + " > /dev/null");
  for (const std::string& img : {raw_, sparse}) {
    for (const char* opts : {"compression_type=zlib", "compression_type=zstd", "refcount_bits=1", "refcount_bits=64",
                             "extended_l2=on", "extended_l2=on,cluster_size=32k", "preallocation=metadata",
                             "preallocation=falloc,cluster_size=512", "preallocation=full,refcount_bits=8"}) {
      const CommandResult ours = run(kCli + " measure -O qcow2 -o " + opts + " " + img);
      const CommandResult theirs = run("qemu-img measure -O qcow2 -o " + std::string(opts) + " " + img);
      ASSERT_EQ(ours.exit_code, 0) << opts << ": " << ours.out;
      EXPECT_EQ(ours.out, theirs.out) << img << " -o " << opts;
    }
  }
}

// Issue 14: convert writes every refcount width it accepts (qemu-img reads it back and finds no
// error), and refuses what it cannot write, listing exactly what it takes.
TEST_F(Cli, ConvertTargetOptionsAreWrittenOrRefused) {
  const std::string out = dir_.file("narrow.qcow2");
  const CommandResult r = run(kCli + " convert -c -o refcount_bits=1,compression_type=zstd " + raw_ + " " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto info = run_json("qemu-img info --output=json " + out);
  EXPECT_EQ(info["format-specific"]["data"]["refcount-bits"], 1);
  EXPECT_EQ(info["format-specific"]["data"]["compression-type"], "zstd");
  EXPECT_EQ(run("qemu-img check -q " + out).exit_code, 0);
  EXPECT_NE(run("qemu-img compare -f raw " + raw_ + " " + out).out.find("Images are identical"), std::string::npos);
  const std::string known = "(convert takes cluster_size, refcount_bits, compression_type)";
  const CommandResult l2 = run(kCli + " convert -o extended_l2=on " + raw_ + " " + dir_.file("l2.qcow2") + " 2>&1");
  EXPECT_EQ(l2.exit_code, 2);
  EXPECT_EQ(l2.out, "imagegate: -o extended_l2: not supported by convert " + known + "\n");
  const CommandResult unknown =
      run(kCli + " convert -o lazy_refcounts=on " + raw_ + " " + dir_.file("x.qcow2") + " 2>&1");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.out, "imagegate: -o lazy_refcounts: unknown option " + known + "\n");
  const CommandResult measured = run(kCli + " measure -o lazy_refcounts=on " + raw_ + " 2>&1");
  EXPECT_EQ(measured.exit_code, 2);
  EXPECT_NE(measured.out.find("(measure takes cluster_size, refcount_bits, compression_type, extended_l2, "
                              "preallocation)"),
            std::string::npos)
      << measured.out;
  EXPECT_EQ(run(kCli + " convert -o refcount_bits=3 " + raw_ + " " + dir_.file("x.qcow2")).exit_code, 2);
  const CommandResult no_c = run(kCli + " convert -o compression_type=zstd " + raw_ + " " + dir_.file("x.qcow2"));
  EXPECT_EQ(no_c.exit_code, 2);
  EXPECT_NE(no_c.out.find("compression_type needs -c"), std::string::npos) << no_c.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("x.qcow2")));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("l2.qcow2")));
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
  EXPECT_EQ(j["error"]["code"], "unsupported");
  EXPECT_EQ(j["error"]["path"], backed);
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

// A qcow2 cut short by truncate(1) in the middle of its data: qemu-io wrote 32 MiB, the file
// keeps 10 MiB. qemu-img check finds clusters past the end; so must `info` (exit 1, with the
// facts it read) and `check` (the format row, with the advice to upload again).
class CutQcow2 : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    cut_ = dir_.file("cut.qcow2");
    run_ok("qemu-img create -q -f qcow2 " + cut_ + " 64M && qemu-io -c 'write -P 0xab 0 32M' " + cut_ +
           " > /dev/null && truncate -s 10M " + cut_);
  }
  std::string cut_;
};

TEST_F(CutQcow2, InfoAndCheckNameTheTruncation) {
  const CommandResult oracle = run("qemu-img check " + cut_);
  EXPECT_NE(oracle.exit_code, 0);
  EXPECT_NE(oracle.out.find("exceeding the end of the file"), std::string::npos) << oracle.out;

  const CommandResult info = run(kCli + " info " + cut_);
  EXPECT_EQ(info.exit_code, 1) << info.out;
  EXPECT_NE(info.out.find("file format: qcow2"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("lies past the end of the file (10485760 bytes): truncated image?"), std::string::npos)
      << info.out;
  const CommandResult info_json = run_split(kCli + " info --output=json " + cut_);
  EXPECT_EQ(info_json.exit_code, 1);
  const auto ij = nlohmann::json::parse(info_json.out);
  EXPECT_EQ(ij["format"], "qcow2");
  EXPECT_EQ(ij["virtual-size"], 64 << 20);
  EXPECT_EQ(ij["error"]["code"], "truncated");
  EXPECT_EQ(ij["error"]["path"], cut_);

  const CommandResult check = run_split(kCli + " check --output=json --lang en " + cut_);
  EXPECT_EQ(check.exit_code, 1);
  const auto cj = nlohmann::json::parse(check.out);
  EXPECT_EQ(cj["failed-check"], "format");
  EXPECT_EQ(cj["error-code"], "InvalidFormatSize");
  EXPECT_EQ(cj["reason-id"], "format.truncated");
  EXPECT_EQ(cj["checks"][0]["advice"], "Upload the image again and compare its size with the original file.");
  EXPECT_EQ(cj["checks"][1]["status"], "pass");     // virtual-size: the header is intact
  EXPECT_EQ(cj["checks"][2]["status"], "skipped");  // qcow2-size: not blamed
  EXPECT_TRUE(cj["checks"][2]["advice"].is_null());
  // The human report puts the advice under the format row, before the next row.
  const std::string human = run(kCli + " check --lang en " + cut_).out;
  const auto row = human.find("✘ Image format: the file ends before what its own tables place in it");
  const auto advice = human.find("What to do: Upload the image again");
  const auto next = human.find("✔ Virtual size");
  ASSERT_NE(row, std::string::npos) << human;
  EXPECT_LT(row, advice) << human;
  EXPECT_LT(advice, next) << human;
  EXPECT_EQ(human.find("What to do:", advice + 1), std::string::npos) << human;
}

// `convert -p` draws 100 % only when the conversion succeeded (script(1) gives it a terminal).
TEST_F(CutQcow2, ProgressReachesOneHundredOnlyOnSuccess) {
  const CommandResult failed =
      run("script -qec " + shell_quote(kCli + " convert -p " + cut_ + " " + dir_.file("cut-out.qcow2")) + " /dev/null");
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_EQ(failed.out.find("(100.00/100%)"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("truncated image?"), std::string::npos) << failed.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("cut-out.qcow2")));
  const CommandResult done =
      run("script -qec " + shell_quote(kCli + " convert -p " + raw_ + " " + dir_.file("out.qcow2")) + " /dev/null");
  EXPECT_EQ(done.exit_code, 0) << done.out;
  EXPECT_NE(done.out.find("(100.00/100%)"), std::string::npos) << done.out;
}

// A destination that cannot be written is found before the source is read (the cut source's
// conversion would fail half-way: its error must not appear), and named alone.
TEST_F(CutQcow2, DestinationErrorsComeFirstAndNameOnlyTheDestination) {
  const std::string out_dir = dir_.file("out-dir");
  std::filesystem::create_directory(out_dir);
  const CommandResult d = run(kCli + " convert " + cut_ + " " + out_dir + " 2>&1");
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.out, "imagegate: " + out_dir +
                       ": is a directory; the output must be a file (it is written beside and renamed into place)\n");
  EXPECT_TRUE(std::filesystem::is_empty(out_dir));
  const std::string missing = dir_.file("no-such-dir") + "/x.qcow2";
  const CommandResult m = run(kCli + " convert " + cut_ + " " + missing + " 2>&1");
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_EQ(m.out, "imagegate: create a temporary file beside " + missing + ": No such file or directory\n");
  const CommandResult j = run_split(kCli + " convert --output=json " + cut_ + " " + out_dir);
  EXPECT_EQ(j.exit_code, 1);
  const auto e = nlohmann::json::parse(j.out)["error"];
  EXPECT_EQ(e["code"], "unsupported");
  EXPECT_EQ(e["path"], out_dir);
  // An unwritable directory: root writes anywhere, so a read-only tmpfs stands for it.
  const std::string ro = dir_.file("ro");
  std::filesystem::create_directory(ro);
  if (run("mount -t tmpfs -o ro,size=1m tmpfs " + ro).exit_code != 0) {
    GTEST_SKIP() << "mount -t tmpfs -o ro failed (not root?): the read-only case is not checked";
  }
  const CommandResult r = run(kCli + " convert " + cut_ + " " + ro + "/x.qcow2 2>&1");
  run("umount " + ro);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "imagegate: create a temporary file beside " + ro + "/x.qcow2: Read-only file system\n");
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
  // The service's commands tell their own exit codes, not the readers'.
  for (const char* command : {"serve", "worker"}) {
    const CommandResult service_help = run(kCli + " " + command + " --help");
    EXPECT_EQ(service_help.exit_code, 0);
    EXPECT_NE(service_help.out.find("0 stopped by SIGTERM or SIGINT"), std::string::npos) << service_help.out;
    EXPECT_EQ(service_help.out.find("it would import"), std::string::npos) << service_help.out;
  }
  const CommandResult version = run(kCli + " --version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("imagegate 0.", 0), 0u) << version.out;
}

}  // namespace
}  // namespace ig::test
