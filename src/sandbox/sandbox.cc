#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <set>

#if defined(__SANITIZE_ADDRESS__)
#define IG_SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IG_SANDBOX_ASAN 1
#endif
#endif
#ifdef IG_SANDBOX_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

// libseccomp's argument macros (SCMP_A0 …) build C99 compound literals with fields left out;
// clang (the fuzz preset) warns of both in C++. The macros are the library's documented API.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wc99-extensions"
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#endif

namespace ig {
namespace {

// The child's result pipe, for the sanitizer hook below (-1 outside a sandboxed child).
int g_child_result_fd = -1;

// The child's own exit statuses, beside 0 (the result was sent).
constexpr int kExitOutOfMemory = 86;  // std::bad_alloc escaped the function
constexpr int kExitException = 87;    // another exception escaped it (its what() was sent)
constexpr int kExitSetup = 88;        // the sandbox could not be set up (the reason was sent)

// Frames on the result pipe: a tag byte, then the payload.
constexpr char kFrameProgress = 'P';  // 16 bytes: done, all (host order)
constexpr char kFrameResult = 'R';    // 8-byte length, then the bytes
constexpr char kFrameError = 'E';     // 8-byte length, then the message (an exception, setup)
constexpr std::string_view kSanitizerReport = "a sanitizer report (on stderr)";

// The parent's watch interval: the memory watch overshoots by what the child can touch in it.
constexpr int kWatchMillis = 20;

void send_frame(int fd, char tag, std::string_view payload) {
  const std::uint64_t size = payload.size();
  if (!write_all(fd, &tag, 1) || !write_all(fd, &size, sizeof size)) return;
  write_all(fd, payload.data(), payload.size());
}

// The allow-list. Everything else kills the process (SCMP_ACT_KILL_PROCESS): a parser has no
// reason to make any other call, so one that does is compromised or broken, and the parent names
// it. Why each call is here: docs/security.md, "Sandbox".
int load_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return -ENOMEM;
  int rc = 0;
  auto allow = [&](int nr) {
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
  };
  // Reading the image and writing the output, through the descriptors the child was given.
  for (int nr :
       {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
        SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(ftruncate),
        SCMP_SYS(fallocate), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range), SCMP_SYS(fadvise64)}) {
    allow(nr);
  }
  // fstat() is fstatat(fd, "", AT_EMPTY_PATH) in glibc: allowed only in that form.
  if (rc == 0) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                          SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  }
  // Memory.
  for (int nr :
       {SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk)}) {
    allow(nr);
  }
  // Threads: the converter's workers. clone only with CLONE_THREAD (a thread, never a process);
  // clone3 passes its flags in memory a filter cannot read, so it fails with ENOSYS and glibc
  // falls back to clone.
  if (rc == 0) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  }
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  for (int nr :
       {SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
        SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(gettid), SCMP_SYS(getpid)}) {
    allow(nr);
  }
  // Signals to itself: abort() raises SIGABRT with tgkill on its own process; the sanitizers
  // install their handlers and alternate stacks.
  if (rc == 0) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                          SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid())));
  }
  for (int nr : {SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack)}) {
    allow(nr);
  }
  // Time, and limits read (never set): the converter's statistics, the sanitizers' stack bounds.
  for (int nr : {SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
                 SCMP_SYS(clock_nanosleep), SCMP_SYS(getrusage), SCMP_SYS(getrandom), SCMP_SYS(getrlimit)}) {
    allow(nr);
  }
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));
  // isatty(): the terminal's attributes read, never set (a report's colours, the sanitizers').
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
  // A sanitizer's crash handler reads /proc/self/exe before its report begins: refused, not
  // fatal, so that the report starts and says it is one (__asan_on_error below).
  for (int nr : {SCMP_SYS(readlink), SCMP_SYS(readlinkat)}) {
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
#ifdef IG_SANDBOX_ASAN
  // The sanitizer runtime opens /proc/self/cmdline and the like with the raw open(2) call, which
  // glibc never makes (its open() is openat(2)): refused, not fatal, in sanitizer builds only,
  // so that a crash report completes. Every other way to open a file still kills.
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(open), 0);
  // ASan tells whether memory is readable by writing it into a pipe of its own (at a thread's
  // start, when unwinding an exception). A pipe connects the child only to itself.
  allow(SCMP_SYS(pipe2));
