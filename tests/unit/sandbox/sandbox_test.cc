// The sandbox: each way a hostile parse could misbehave — open a host file, open a socket, start
// a program, allocate without bound, spin, hang, write without bound, flood the result — run for
// real in the sandboxed child and stopped, with its named outcome; and a well-behaved function's
// result, printed text, progress and threads intact. And the started child (SandboxProgram): its
// request, descriptors and result intact, the same allow-list and budgets, nothing of the caller's
// held locks or environment, an unknown entry refused.
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "support/test_support.h"

namespace ig {
namespace {

using test::TempDir;

SandboxRun run_ok_or_fail(const std::function<std::string(SandboxChannel&)>& fn, const SandboxSpec& spec) {
  Result<SandboxRun> run = run_sandboxed(fn, spec);
  EXPECT_TRUE(run.has_value()) << (run ? "" : run.error().message);
  return run ? *run : SandboxRun{};
}

TEST(Sandbox, ResultAndPrintedTextComeBackIntact) {
  std::string sent;
  for (int i = 0; i < (1 << 20); ++i) sent.push_back(static_cast<char>((i * 7919) & 0xff));
  SandboxSpec spec;
  spec.capture_stdout = true;
  const SandboxRun run = run_ok_or_fail(
      [&](SandboxChannel&) {
        std::printf("printed in the child\n");
        return sent;
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, sent);
  EXPECT_EQ(run.captured_stdout, "printed in the child\n");
}

TEST(Sandbox, ChildChangesAreNotSeenByTheCaller) {
  int value = 1;
  const SandboxRun run = run_ok_or_fail(
      [&](SandboxChannel&) {
        value = 2;
        return std::to_string(value);
      },
      {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, "2");
  EXPECT_EQ(value, 1);
}

TEST(Sandbox, ThreadsAndProgressWork) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  SandboxSpec spec;
  spec.on_progress = [&](std::uint64_t done, std::uint64_t all) { seen.emplace_back(done, all); };
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel& channel) {
        std::atomic<int> sum{0};
        std::vector<std::thread> threads;
        for (int i = 1; i <= 4; ++i) threads.emplace_back([&sum, i] { sum += i; });
        for (std::thread& t : threads) t.join();
        channel.progress(1, 2);
        channel.progress(2, 2);
        return std::to_string(sum.load());
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, "10");
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 2}, {2, 2}}));
}

TEST(Sandbox, KeptDescriptorIsReadableAndOthersAreClosed) {
  TempDir dir;
  test::write_file(dir.file("kept"), test::text("kept bytes"));
  test::write_file(dir.file("other"), test::text("other bytes"));
  const int kept = ::open(dir.file("kept").c_str(), O_RDONLY | O_CLOEXEC);
  const int other = ::open(dir.file("other").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(kept, 0);
  ASSERT_GE(other, 0);
  SandboxSpec spec;
  spec.keep_fds = {kept};
  const SandboxRun run = run_ok_or_fail(
      [&](SandboxChannel&) {
        char buffer[64] = {};
        const ssize_t n = ::pread(kept, buffer, sizeof buffer, 0);
        char ignored[8];
        const bool other_open = ::pread(other, ignored, sizeof ignored, 0) >= 0;
        return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0) +
               (other_open ? "|other open" : "|other closed");
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, "kept bytes|other closed");
  ::close(kept);
  ::close(other);
}

TEST(Sandbox, OpeningAHostFileKillsTheChild) {
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        const int fd = ::open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        char buffer[256] = {};
        const ssize_t n = fd >= 0 ? ::read(fd, buffer, sizeof buffer) : -1;
        return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
      },
      {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kForbiddenSyscall) << run.detail;
  EXPECT_EQ(run.result, "");
}

TEST(Sandbox, OpeningASocketKillsTheChild) {
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return std::string(fd >= 0 ? "socket opened" : "socket refused");
      },
      {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kForbiddenSyscall) << run.detail;
  EXPECT_EQ(run.result, "");
}

TEST(Sandbox, StartingAProgramKillsTheChild) {
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        char* const argv[] = {const_cast<char*>("/bin/true"),
                              nullptr};  // NOLINT(cppcoreguidelines-pro-type-const-cast): execv's signature
        ::execv("/bin/true", argv);
        return std::string("exec failed");
      },
      {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kForbiddenSyscall) << run.detail;
}

TEST(Sandbox, ForkingAProcessKillsTheChild) {
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        const pid_t p = ::fork();
        if (p == 0) ::_exit(0);
        return std::string(p > 0 ? "forked" : "fork failed");
      },
      {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kForbiddenSyscall) << run.detail;
}

