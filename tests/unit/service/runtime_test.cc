// `imagegate serve` as a process: /healthz, /readyz (the catalog and the store answer, or 503
// naming the one that does not), /metrics in the Prometheus text format, an address already in
// use refused, and SIGTERM ending the process with status 0. Driven with curl, as an operator's
// probes would.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/test_support.h"

namespace ig::test {
namespace {

const std::string kCli = IG_CLI_PATH;

int free_port() {
  return std::stoi(run_ok(
      "/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'"));
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    std::ofstream(dir_.file("service.json"))
        << R"({"accounts": [{"secret_id": "AKIDtest", "secret_key": "k", "app_id": "1"}]})";
    pid_ = start(port_, log_ = dir_.file("serve.log"));
    for (int i = 0; i < 100 && run("curl -sf http://127.0.0.1:" + std::to_string(port_) + "/healthz").exit_code != 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t start(int port, const std::string& log) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const std::string listen = "127.0.0.1:" + std::to_string(port);
      const std::string config = dir_.file("service.json");
      const std::string data = dir_.file("data");
      // One open file for both streams, so that neither overwrites the other's lines.
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execl(kCli.c_str(), kCli.c_str(), "serve", "--config", config.c_str(), "--data", data.c_str(), "--listen",
              listen.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string log_;
};

TEST_F(Serve, HealthReadinessAndMetrics) {
  EXPECT_EQ(run_ok("curl -sf " + url("/healthz")), "ok\n");
  const std::string ready = run_ok("curl -sf " + url("/readyz"));
  EXPECT_NE(ready.find("catalog (sqlite): ok"), std::string::npos) << ready;
  EXPECT_NE(ready.find("image store (" + dir_.file("data") + "/images): ok"), std::string::npos) << ready;
  // An unsigned call is answered with the API's error and counted under its code; the action a
  // client names is not a label unless the API knows it.
  run_ok("curl -s -d '' -H 'X-TC-Action: NoSuchThing<script>' " + url("/"));
  run_ok("curl -s -d '{}' -H 'X-TC-Action: DescribeImages' -H 'X-TC-Version: 2017-03-12' " + url("/"));
  const std::string metrics = run_ok("curl -sf " + url("/metrics"));
  EXPECT_NE(metrics.find("# TYPE imagegate_imports_total counter"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("imagegate_import_queue_depth 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("imagegate_requests_total{action=\"unknown\",code=\"MissingParameter\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find("imagegate_requests_total{action=\"DescribeImages\",code=\"AuthFailure.InvalidAuthorization\"} 1\n"),
      std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("<script>"), std::string::npos);
  EXPECT_NE(metrics.find("imagegate_request_duration_seconds_count 2\n"), std::string::npos) << metrics;
  // The logs are JSON lines.
  const std::string log = read_file(log_);
  EXPECT_NE(log.find(R"("msg":"listening")"), std::string::npos) << log;
}

TEST_F(Serve, NotReadyWhenTheStoreIsGone) {
  std::filesystem::remove_all(dir_.file("data") + "/images");
  const CommandResult r = run("curl -s -w '%{http_code}' " + url("/readyz"));
  EXPECT_NE(r.out.find("catalog (sqlite): ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("image store"), std::string::npos) << r.out;
  EXPECT_TRUE(r.out.ends_with("503")) << r.out;
}

TEST_F(Serve, AnAddressInUseIsRefused) {
  const std::string log = dir_.file("second.log");
  const pid_t second = start(port_, log);
  int status = 0;
  ASSERT_EQ(::waitpid(second, &status, 0), second);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(read_file(log).find("Address already in use"), std::string::npos) << read_file(log);
  EXPECT_EQ(run_ok("curl -sf " + url("/healthz")), "ok\n");  // the first one still answers
}

TEST_F(Serve, SigtermEndsTheProcessCleanly) {
  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  int status = -1;
  for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (WIFEXITED(status)) pid_ = -1;
  ASSERT_TRUE(WIFEXITED(status)) << "serve did not exit within 10 s of SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(read_file(log_).find(R"("msg":"stopped")"), std::string::npos) << read_file(log_);
}

}  // namespace
}  // namespace ig::test
