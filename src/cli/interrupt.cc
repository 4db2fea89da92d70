#include "cli/interrupt.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace ig {

InterruptGuard::InterruptGuard() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  thread_ = std::thread([this] { watch(); });
  // The thread is in its loop, which allocates nothing, before the command goes on: a sandboxed
  // reader forked (sandbox/sandbox.h) while it still set itself up could inherit an allocator
  // lock it held. ASan's allocator (g++ 12) is not fork-safe: the child then waits forever.
  started_.wait(false);
}

InterruptGuard::~InterruptGuard() {
  done_ = true;
  thread_.join();
  // A signal still pending here (it came as the command finished) is delivered on unblocking,
  // with its default action: the process ends as it would have without the guard.
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void InterruptGuard::set_temp_path(std::string path) {
  std::lock_guard lock(mutex_);
  temp_path_ = std::move(path);
}

void InterruptGuard::watch() {
  const timespec tick{0, 100'000'000};  // how often `done_` is looked at
  started_ = true;
  started_.notify_one();
  while (!done_) {
    const int sig = sigtimedwait(&set_, nullptr, &tick);
    if (sig <= 0) continue;  // EAGAIN (the tick) or EINTR
    if (signal_.load() == 0) {
      signal_ = sig;
      stop_.request_stop();
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    }
    std::_Exit(128 + sig);
  }
}

}  // namespace ig