#endif
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc;
}

// The child could not set up its sandbox: says why on the result pipe and ends.
[[noreturn]] void setup_failed(int result_fd, std::string_view what) {
  send_frame(result_fd, kFrameError, what);
  ::_exit(kExitSetup);
}
[[noreturn]] void setup_failed(int result_fd, std::string_view call, int err) {
  setup_failed(result_fd, fmt::format("{}: {}", call, std::strerror(err)));
}

// The child's budgets and filter, once it holds only its descriptors: the rlimits, the budget
// signals at their default action, the sanitizer told, the allow-list loaded; or the child ends,
// saying why.
void enter_sandbox(const Limits& limits, int result_fd) {
  auto fail_setup = [&](const char* what, int err) { setup_failed(result_fd, what, err); };
  // The budgets. No core file: a crash is reported by its signal.
  auto limit = [&](int resource, std::uint64_t soft, std::uint64_t hard, const char* name) {
    const rlimit rl{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
    if (::setrlimit(resource, &rl) != 0) fail_setup(name, errno);
  };
  limit(RLIMIT_CORE, 0, 0, "setrlimit(RLIMIT_CORE)");
  // SIGXCPU at the budget, SIGKILL a second later if it is caught or ignored.
  limit(RLIMIT_CPU, limits.sandbox_cpu_seconds, limits.sandbox_cpu_seconds + 1, "setrlimit(RLIMIT_CPU)");
  limit(RLIMIT_FSIZE, limits.sandbox_output_bytes, limits.sandbox_output_bytes, "setrlimit(RLIMIT_FSIZE)");
#ifndef IG_SANDBOX_ASAN
  // Under ASan the shadow memory alone reserves terabytes of address space, so RLIMIT_AS would
  // refuse every allocation: there only the parent's watch of the resident set bounds memory.
  limit(RLIMIT_AS, limits.sandbox_memory_bytes, limits.sandbox_memory_bytes, "setrlimit(RLIMIT_AS)");
#endif
  // The budget signals end the child as their default action does, whatever the caller had set
  // (the CLI blocks SIGINT and SIGTERM for its interrupt thread; that stays: the parent stops the
  // child).
  for (int sig : {SIGXCPU, SIGXFSZ, SIGSYS, SIGPIPE}) ::signal(sig, SIG_DFL);
  sigset_t unblock;
  sigemptyset(&unblock);
  for (int sig : {SIGXCPU, SIGXFSZ, SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE})
    sigaddset(&unblock, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
#ifdef IG_SANDBOX_ASAN
  // Lets the sanitizer read what it needs for its reports (the memory map) before it no longer
  // can.
  __sanitizer_sandbox_on_notify(nullptr);
#endif
#ifndef IG_SANDBOX_ASAN
  // glibc's malloc opens /proc/sys/vm/overcommit_memory the first time it gives the top of a
  // thread's heap back to the kernel (arena.c, check_may_shrink_heap): with the filter loaded
  // that open kills the child, and the converter's threads free enough to reach it (a release
  // build's conversion of a 900 MiB Debian disk died so). A trim threshold no heap reaches keeps
  // malloc from trimming, and so from opening; the child is short-lived, and its memory is
  // watched by its resident set. ASan's allocator is not glibc's.
  ::mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
  if (const int rc = load_filter(); rc != 0) fail_setup("seccomp", -rc);
  g_child_result_fd = result_fd;
}

// Closes every descriptor of this process but `keep`.
void close_all_but(const std::set<int>& keep) {
  int from = 0;
  for (int fd : keep) {
    if (fd > from) ::close_range(static_cast<unsigned>(from), static_cast<unsigned>(fd - 1), 0);
    from = fd + 1;
  }
  ::close_range(static_cast<unsigned>(from), ~0U, 0);
}

// Runs the function in the sandboxed child and sends what it returned. Never returns.
[[noreturn]] void run_in_sandbox(const std::function<std::string(SandboxChannel&)>& fn, int result_fd) {
  SandboxChannel channel(result_fd);
  try {
    std::string result = fn(channel);
    std::fflush(stdout);
    send_frame(result_fd, kFrameResult, result);
  } catch (const std::bad_alloc&) {
    ::_exit(kExitOutOfMemory);
  } catch (const std::exception& e) {
    send_frame(result_fd, kFrameError, e.what());
    ::_exit(kExitException);
  }
  ::_exit(0);
}

// The forked child: keep what it was given, set the budgets, load the filter, run. Never returns.
[[noreturn]] void run_child(const std::function<std::string(SandboxChannel&)>& fn, const SandboxSpec& spec,
                            int result_fd, int stdout_fd) {
  auto fail_setup = [&](const char* what, int err) { setup_failed(result_fd, what, err); };
  // Die with the parent, which alone watches the budgets.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_setup("prctl(PR_SET_PDEATHSIG)", errno);
  // The descriptors: stdin gone, stdout the capture pipe or gone, stderr kept.
  if (stdout_fd >= 0) {
    if (::dup2(stdout_fd, STDOUT_FILENO) < 0) fail_setup("dup2 stdout", errno);
  }
  std::set<int> keep(spec.keep_fds.begin(), spec.keep_fds.end());
  keep.insert(STDERR_FILENO);
  keep.insert(result_fd);
  if (stdout_fd >= 0) keep.insert(STDOUT_FILENO);
  close_all_but(keep);
  enter_sandbox(spec.limits, result_fd);
  run_in_sandbox(fn, result_fd);
}

std::string signal_detail(int sig) {
  const char* name = ::sigdescr_np(sig);
  return fmt::format("signal {} ({})", sig, name != nullptr ? name : "unknown");
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30) && bytes % (std::uint64_t{1} << 30) == 0) {
    return fmt::format("{} GiB", bytes >> 30);
  }
  if (bytes >= (std::uint64_t{1} << 20)) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (std::uint64_t{1} << 10)) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// The parent's reading of one pipe, up to a byte budget.