TEST(Sandbox, EightGibibytesTouchedIsOutOfMemory) {
  SandboxSpec spec;
  spec.limits.sandbox_memory_bytes = std::uint64_t{512} << 20;
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        constexpr std::size_t kSize = std::size_t{8} << 30;
        auto* p = new std::byte[kSize];
        volatile std::byte* touch = p;
        for (std::size_t i = 0; i < kSize; i += 4096) touch[i] = std::byte{1};
        std::size_t sum = 0;
        for (std::size_t i = 0; i < kSize; i += 1 << 20) sum += static_cast<std::size_t>(touch[i]);
        delete[] p;
        return std::to_string(sum);
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOutOfMemory) << run.detail;
  EXPECT_EQ(run.result, "");
}

TEST(Sandbox, SpinningPastTheCpuBudgetIsStopped) {
  SandboxSpec spec;
  spec.limits.sandbox_cpu_seconds = 1;
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        volatile std::uint64_t n = 0;
        for (;;) n = n + 1;
        return std::string("never");
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kCpuBudget) << run.detail;
}

TEST(Sandbox, SleepingPastTheWallClockBudgetIsStopped) {
  SandboxSpec spec;
  spec.limits.sandbox_wall_seconds = 1;
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        ::sleep(600);
        return std::string("woke");
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kWallClockBudget) << run.detail;
}

TEST(Sandbox, WritingPastTheOutputBudgetIsStopped) {
  TempDir dir;
  const int out = ::open(dir.file("out").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0);
  SandboxSpec spec;
  spec.keep_fds = {out};
  spec.limits.sandbox_output_bytes = std::uint64_t{1} << 20;
  const SandboxRun run = run_ok_or_fail(
      [&](SandboxChannel&) {
        const std::vector<char> block(65536, 'x');
        for (std::uint64_t offset = 0; offset < (std::uint64_t{4} << 20); offset += block.size()) {
          if (::pwrite(out, block.data(), block.size(), static_cast<off_t>(offset)) < 0) return std::string("failed");
        }
        return std::string("wrote 4 MiB");
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOutputBudget) << run.detail;
  struct stat st {};
  ASSERT_EQ(::fstat(out, &st), 0);
  EXPECT_LE(static_cast<std::uint64_t>(st.st_size), std::uint64_t{1} << 20);
  ::close(out);
}

TEST(Sandbox, AResultOverItsBudgetIsRefused) {
  SandboxSpec spec;
  spec.limits.sandbox_result_bytes = 1024;
  const SandboxRun run = run_ok_or_fail([](SandboxChannel&) { return std::string(1 << 20, 'r'); }, spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kResultBudget) << run.detail;
  EXPECT_EQ(run.result, "");
}

TEST(Sandbox, AnAbortIsACrash) {
  const SandboxRun run = run_ok_or_fail([](SandboxChannel&) -> std::string { std::abort(); }, {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kCrashed) << run.detail;
}

TEST(Sandbox, AWriteThroughANullPointerIsACrash) {
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel&) {
        volatile int* p = nullptr;
        *p = 1;
        return std::string("wrote");
      },
      {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kCrashed) << run.detail;
}

TEST(Sandbox, AnExceptionIsACrashWithItsMessage) {
  const SandboxRun run =
      run_ok_or_fail([](SandboxChannel&) -> std::string { throw std::runtime_error("thrown in the child"); }, {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kCrashed);
  EXPECT_EQ(run.detail, "thrown in the child");
}

TEST(Sandbox, StopKillsTheChild) {
  std::stop_source stop;
  SandboxSpec spec;
  spec.stop = stop.get_token();
  spec.on_progress = [&](std::uint64_t, std::uint64_t) { stop.request_stop(); };
  const SandboxRun run = run_ok_or_fail(
      [](SandboxChannel& channel) {
        channel.progress(0, 1);
        ::sleep(600);
        return std::string("woke");
      },
      spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kStopped) << run.detail;
}

TEST(Sandbox, ADescriptorThatIsNotOpenIsRefused) {
  SandboxSpec spec;
  spec.keep_fds = {1 << 20};
  const Result<SandboxRun> run = run_sandboxed([](SandboxChannel&) { return std::string(); }, spec);
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidArgument);
}

// --- The started child: this test program again (tests/support/test_main.cc) ---------------------

// Held by the caller while its child runs (Started.HoldsNoneOfTheCallersLocks).
std::mutex g_held;

std::string echo_entry(std::string_view request, std::span<const int> fds, SandboxChannel& channel) {
  channel.progress(1, 2);
  std::string reply = std::string(request) + "|" + std::to_string(fds.size());
  if (!fds.empty()) {
    char buffer[64] = {};
    const ssize_t n = ::pread(fds[0], buffer, sizeof buffer, 0);
    reply += "|" + std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  return reply;
}
std::string lock_entry(std::string_view, std::span<const int>, SandboxChannel&) {
  const std::lock_guard<std::mutex> hold(g_held);
  return "locked";
}
std::string environment_entry(std::string_view, std::span<const int>, SandboxChannel&) {
  return std::getenv("IG_TEST_SANDBOX_SECRET") != nullptr ? "secret seen" : "no secret";
}
std::string open_entry(std::string_view, std::span<const int>, SandboxChannel&) {
  const int fd = ::open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  return fd >= 0 ? "opened" : "refused";
}
std::string spin_entry(std::string_view, std::span<const int>, SandboxChannel&) {
  std::atomic<std::uint64_t> spins{0};
  for (;;) spins.fetch_add(1, std::memory_order_relaxed);
}
const SandboxEntryRegistration kEcho{"test-echo", &echo_entry};
const SandboxEntryRegistration kLock{"test-lock", &lock_entry};
const SandboxEntryRegistration kEnvironment{"test-environment", &environment_entry};
const SandboxEntryRegistration kOpen{"test-open", &open_entry};
const SandboxEntryRegistration kSpin{"test-spin", &spin_entry};

SandboxRun started_ok_or_fail(const std::string& entry, const std::string& request, const SandboxSpec& spec) {
  Result<SandboxRun> run = run_sandboxed(SandboxProgram{entry, request}, spec);
  EXPECT_TRUE(run.has_value()) << (run ? "" : run.error().message);
  return run ? *run : SandboxRun{};
}

TEST(Started, RequestDescriptorsProgressAndResultCross) {
  TempDir dir;
  test::write_file(dir.file("kept"), test::text("kept bytes"));
  const int kept = ::open(dir.file("kept").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(kept, 0);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  SandboxSpec spec;
  spec.keep_fds = {kept};
  spec.on_progress = [&](std::uint64_t done, std::uint64_t all) { seen.emplace_back(done, all); };
  const SandboxRun run = started_ok_or_fail("test-echo", "the request", spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, "the request|1|kept bytes");
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 2}}));
  ::close(kept);
}

