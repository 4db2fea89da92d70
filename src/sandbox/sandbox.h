// sandbox: runs a function over an untrusted image in a forked child that can do nothing but
// compute, read and write the descriptors it was given, under budgets, and tells how it ended.
//
// run_sandboxed() forks. The child keeps only the descriptors listed in SandboxSpec (the image's,
// the output's), stderr, and the pipes to the parent; every other descriptor is closed. It then
// sets its rlimits (address space outside ASan, CPU seconds, file size, no core file), loads a
// seccomp-bpf allow-list (docs/security.md, "Sandbox": no open, no socket, no exec, no ptrace, no
// fork but threads; anything else kills the process) and calls the function. What the function
// returns crosses back over a pipe, bounded by Limits::sandbox_result_bytes; so does what it
// prints on stdout when SandboxSpec::capture_stdout is set. The parent watches the child's wall
// clock, resident memory, result size and the stop token, kills it when one is exhausted, and
// maps the child's end to a SandboxOutcome: a forbidden system call, memory, CPU, wall clock,
// output or result budget, a crash — never a hang.
//
// The function runs in a copy of the caller's address space: it may use anything the caller set
// up (an open FileSource, options, lambdas' captures), but nothing it changes is seen by the
// caller. It must not open files, resolve names or start processes; it may start threads.
// Forking a process that has other threads copies only the calling one: the function must not
// take a lock another thread may have held (the parsers and the converter take none of the
// service's). Thread safety: run_sandboxed may be called from several threads at once.
// Errors: kIo when the pipes or the fork cannot be made, kInvalidArgument for bad descriptors.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/limits.h"
#include "text/messages.h"

namespace ig {

enum class SandboxOutcome {
  kOk,                // the function returned; its result is in SandboxRun::result
  kForbiddenSyscall,  // the child made a system call outside the allow-list (SIGSYS)
  kOutOfMemory,       // over Limits::sandbox_memory_bytes (an allocation failed, or the RSS watch)
  kCpuBudget,         // over Limits::sandbox_cpu_seconds (SIGXCPU)
  kWallClockBudget,   // over Limits::sandbox_wall_seconds (killed by the parent's watchdog)
  kOutputBudget,      // wrote past Limits::sandbox_output_bytes (SIGXFSZ)
  kResultBudget,      // sent back more than Limits::sandbox_result_bytes
  kCrashed,           // any other signal, or an exit without a result (a sanitizer report)
  kStopped,           // SandboxSpec::stop was requested: the parent killed the child
};

// Stable lower-case name: "forbidden-syscall", "out-of-memory", "cpu-budget", ...
std::string_view sandbox_outcome_name(SandboxOutcome outcome);

struct SandboxSpec {
  // Descriptors the child keeps, at the same numbers (the image's, the output's). Every other
  // descriptor but stderr is closed in the child.
  std::vector<int> keep_fds;
  // The child's stdout is a pipe to the parent, returned in SandboxRun::captured_stdout (within
  // the result budget); otherwise the child has no stdout.
  bool capture_stdout = false;
  // The budgets: Limits::sandbox_*.
  Limits limits;
  // Requested: the parent kills the child (kStopped).
  std::stop_token stop;
  // Progress the child reports (SandboxChannel::progress), called on the caller's thread.
  std::function<void(std::uint64_t, std::uint64_t)> on_progress;
  // Called in the parent once the child exists, before the parent waits for it: where a caller
  // starts the threads that feed the child (a download), which must not exist at the fork (a
  // thread inside the allocator at the fork would leave the child's allocator locked).
  std::function<void()> after_fork;
};

// The child's side of the pipe to the parent.
class SandboxChannel {
 public:
  explicit SandboxChannel(int fd) : fd_(fd) {}
  // Reports progress (done, of all) to SandboxSpec::on_progress. Best effort: never fails.
  void progress(std::uint64_t done, std::uint64_t all);

 private:
  int fd_;
};

struct SandboxRun {
  SandboxOutcome outcome = SandboxOutcome::kCrashed;
  std::string result;           // what the function returned (kOk only)
  std::string captured_stdout;  // what it printed, when capture_stdout (kOk only)
  // How the child ended, for logs and the message: "signal 31 (Bad system call)", "exit status 1",
  // "resident memory 4.1 GiB over 4 GiB", "ran 3600 s of CPU".
  std::string detail;
  bool ok() const { return outcome == SandboxOutcome::kOk; }
};

// Runs `fn` in a sandboxed child (see above). An exception out of `fn` ends the child:
// std::bad_alloc as kOutOfMemory, any other as kCrashed with its what() in the detail.
// Writes all of `size` bytes to `fd` (a pipe), again after EINTR; false on any other failure.
// The child's frames to its parent use it, and so may a caller's own pipe to its reader.
bool write_all(int fd, const void* data, std::size_t size);

Result<SandboxRun> run_sandboxed(const std::function<std::string(SandboxChannel&)>& fn, const SandboxSpec& spec);

// Why the sandbox stopped the reading, as a sentence of the message table ("sandbox.<outcome>",
// with the budget of `run.limits` it passed and what was seen). Only for an outcome other than kOk.
Message sandbox_message(const SandboxRun& run, const Limits& limits);

// The ErrorCode a command reports for an outcome: kLimitExceeded for a budget, kCancelled when
// stopped, kInternal for a forbidden call or a crash.
ErrorCode sandbox_error_code(SandboxOutcome outcome);

}  // namespace ig