struct Pipe {
  int fd = -1;
  std::string data;
  void close_fd() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Resident bytes of `pid`, from /proc/PID/statm (0 when it cannot be read: the child has ended).
std::uint64_t resident_bytes(int statm_fd) {
  if (statm_fd < 0) return 0;
  char buffer[128];
  const ssize_t n = ::pread(statm_fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return 0;
  buffer[n] = '\0';
  unsigned long long size = 0;
  unsigned long long resident = 0;
  if (std::sscanf(buffer, "%llu %llu", &size, &resident) != 2) return 0;
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

bool write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string_view sandbox_outcome_name(SandboxOutcome outcome) {
  switch (outcome) {
    case SandboxOutcome::kOk: return "ok";
    case SandboxOutcome::kForbiddenSyscall: return "forbidden-syscall";
    case SandboxOutcome::kOutOfMemory: return "out-of-memory";
    case SandboxOutcome::kCpuBudget: return "cpu-budget";
    case SandboxOutcome::kWallClockBudget: return "wall-clock-budget";
    case SandboxOutcome::kOutputBudget: return "output-budget";
    case SandboxOutcome::kResultBudget: return "result-budget";
    case SandboxOutcome::kCrashed: return "crashed";
    case SandboxOutcome::kStopped: return "stopped";
  }
  return "unknown";
}

Message sandbox_message(const SandboxRun& run, const Limits& limits) {
  const std::string id = fmt::format("sandbox.{}", sandbox_outcome_name(run.outcome));
  switch (run.outcome) {
    case SandboxOutcome::kOutOfMemory: return {id, {human_bytes(limits.sandbox_memory_bytes), run.detail}};
    case SandboxOutcome::kCpuBudget: return {id, {std::to_string(limits.sandbox_cpu_seconds)}};
    case SandboxOutcome::kWallClockBudget: return {id, {std::to_string(limits.sandbox_wall_seconds)}};
    case SandboxOutcome::kOutputBudget: return {id, {human_bytes(limits.sandbox_output_bytes)}};
    case SandboxOutcome::kResultBudget: return {id, {human_bytes(limits.sandbox_result_bytes)}};
    case SandboxOutcome::kStopped: return {id, {}};
    case SandboxOutcome::kOk:
    case SandboxOutcome::kForbiddenSyscall:
    case SandboxOutcome::kCrashed: break;
  }
  return {id, {run.detail}};
}

ErrorCode sandbox_error_code(SandboxOutcome outcome) {
  switch (outcome) {
    case SandboxOutcome::kOutOfMemory:
    case SandboxOutcome::kCpuBudget:
    case SandboxOutcome::kWallClockBudget:
    case SandboxOutcome::kOutputBudget:
    case SandboxOutcome::kResultBudget: return ErrorCode::kLimitExceeded;
    case SandboxOutcome::kStopped: return ErrorCode::kCancelled;
    case SandboxOutcome::kOk:
    case SandboxOutcome::kForbiddenSyscall:
    case SandboxOutcome::kCrashed: break;
  }
  return ErrorCode::kInternal;
}

void SandboxChannel::progress(std::uint64_t done, std::uint64_t all) {
  std::array<char, 17> frame{};
  frame[0] = kFrameProgress;
  std::memcpy(frame.data() + 1, &done, 8);
  std::memcpy(frame.data() + 9, &all, 8);
  write_all(fd_, frame.data(), frame.size());
}

namespace {

// The parent's side, once the child exists: reads its frames and its stdout, watches its budgets
// and the stop token, reaps it and names how it ended.
Result<SandboxRun> watch_child(pid_t pid, int result_fd, int stdout_fd, const SandboxSpec& spec,
                               std::chrono::steady_clock::time_point started);

}  // namespace

Result<SandboxRun> run_sandboxed(const std::function<std::string(SandboxChannel&)>& fn, const SandboxSpec& spec) {
  for (int fd : spec.keep_fds) {
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
      return Error::invalid_argument(fmt::format("sandbox: descriptor {} is not open", fd));
    }
  }
  int result_pipe[2];
  if (::pipe2(result_pipe, O_CLOEXEC) != 0) return Error::from_errno("sandbox: pipe", errno);
  int stdout_pipe[2] = {-1, -1};
  if (spec.capture_stdout && ::pipe2(stdout_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(result_pipe[0]);
    ::close(result_pipe[1]);
    return Error::from_errno("sandbox: pipe", err);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {result_pipe[0], result_pipe[1], stdout_pipe[0], stdout_pipe[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return Error::from_errno("sandbox: fork", err);
  }
  if (pid == 0) {
    if (stdout_pipe[0] >= 0) ::close(stdout_pipe[0]);
    ::close(result_pipe[0]);
    run_child(fn, spec, result_pipe[1], stdout_pipe[1]);
  }
  ::close(result_pipe[1]);
  if (stdout_pipe[1] >= 0) ::close(stdout_pipe[1]);
  return watch_child(pid, result_pipe[0], stdout_pipe[0], spec, started);
}

namespace {

constexpr std::string_view kChildFlag = "--ig-sandbox-child";
// The started child's descriptors: its frames to the parent, the request, then the kept ones.
constexpr int kChildResultFd = 3;
constexpr int kChildRequestFd = 4;
constexpr int kChildFirstKeptFd = 5;
// The request is written whole before the child reads it, so it must fit in a pipe's buffer.
constexpr std::size_t kMaxRequestBytes = 60 * 1024;
constexpr std::size_t kMaxKeptFds = 16;

std::map<std::string, SandboxEntry, std::less<>>& entries() {
  static std::map<std::string, SandboxEntry, std::less<>> table;
  return table;
}

// What of the parent's environment the child keeps: the sanitizers' options. Nothing else (the
// service's credentials may be in its environment).
std::vector<std::string> child_environment() {
  std::vector<std::string> kept;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    for (std::string_view prefix : {"ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS="}) {
      if (v.starts_with(prefix)) kept.emplace_back(v);
    }
  }
  return kept;
}

}  // namespace

SandboxEntryRegistration::SandboxEntryRegistration(std::string_view name, SandboxEntry entry) {
  entries().emplace(std::string(name), entry);
}

Result<SandboxRun> run_sandboxed(const SandboxProgram& program, const SandboxSpec& spec) {
  if (program.request.size() > kMaxRequestBytes) {
    return Error::invalid_argument(
        fmt::format("sandbox: a request of {} bytes, over {}", program.request.size(), kMaxRequestBytes));
  }
  if (spec.keep_fds.size() > kMaxKeptFds) {
    return Error::invalid_argument(
        fmt::format("sandbox: {} descriptors to keep, over {}", spec.keep_fds.size(), kMaxKeptFds));
  }
  // Every descriptor the child gets is first copied above the numbers it gets them at, so that
  // no dup2 of the spawn overwrites another's source.
  std::vector<int> owned;  // closed however this ends
  struct Closer {
    std::vector<int>& fds;
    ~Closer() {
      for (int fd : fds) ::close(fd);
    }
  } closer{owned};
  auto high_copy = [&](int fd) -> Result<int> {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 64);
    if (copy < 0) return Error::from_errno(fmt::format("sandbox: descriptor {}", fd), errno);
    owned.push_back(copy);
    return copy;
  };
  int result_pipe[2];
  if (::pipe2(result_pipe, O_CLOEXEC) != 0) return Error::from_errno("sandbox: pipe", errno);
  owned.push_back(result_pipe[1]);
  const int result_r = result_pipe[0];
  int request_pipe[2];
  if (::pipe2(request_pipe, O_CLOEXEC) != 0) {
    ::close(result_r);
    return Error::from_errno("sandbox: pipe", errno);
  }
  owned.push_back(request_pipe[0]);
  owned.push_back(request_pipe[1]);
  int stdout_pipe[2] = {-1, -1};
  if (spec.capture_stdout) {
    if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) {
      ::close(result_r);
      return Error::from_errno("sandbox: pipe", errno);
    }
    owned.push_back(stdout_pipe[1]);
  }
  auto fail = [&](Error e) -> Result<SandboxRun> {
    ::close(result_r);
    if (stdout_pipe[0] >= 0) ::close(stdout_pipe[0]);
    return e;
  };
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  struct SpawnState {
    posix_spawn_file_actions_t& a;
    posix_spawnattr_t& t;
    ~SpawnState() {
      posix_spawn_file_actions_destroy(&a);
      posix_spawnattr_destroy(&t);
    }
  } spawn_state{actions, attr};
  std::vector<std::pair<int, int>> moves;  // (source, number in the child)
  for (auto [fd, at] : {std::pair{result_pipe[1], kChildResultFd}, std::pair{request_pipe[0], kChildRequestFd}}) {
    auto copy = high_copy(fd);
    if (!copy) return fail(copy.error());
    moves.emplace_back(*copy, at);
  }
  for (std::size_t i = 0; i < spec.keep_fds.size(); ++i) {
    const int fd = spec.keep_fds[i];
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
      return fail(Error::invalid_argument(fmt::format("sandbox: descriptor {} is not open", fd)));
    }
    auto copy = high_copy(fd);
    if (!copy) return fail(copy.error());
    moves.emplace_back(*copy, kChildFirstKeptFd + static_cast<int>(i));
  }
  if (stdout_pipe[1] >= 0) {
    auto copy = high_copy(stdout_pipe[1]);
    if (!copy) return fail(copy.error());
    moves.emplace_back(*copy, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  for (auto [from, to] : moves) posix_spawn_file_actions_adddup2(&actions, from, to);
  // A fresh signal state: nothing blocked, every signal at its default action.
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args{"imagegate-sandbox",
                                std::string(kChildFlag),
                                program.entry,
                                std::to_string(::getpid()),
                                std::to_string(spec.keep_fds.size()),
                                spec.capture_stdout ? "stdout" : "-",
                                std::to_string(spec.limits.sandbox_cpu_seconds),
                                std::to_string(spec.limits.sandbox_output_bytes),
                                std::to_string(spec.limits.sandbox_memory_bytes)};
  std::vector<std::string> env = child_environment();
  auto pointers = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (std::string& s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env);
  std::fflush(stdout);
  std::fflush(stderr);
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (const int rc = ::posix_spawn(&pid, program.path.c_str(), &actions, &attr, argv.data(), envp.data()); rc != 0) {
    return fail(Error::from_errno(fmt::format("sandbox: cannot start {}", program.path), rc));
  }
  // The request, whole: it fits in the pipe's buffer, so this never waits for the child.
  const int request_w = request_pipe[1];
  const int flags = ::fcntl(request_w, F_GETFL);
  ::fcntl(request_w, F_SETFL, flags | O_NONBLOCK);
  const bool sent = write_all(request_w, program.request.data(), program.request.size());
  // The child's copies are its own now: closing ours gives it the end of the request, and the
  // parent the end of the result pipe once the child has ended.
  for (int fd : owned) ::close(fd);
  owned.clear();
  if (!sent) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fail(Error::io("sandbox: the request could not be written to the child"));
  }
  return watch_child(pid, result_r, stdout_pipe[0], spec, started);
}

void sandbox_child_main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != kChildFlag) return;
  const int result_fd = kChildResultFd;
  auto fail_setup = [&](const std::string& what) { setup_failed(result_fd, what); };
  if (argc != 9) fail_setup(fmt::format("sandbox child: {} arguments, not 9", argc));
  auto number = [&](const char* text) {
    std::uint64_t v = 0;
    const std::string_view t(text);
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size())
      fail_setup(fmt::format("sandbox child: '{}' is not a number", t));
    return v;
  };
  const std::string_view entry_name(argv[2]);
  const auto parent = static_cast<pid_t>(number(argv[3]));
  const std::uint64_t kept = number(argv[4]);
  const bool capture_stdout = std::string_view(argv[5]) == "stdout";
  Limits limits;
  limits.sandbox_cpu_seconds = number(argv[6]);
  limits.sandbox_output_bytes = number(argv[7]);
  limits.sandbox_memory_bytes = number(argv[8]);
  if (kept > kMaxKeptFds) fail_setup("sandbox child: too many descriptors");
  // Die with the parent, which alone watches the budgets; if it is gone already, end now.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) setup_failed(result_fd, "prctl(PR_SET_PDEATHSIG)", errno);
  if (::getppid() != parent) ::_exit(kExitSetup);
  const auto found = entries().find(entry_name);
  if (found == entries().end()) fail_setup(fmt::format("sandbox child: no entry '{}' in this program", entry_name));
  const SandboxEntry entry = found->second;
  std::set<int> keep{STDERR_FILENO, kChildResultFd, kChildRequestFd};
  if (capture_stdout) keep.insert(STDOUT_FILENO);
  std::vector<int> fds;
  for (int i = 0; i < static_cast<int>(kept); ++i) {
    keep.insert(kChildFirstKeptFd + i);
    fds.push_back(kChildFirstKeptFd + i);
  }
  close_all_but(keep);
  enter_sandbox(limits, result_fd);
  // The request: everything the parent wrote before closing its end.
  std::string request;
  for (;;) {
    char buffer[8192];
    const ssize_t n = ::read(kChildRequestFd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) setup_failed(result_fd, "sandbox child: reading the request", errno);
    if (n == 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
    if (request.size() > kMaxRequestBytes) fail_setup("sandbox child: the request is too large");
  }
  ::close(kChildRequestFd);
  run_in_sandbox([&](SandboxChannel& channel) { return entry(request, fds, channel); }, result_fd);
}