// The regression of a forked child: a lock another thread of the caller held at the fork stayed
// held in the child for good (the worker's child hung in the allocator). A started child has its
// own: this entry takes the lock the caller holds throughout, and returns.
TEST(Started, HoldsNoneOfTheCallersLocks) {
  const std::lock_guard<std::mutex> hold(g_held);
  SandboxSpec spec;
  spec.limits.sandbox_wall_seconds = 20;
  const SandboxRun run = started_ok_or_fail("test-lock", "", spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, "locked");
}

TEST(Started, KeepsNoneOfTheCallersEnvironment) {
  ::setenv("IG_TEST_SANDBOX_SECRET", "a credential", 1);
  const SandboxRun run = started_ok_or_fail("test-environment", "", {});
  ::unsetenv("IG_TEST_SANDBOX_SECRET");
  EXPECT_EQ(run.outcome, SandboxOutcome::kOk) << run.detail;
  EXPECT_EQ(run.result, "no secret");
}

TEST(Started, OpeningAHostFileKillsTheChild) {
  const SandboxRun run = started_ok_or_fail("test-open", "", {});
  EXPECT_EQ(run.outcome, SandboxOutcome::kForbiddenSyscall) << run.detail;
}

TEST(Started, SpinningPastTheCpuBudgetIsStopped) {
  SandboxSpec spec;
  spec.limits.sandbox_cpu_seconds = 1;
  const SandboxRun run = started_ok_or_fail("test-spin", "", spec);
  EXPECT_EQ(run.outcome, SandboxOutcome::kCpuBudget) << run.detail;
}

TEST(Started, AnUnknownEntryOrAnOversizedRequestIsRefused) {
  const Result<SandboxRun> unknown = run_sandboxed(SandboxProgram{"no-such-entry", ""}, {});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message, ::testing::HasSubstr("no entry 'no-such-entry'"));
  const Result<SandboxRun> big = run_sandboxed(SandboxProgram{"test-echo", std::string(100 * 1024, 'x')}, {});
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  const Result<SandboxRun> missing = run_sandboxed(SandboxProgram{"test-echo", "", "/nonexistent/program"}, {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, ::testing::HasSubstr("/nonexistent/program"));
}

}  // namespace
}  // namespace ig
