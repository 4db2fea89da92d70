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
// Two ways to start the child. run_sandboxed(fn) forks: `fn` runs in a copy of the caller's
// address space and may use anything the caller set up (an open FileSource, options, lambdas'
// captures). Forking copies only the calling thread, and any lock another thread held at that
// instant stays held in the child — the allocator's among them (seen: a worker's child stuck in
// ASan's allocator for good) — so it is for a caller with no other thread that allocates: the
// CLI, whose only other thread waits for signals. run_sandboxed(SandboxProgram) starts a fresh
// process instead (posix_spawn of the program, /proc/self/exe by default): it holds none of the
// caller's locks or memory (no credentials a compromised parser could copy into its output),
// and runs an entry registered by name with SandboxEntryRegistration, given a request string and
// the kept descriptors. The program must call sandbox_child_main() first in main(). The import
// worker, with its catalog, store and download threads, uses it.
// Either function must not open files, resolve names or start processes; it may start threads.
// Thread safety: run_sandboxed may be called from several threads at once.
// Errors: kIo when the pipes or the fork cannot be made, kInvalidArgument for bad descriptors.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
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
  // starts the threads that feed the child (a download).
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

// A function a started child runs: the request, and SandboxSpec::keep_fds at the numbers the
// child has them at, in the same order. What it returns is the run's result.
using SandboxEntry = std::string (*)(std::string_view request, std::span<const int> fds, SandboxChannel& channel);

// Registers an entry under a name, at static initialisation: `const SandboxEntryRegistration
// kReader{"import-reader", &read_upload};` in the file that defines it.
struct SandboxEntryRegistration {
  SandboxEntryRegistration(std::string_view name, SandboxEntry entry);
};

struct SandboxProgram {
  std::string entry;                    // a registered name
  std::string request;                  // given to it; at most 60 KiB
  std::string path = "/proc/self/exe";  // the program, which calls sandbox_child_main()
};

// Starts `program` as the sandboxed child (see above), with at most 16 kept descriptors; the
// child's environment holds only the sanitizers' options. Errors as the other, and kIo when the
// program cannot be started.
Result<SandboxRun> run_sandboxed(const SandboxProgram& program, const SandboxSpec& spec);

// Called first in main() by a program that runs entries: when this process was started as a
// sandboxed child, sets up the sandbox, runs the entry and exits; otherwise returns at once.
void sandbox_child_main(int argc, char** argv);

// Why the sandbox stopped the reading, as a sentence of the message table ("sandbox.<outcome>",
// with the budget of `run.limits` it passed and what was seen). Only for an outcome other than kOk.
Message sandbox_message(const SandboxRun& run, const Limits& limits);

// The ErrorCode a command reports for an outcome: kLimitExceeded for a budget, kCancelled when
// stopped, kInternal for a forbidden call or a crash.
ErrorCode sandbox_error_code(SandboxOutcome outcome);

}  // namespace ig