namespace {

Result<SandboxRun> watch_child(pid_t pid, int result_fd, int stdout_fd, const SandboxSpec& spec,
                               std::chrono::steady_clock::time_point started) {
  if (spec.after_fork) spec.after_fork();
  Pipe result{result_fd, {}};
  Pipe out{stdout_fd, {}};
  const int statm = ::open(fmt::format("/proc/{}/statm", pid).c_str(), O_RDONLY | O_CLOEXEC);

  SandboxRun run;
  std::optional<SandboxOutcome> killed_for;  // why the parent killed the child
  auto kill_for = [&](SandboxOutcome why, std::string detail) {
    if (killed_for) return;
    killed_for = why;
    run.detail = std::move(detail);
    ::kill(pid, SIGKILL);
  };
  const std::uint64_t result_budget = spec.limits.sandbox_result_bytes;
  std::string frame_error;  // an exception's or the setup's message
  bool have_result = false;
  // Takes the complete frames off the front of the result pipe's data.
  auto take_frames = [&]() {
    std::string& d = result.data;
    std::size_t pos = 0;
    while (pos < d.size()) {
      const char tag = d[pos];
      if (tag == kFrameProgress) {
        if (d.size() - pos < 17) break;
        std::uint64_t done = 0;
        std::uint64_t all = 0;
        std::memcpy(&done, d.data() + pos + 1, 8);
        std::memcpy(&all, d.data() + pos + 9, 8);
        if (spec.on_progress) spec.on_progress(done, all);
        pos += 17;
      } else if (tag == kFrameResult || tag == kFrameError) {
        if (d.size() - pos < 9) break;
        std::uint64_t size = 0;
        std::memcpy(&size, d.data() + pos + 1, 8);
        if (size > result_budget) {
          kill_for(SandboxOutcome::kResultBudget,
                   fmt::format("a result of {} bytes, over {}", size, human_bytes(result_budget)));
          pos = d.size();
          break;
        }
        if (d.size() - pos - 9 < size) break;
        std::string payload = d.substr(pos + 9, size);
        if (tag == kFrameResult) {
          run.result = std::move(payload);
          have_result = true;
        } else {
          frame_error = std::move(payload);
        }
        pos += 9 + size;
      } else {
        kill_for(SandboxOutcome::kCrashed, "a malformed frame on the result pipe");
        pos = d.size();
        break;
      }
    }
    d.erase(0, pos);
  };

  int status = 0;
  rusage usage{};
  bool reaped = false;
  while (!reaped) {
    std::array<pollfd, 2> fds{};
    nfds_t n = 0;
    for (Pipe* p : {&result, &out}) {
      if (p->fd >= 0) fds[n++] = pollfd{p->fd, POLLIN, 0};
    }
    if (n > 0) {
      ::poll(fds.data(), n, kWatchMillis);
    } else {
      ::usleep(kWatchMillis * 1000);
    }
    for (nfds_t i = 0; i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      Pipe& p = fds[i].fd == result.fd ? result : out;
      char buffer[65536];
      const ssize_t got = ::read(p.fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        p.close_fd();
        continue;
      }
      if (&p == &out) {
        if (out.data.size() + static_cast<std::uint64_t>(got) > result_budget) {
          kill_for(SandboxOutcome::kResultBudget, fmt::format("output text over {}", human_bytes(result_budget)));
          out.close_fd();
          continue;
        }
        out.data.append(buffer, static_cast<std::size_t>(got));
      } else {
        // Bounded by frames: a result frame over the budget is refused by its length, and
        // progress frames are taken off as they arrive.
        result.data.append(buffer, static_cast<std::size_t>(got));
        take_frames();
      }
    }
    const pid_t w = ::wait4(pid, &status, WNOHANG, &usage);
    if (w == pid) {
      reaped = true;
      break;
    }
    if (killed_for) continue;
    if (spec.stop.stop_requested()) {
      kill_for(SandboxOutcome::kStopped, "stopped");
      continue;
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (elapsed >= std::chrono::seconds(spec.limits.sandbox_wall_seconds)) {
      kill_for(SandboxOutcome::kWallClockBudget,
               fmt::format("ran {} s of wall-clock time", spec.limits.sandbox_wall_seconds));
      continue;
    }
    if (const std::uint64_t rss = resident_bytes(statm); rss > spec.limits.sandbox_memory_bytes) {
      kill_for(SandboxOutcome::kOutOfMemory, fmt::format("resident memory {} MiB, over {}", rss >> 20,
                                                         human_bytes(spec.limits.sandbox_memory_bytes)));
      continue;
    }
  }
  if (statm >= 0) ::close(statm);
  // What the child wrote before it ended.
  for (Pipe* p : {&result, &out}) {
    while (p->fd >= 0) {
      char buffer[65536];
      const ssize_t got = ::read(p->fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0 || p->data.size() + static_cast<std::uint64_t>(got) > result_budget + 64) {
        p->close_fd();
        break;
      }
      p->data.append(buffer, static_cast<std::size_t>(got));
      if (p == &result) take_frames();
    }
  }
  if (killed_for) {
    run.outcome = *killed_for;
    return run;
  }
  const double cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    run.detail = signal_detail(sig);
    if (sig == SIGSYS && frame_error == kSanitizerReport) {
      run.outcome = SandboxOutcome::kCrashed;
      run.detail = frame_error;
    } else if (sig == SIGSYS) {
      run.outcome = SandboxOutcome::kForbiddenSyscall;
    } else if (sig == SIGXCPU ||
               (sig == SIGKILL && cpu_seconds >= static_cast<double>(spec.limits.sandbox_cpu_seconds))) {
      run.outcome = SandboxOutcome::kCpuBudget;
      run.detail = fmt::format("ran {:.0f} s of CPU, over {} s", cpu_seconds, spec.limits.sandbox_cpu_seconds);
    } else if (sig == SIGXFSZ) {
      run.outcome = SandboxOutcome::kOutputBudget;
      run.detail = fmt::format("wrote past {}", human_bytes(spec.limits.sandbox_output_bytes));
    } else {
      run.outcome = SandboxOutcome::kCrashed;
    }
    return run;
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0 && have_result) {
    run.outcome = SandboxOutcome::kOk;
    run.captured_stdout = std::move(out.data);
    return run;
  }
  if (code == kExitOutOfMemory) {
    run.outcome = SandboxOutcome::kOutOfMemory;
    run.detail = fmt::format("an allocation failed under {}", human_bytes(spec.limits.sandbox_memory_bytes));
    return run;
  }
  run.outcome = SandboxOutcome::kCrashed;
  run.result.clear();
  run.detail = frame_error.empty() ? fmt::format("exit status {}", code) : frame_error;
  if (code == kExitSetup) return Error::internal(fmt::format("sandbox: {}", frame_error));
  return run;
}

}  // namespace

}  // namespace ig

#ifdef IG_SANDBOX_ASAN
// ASan calls this as it starts a report. Its report then reads /proc/self/exe and the binary to
// symbolize, which the filter forbids: the child dies of SIGSYS. Saying first that a sanitizer
// report began lets the parent name the end a crash, as it is.
extern "C" void __asan_on_error() {  // NOLINT(bugprone-reserved-identifier): ASan's hook
  if (ig::g_child_result_fd >= 0) ig::send_frame(ig::g_child_result_fd, ig::kFrameError, ig::kSanitizerReport);
}
#endif
